// Command bench measures the performance and cost figures of issue 8 (see
// package bench), prints them and writes them to BENCHMARKS.md at the
// module root. It starts DynamoDB Local itself; run it from the repository:
//
//	go run ./shared/cmd/bench          # the full run, about a quarter of an hour
//	go run ./shared/cmd/bench -quick   # every figure, smaller, a few minutes
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/loyalty-functions/loyalty/shared/tools/bench"
)

// keptMarker starts the part of BENCHMARKS.md written by hand, which a run
// keeps.
const keptMarker = "<!-- kept by the bench: written by hand, not generated -->"

func main() {
	quick := flag.Bool("quick", false, "a smaller run: fewer rounds, shorter segments, smaller tables")
	out := flag.String("out", "BENCHMARKS.md", "where to write the report (relative to the current folder); - for none")
	flag.Parse()

	opts := bench.FullOptions()
	if *quick {
		opts = bench.QuickOptions()
	}
	start := time.Now()
	opts.Logf = func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "[%6.1fs] %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	rep, err := bench.Run(ctx, opts)
	if err != nil {
		log.Fatalf("bench: %v", err)
	}
	md := rep.Markdown()
	fmt.Print(md)
	if *out != "-" {
		// A section the report does not generate (a before/after
		// comparison of two runs) is kept from the old file, after the
		// marker line.
		if old, err := os.ReadFile(*out); err == nil {
			if i := strings.Index(string(old), keptMarker); i >= 0 {
				md += "\n" + string(old[i:])
			}
		}
		if err := os.WriteFile(*out, []byte(md), 0o644); err != nil {
			log.Fatalf("bench: %v", err)
		}
		abs, _ := filepath.Abs(*out)
		fmt.Fprintf(os.Stderr, "bench: wrote %s\n", filepath.Base(abs))
	}
}
