package replay

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
	"github.com/loyalty-functions/loyalty/shared/tools/cliflags"
)

// Usage lists the commands Command understands.
const Usage = `commands:
  rejections [-state open|replayed] [-reason R] [-partner P] [-since RFC3339] [-json]
        list messages the ingest function refused, oldest first
  replay [-body-file F] MESSAGE_ID...
        send rejected messages again, each to the partner queue it came from (-body-file: a fixed body, one id only)
  dlq [-max N] [-json]
        list messages in the dead-letter queue (they stay there)
  redrive (-all | MESSAGE_ID...)
        move dead-letter messages back to their partner queue (-queue-url, -dlq-url)`

// ErrUsage is returned for a command line Command does not understand.
var ErrUsage = errors.New("usage")

// Command runs one command of the tool, as typed by ops, writing what it
// found or did to out.
func Command(ctx context.Context, t *Tool, args []string, out io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: no command\n%s", ErrUsage, Usage)
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	switch args[0] {
	case "rejections":
		state := fs.String("state", "", "open or replayed")
		reason := fs.String("reason", "", "reason code, e.g. purchase_not_found")
		partnerID := fs.String("partner", "", "partner id")
		since := fs.String("since", "", "first seen at or after (RFC 3339)")
		asJSON := fs.Bool("json", false, "one JSON object per line, with the body")
		if _, err := parse(fs, args[1:], 0); err != nil {
			return err
		}
		f := loyalty.RejectionFilter{State: loyalty.RejectionState(*state), Reason: loyalty.RejectReason(*reason), PartnerID: *partnerID}
		if *since != "" {
			at, err := time.Parse(time.RFC3339, *since)
			if err != nil {
				return fmt.Errorf("%w: -since: %v", ErrUsage, err)
			}
			f.Since = at
		}
		list, err := t.Rejections(ctx, f)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSONLines(out, list)
		}
		w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "MESSAGE ID\tFIRST SEEN\tRECEIVES\tSTATE\tREASON\tPARTNER\tEVENT\tMESSAGE")
		for _, r := range list {
			fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", r.MessageID, r.FirstSeen.Format(time.RFC3339), r.ReceiveCount,
				r.State, r.Reason, dash(r.PartnerID), dash(r.EventID), shorten(r.Message, 100))
		}
		fmt.Fprintf(w, "%d rejection(s)\n", len(list))
		return w.Flush()
	case "replay":
		bodyFile := fs.String("body-file", "", "send this file's content instead of the stored body (one message id only)")
		ids, err := parse(fs, args[1:], -1)
		if err != nil {
			return err
		}
		if len(ids) == 0 || (*bodyFile != "" && len(ids) != 1) {
			return fmt.Errorf("%w: replay needs message ids (exactly one with -body-file)", ErrUsage)
		}
		var body []byte
		if *bodyFile != "" {
			b, err := os.ReadFile(*bodyFile)
			if err != nil {
				return err
			}
			body = b
		}
		var errs error
		for _, id := range ids {
			newID, err := t.ReplayRejection(ctx, id, body)
			if err != nil {
				errs = errors.Join(errs, err)
				fmt.Fprintf(out, "%s: not replayed: %v\n", id, err)
				continue
			}
			fmt.Fprintf(out, "%s: replayed as %s\n", id, newID)
		}
		return errs
	case "dlq":
		max := fs.Int("max", 100, "list at most this many")
		asJSON := fs.Bool("json", false, "one JSON object per line, with the body")
		if _, err := parse(fs, args[1:], 0); err != nil {
			return err
		}
		msgs, err := t.DLQ(ctx, *max)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSONLines(out, msgs)
		}
		w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "MESSAGE ID\tSENT\tRECEIVES\tBODY")
		for _, m := range msgs {
			fmt.Fprintf(w, "%s\t%s\t%d\t%s\n", m.MessageID, m.SentAt.Format(time.RFC3339), m.ReceiveCount, shorten(m.Body, 100))
		}
		fmt.Fprintf(w, "%d message(s)\n", len(msgs))
		return w.Flush()
	case "redrive":
		all := fs.Bool("all", false, "every message of the DLQ")
		ids, err := parse(fs, args[1:], -1)
		if err != nil {
			return err
		}
		if *all == (len(ids) > 0) {
			return fmt.Errorf("%w: redrive needs -all or message ids, not both", ErrUsage)
		}
		done, err := t.RedriveDLQ(ctx, ids)
		for _, d := range done {
			fmt.Fprintf(out, "%s: redriven as %s\n", d.MessageID, d.NewID)
		}
		fmt.Fprintf(out, "%d message(s) redriven\n", len(done))
		return err
	}
	return fmt.Errorf("%w: unknown command %q\n%s", ErrUsage, args[0], Usage)
}

// parse takes the command's flags wherever they stand among its
// arguments and returns the arguments; max is how many it takes (-1: any).
func parse(fs *flag.FlagSet, args []string, max int) ([]string, error) {
	rest, err := cliflags.Parse(fs, args)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrUsage, fs.Name(), err)
	}
	if max >= 0 && len(rest) > max {
		return nil, fmt.Errorf("%w: %s takes no arguments, got %q", ErrUsage, fs.Name(), rest)
	}
	return rest, nil
}

func writeJSONLines[T any](out io.Writer, list []T) error {
	enc := json.NewEncoder(out)
	for _, v := range list {
		if err := enc.Encode(v); err != nil {
			return err
		}
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// shorten cuts s to n bytes on one line, for tables.
func shorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}
