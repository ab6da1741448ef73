package loyalty

import "testing"

// A rejection names a member by its member id or as a JSON string in its
// body, never by a longer id that starts with theirs.
func TestRejectionNamesTheMember(t *testing.T) {
	for _, c := range []struct {
		name string
		r    Rejection
		want bool
	}{
		{"by member id", Rejection{MemberID: "m-1", Body: "{}"}, true},
		{"in the body", Rejection{Body: `{"memberRef":"m-1","amountMinor":"x"}`}, true},
		{"in a body that is not JSON", Rejection{Body: `{"memberRef":"m-1"`}, true},
		{"another member whose id starts with theirs", Rejection{MemberID: "m-10", Body: `{"memberRef":"m-10"}`}, false},
		{"nowhere", Rejection{Body: `{"eventId":"m-1x"}`}, false},
	} {
		if got := c.r.Names("m-1"); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
		if got := (RejectionFilter{MemberID: "m-1"}).Match(c.r); got != c.want {
			t.Errorf("%s, filtered by member: got %v, want %v", c.name, got, c.want)
		}
	}
}
