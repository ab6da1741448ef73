package partner

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// InvalidSample is one entry of samples/invalid/reasons.json: the reason the
// ingest function gives when it refuses the sample, where in the event the
// schema says it is wrong (schema violations only), and why, for people.
type InvalidSample struct {
	Reason string  `json:"reason"`
	At     *string `json:"at,omitempty"`
	Why    string  `json:"why"`
}

func readJSON(tb testing.TB, path string, v any) {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("read %s: %v", path, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		tb.Fatalf("decode %s: %v", path, err)
	}
}

func TestSchemasCompile(t *testing.T) {
	if err := Compile(); err != nil {
		t.Fatalf("got %v, want the embedded schemas to compile", err)
	}
}

func TestSchemasAreDraft2020AndNamedByTheirID(t *testing.T) {
	for _, k := range published {
		var s struct {
			Schema string `json:"$schema"`
			ID     string `json:"$id"`
		}
		readJSON(t, SchemaFile(k.typ, k.version), &s)
		if want := "https://json-schema.org/draft/2020-12/schema"; s.Schema != want {
			t.Errorf("%s: $schema got %q, want %q", SchemaFile(k.typ, k.version), s.Schema, want)
		}
		if want := "urn:loyalty-functions:partner:" + k.typ + ":v" + itoa(k.version); s.ID != want {
			t.Errorf("%s: $id got %q, want %q", SchemaFile(k.typ, k.version), s.ID, want)
		}
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestValidSamplesMatchTheirSchema(t *testing.T) {
	var count int
	for _, typ := range supportedTypes() {
		files, err := filepath.Glob(filepath.Join("samples", typ, "*.json"))
		if err != nil || len(files) == 0 {
			t.Fatalf("samples of %s: got %d files (%v), want some", typ, len(files), err)
		}
		for _, f := range files {
			t.Run(typ+"/"+filepath.Base(f), func(t *testing.T) {
				b, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				doc, err := DecodeJSON(b)
				if err != nil {
					t.Fatalf("decode: got %v, want valid JSON", err)
				}
				if got := doc.(map[string]any)["type"]; got != typ {
					t.Errorf("type: got %v, want %s (the folder's name)", got, typ)
				}
				if err := Validate(doc); err != nil {
					t.Errorf("validate: got %v, want nil", err)
				}
				count++
			})
		}
	}
	t.Logf("%d valid samples", count)
}

func TestInvalidSamplesFailWithTheirStatedReason(t *testing.T) {
	var reasons map[string]InvalidSample
	readJSON(t, filepath.Join("samples", "invalid", "reasons.json"), &reasons)
	entries, err := os.ReadDir(filepath.Join("samples", "invalid"))
	if err != nil {
		t.Fatal(err)
	}
	onDisk := map[string]bool{}
	for _, e := range entries {
		if e.Name() == "reasons.json" {
			continue
		}
		onDisk[e.Name()] = true
		if _, ok := reasons[e.Name()]; !ok {
			t.Errorf("%s: got no entry in reasons.json, want its reason stated", e.Name())
		}
	}
	for name, want := range reasons {
		if !onDisk[name] {
			t.Errorf("reasons.json names %s: got no such file, want one", name)
			continue
		}
		if want.Why == "" || want.Reason == "" {
			t.Errorf("%s: got reason %q why %q, want both stated", name, want.Reason, want.Why)
		}
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("samples", "invalid", name))
			if err != nil {
				t.Fatal(err)
			}
			doc, decodeErr := DecodeJSON(b)
			if want.Reason == "malformed_json" {
				if decodeErr == nil {
					t.Fatalf("decode: got nil, want an error (%s)", want.Why)
				}
				return
			}
			if decodeErr != nil {
				t.Fatalf("decode: got %v, want valid JSON", decodeErr)
			}
			err = Validate(doc)
			var ve *ViolationError
			var ue *UnsupportedError
			switch want.Reason {
			case "schema_violation":
				if !errors.As(err, &ve) {
					t.Fatalf("validate: got %v, want a *ViolationError (%s)", err, want.Why)
				}
				if want.At == nil {
					t.Fatalf("reasons.json: got no \"at\" for a schema violation, want the JSON pointer")
				}
				var at []string
				for _, p := range ve.Problems {
					at = append(at, p.At)
				}
				if !containsString(at, *want.At) {
					t.Errorf("problems at %q: got %v, want one at %q (%s)", at, ve.Error(), *want.At, want.Why)
				}
			case "unsupported_event":
				if !errors.As(err, &ue) {
					t.Fatalf("validate: got %v, want an *UnsupportedError (%s)", err, want.Why)
				}
			default:
				// Refused by the ingest function for what the schema cannot
				// know (partners, program currency, lines of the stored
				// purchase); its tests check the reason.
				if err != nil {
					t.Fatalf("validate: got %v, want nil: %s is refused after the schema check (%s)", err, name, want.Reason)
				}
			}
		})
	}
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestViolationMessagesNameTheField(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("samples", "invalid", "purchase-negative-amount.json"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := DecodeJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	err = Validate(doc)
	if got := err.Error(); !strings.Contains(got, `"/amountMinor"`) || !strings.Contains(got, "minimum") {
		t.Errorf("message: got %q, want it to name /amountMinor and the minimum", got)
	}
}

func TestDecodeJSONRefusesTrailingData(t *testing.T) {
	for _, body := range []string{`{} {}`, `{"a":1} x`, `[1] ]`} {
		if _, err := DecodeJSON([]byte(body)); err == nil {
			t.Errorf("DecodeJSON(%q): got nil, want an error", body)
		}
	}
	if _, err := DecodeJSON([]byte("{\"a\":1}\n  ")); err != nil {
		t.Errorf("DecodeJSON with trailing space: got %v, want nil", err)
	}
}

// TestSQSWrappersRoundTrip checks that every wrapper in sqs/ is an
// events.SQSEvent as Lambda sends it: decoding and encoding it again gives
// the same JSON, and every record comes from SQS.
func TestSQSWrappersRoundTrip(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("sqs", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("sqs wrappers: got %d files (%v), want some", len(files), err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var ev events.SQSEvent
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&ev); err != nil {
				t.Fatalf("decode: got %v, want an events.SQSEvent", err)
			}
			again, err := json.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			var want, got any
			_ = json.Unmarshal(raw, &want)
			_ = json.Unmarshal(again, &got)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("round trip: got %s, want %s", again, raw)
			}
			if len(ev.Records) == 0 {
				t.Fatalf("records: got 0, want some")
			}
			for _, r := range ev.Records {
				if r.EventSource != "aws:sqs" || r.MessageId == "" || r.Attributes["ApproximateReceiveCount"] == "" {
					t.Errorf("record %s: got source %q receive count %q, want aws:sqs and a count", r.MessageId, r.EventSource, r.Attributes["ApproximateReceiveCount"])
				}
			}
		})
	}
}

// The Go shape of version 2 writes what its schema accepts, as the bench
// and the tests build messages with it.
func TestPurchaseCompletedV2ShapeMatchesItsSchema(t *testing.T) {
	b, err := json.Marshal(PurchaseCompletedV2{Type: TypePurchaseCompleted, Version: 2, PartnerID: "demo-coffee-berlin", EventID: "pos-1",
		Member: Member{Kind: "card", Ref: "6280 4402 1337 0014"}, OccurredAt: mustTime(t, "2026-03-10T08:20:00+01:00"), Currency: "EUR", AmountMinor: 350})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := DecodeJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(doc); err != nil {
		t.Errorf("got %v for %s, want it valid", err, b)
	}
	ev, err := Decode(b)
	if err != nil || ev.Member.Kind != "card" || ev.Member.Value != "6280 4402 1337 0014" || ev.MemberID != "" || ev.Purchase == nil {
		t.Errorf("decoded: got %+v, %v, want the card reference and no member id yet", ev, err)
	}
}

func mustTime(tb testing.TB, s string) time.Time {
	tb.Helper()
	at, err := time.Parse(time.RFC3339, s)
	if err != nil {
		tb.Fatal(err)
	}
	return at
}
