package table_test

import (
	"fmt"
	"testing"

	"github.com/loyalty-functions/loyalty/shared/spec/table"
)

// The shard rule is FNV-1a of the member id modulo 16: pinned values, since
// changing the rule would move every member of every deployed index.
func TestShard(t *testing.T) {
	seen := map[int]bool{}
	for i := range 1000 {
		s := table.Shard(fmt.Sprintf("member-%04d", i))
		if s < 0 || s >= table.Shards {
			t.Fatalf("shard: got %d, want 0..%d", s, table.Shards-1)
		}
		seen[s] = true
	}
	if len(seen) != table.Shards {
		t.Errorf("shards used by 1000 ids: got %d, want all %d", len(seen), table.Shards)
	}
	for id, want := range map[string]int{"demo-member": 15, "": 5} {
		if got := table.Shard(id); got != want {
			t.Errorf("Shard(%q): got %d, want %d", id, got, want)
		}
	}
}
