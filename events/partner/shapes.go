package partner

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"
)

// The published schemas, written a second time as Go checks, so that the
// common message is passed without the general validator (a quarter of
// the ingest function's CPU per message went to it). The checks may only
// say yes when the schema would: they answer "not sure" for anything the
// schema could still accept in a way they do not follow (a number written
// 1.0 or 1e3, a leap second, a negative number), and Validate then asks
// the compiled schema, which also words every error. TestShapesAgreeWithSchemas
// holds each shape to its schema on generated and mutated documents; a new
// version without a shape here is simply validated by the library.

// shape reports whether a decoded JSON value surely matches a schema.
type shape func(v any) bool

// shapes holds a check per published schema.
var shapes = func() map[schemaKey]shape {
	var (
		partnerID = text(idChars, 1, 40)
		eventID   = text(refChars, 1, 80)
		lineID    = text(refChars, 1, 40)
		currency  = text(upperChars, 3, 3)
		minor     = whole(0, 10_000_000_000_000)
		refunded  = whole(1, 10_000_000_000_000)
		quantity  = whole(1, 100_000)
		sold      = list(1, 100, object(fields{
			"lineId": lineID, "sku": anyText(1, 64), "category": anyText(1, 64), "quantity": quantity, "amountMinor": minor,
		}, nil, "lineId", "sku", "category", "quantity", "amountMinor"))
		returned = list(1, 100, object(fields{"lineId": lineID, "quantity": quantity}, nil, "lineId", "quantity"))
		member   = object(fields{"kind": oneOfText("card", "code", "memberId"), "ref": text(memberRefChars, 1, 400)}, nil, "kind", "ref")
		v1Member = text(refChars, 1, 128)
	)
	// A refund names an amount or lines, never both (the schemas' anyOf
	// and dependentSchemas).
	amountOrLines := func(obj map[string]any) bool {
		_, amount := obj["amountMinor"]
		_, lines := obj["lines"]
		return amount != lines
	}
	purchase := func(version string, who string, whoShape shape) shape {
		return object(fields{
			"type": exactText(TypePurchaseCompleted), "version": exactNumber(version), "partnerId": partnerID, "eventId": eventID,
			who: whoShape, "occurredAt": dateTime, "currency": currency, "amountMinor": minor, "lines": sold,
		}, nil, "type", "version", "partnerId", "eventId", who, "occurredAt", "currency", "amountMinor")
	}
	refund := func(version string, who string, whoShape shape) shape {
		return object(fields{
			"type": exactText(TypePurchaseRefunded), "version": exactNumber(version), "partnerId": partnerID, "eventId": eventID,
			who: whoShape, "occurredAt": dateTime, "originalEventId": eventID, "currency": currency, "amountMinor": refunded, "lines": returned,
		}, amountOrLines, "type", "version", "partnerId", "eventId", who, "occurredAt", "originalEventId", "currency")
	}
	return map[schemaKey]shape{
		{TypePurchaseCompleted, 1}: purchase("1", "memberRef", v1Member),
		{TypePurchaseCompleted, 2}: purchase("2", "member", member),
		{TypePurchaseRefunded, 1}:  refund("1", "memberRef", v1Member),
		{TypePurchaseRefunded, 2}:  refund("2", "member", member),
	}
}()

// charset is a set of ASCII bytes.
type charset [256]bool

func chars(ranges ...string) *charset {
	var c charset
	for _, r := range ranges {
		if len(r) == 3 && r[1] == '-' {
			for b := r[0]; b <= r[2]; b++ {
				c[b] = true
			}
			continue
		}
		for i := 0; i < len(r); i++ {
			c[r[i]] = true
		}
	}
	return &c
}

// The schemas' character classes.
var (
	idChars        = chars("A-Z", "a-z", "0-9", "._-")    // ^[A-Za-z0-9._-]
	refChars       = chars("A-Z", "a-z", "0-9", "._:@-")  // ^[A-Za-z0-9._:@-]
	memberRefChars = chars("A-Z", "a-z", "0-9", "._:@ -") // ^[A-Za-z0-9._:@ -]
	upperChars     = chars("A-Z")                         // ^[A-Z]
	digitChars     = chars("0-9")                         // [0-9]
)

// text is a string of min to max bytes of set (all ASCII, so bytes are
// characters), as a pattern ^[set]{min,max}$.
func text(set *charset, min, max int) shape {
	return func(v any) bool {
		s, ok := v.(string)
		if !ok || len(s) < min || len(s) > max {
			return false
		}
		for i := 0; i < len(s); i++ {
			if !set[s[i]] {
				return false
			}
		}
		return true
	}
}

// anyText is a string of min to max characters (minLength, maxLength).
func anyText(min, max int) shape {
	return func(v any) bool {
		s, ok := v.(string)
		if !ok || len(s) < min {
			return false
		}
		n := utf8.RuneCountInString(s)
		return n >= min && n <= max
	}
}

// exactText is a const string.
func exactText(want string) shape {
	return func(v any) bool { s, ok := v.(string); return ok && s == want }
}

// oneOfText is an enum of strings.
func oneOfText(want ...string) shape {
	return func(v any) bool {
		s, ok := v.(string)
		if !ok {
			return false
		}
		for _, w := range want {
			if s == w {
				return true
			}
		}
		return false
	}
}

// exactNumber is a const integer, written as its digits.
func exactNumber(digits string) shape {
	return func(v any) bool { n, ok := v.(json.Number); return ok && string(n) == digits }
}

// whole is an integer from min to max (min >= 0), written as plain digits;
// any other spelling is left to the schema.
func whole(min, max int64) shape {
	return func(v any) bool {
		n, ok := v.(json.Number)
		if !ok || len(n) == 0 || len(n) > 19 {
			return false
		}
		for i := 0; i < len(n); i++ {
			if !digitChars[n[i]] {
				return false
			}
		}
		i, err := strconv.ParseInt(string(n), 10, 64)
		return err == nil && i >= min && i <= max
	}
}

// fields names the shape of each property an object may have.
type fields map[string]shape

// object is an object with no properties but those of fs
// (additionalProperties false), each of its shape, the required ones
// present, and also, when not nil, true of it.
func object(fs fields, also func(map[string]any) bool, required ...string) shape {
	return func(v any) bool {
		obj, ok := v.(map[string]any)
		if !ok {
			return false
		}
		for k, val := range obj {
			f, ok := fs[k]
			if !ok || !f(val) {
				return false
			}
		}
		for _, k := range required {
			if _, ok := obj[k]; !ok {
				return false
			}
		}
		return also == nil || also(obj)
	}
}

// list is an array of min to max items, each of the item shape.
func list(min, max int, item shape) shape {
	return func(v any) bool {
		a, ok := v.([]any)
		if !ok || len(a) < min || len(a) > max {
			return false
		}
		for _, x := range a {
			if !item(x) {
				return false
			}
		}
		return true
	}
}

// dateTime is the schemas' occurredAt: the pattern
// ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})$
// and format date-time (a real day, hours to 23, minutes and offsets in
// range). A leap second (second 60) is left to the schema.
func dateTime(v any) bool {
	s, ok := v.(string)
	if !ok || len(s) < 20 {
		return false
	}
	digits := func(from, to int) bool {
		for i := from; i < to; i++ {
			if !digitChars[s[i]] {
				return false
			}
		}
		return true
	}
	two := func(at int) int { return int(s[at]-'0')*10 + int(s[at+1]-'0') }
	if !digits(0, 4) || s[4] != '-' || !digits(5, 7) || s[7] != '-' || !digits(8, 10) || s[10] != 'T' ||
		!digits(11, 13) || s[13] != ':' || !digits(14, 16) || s[16] != ':' || !digits(17, 19) {
		return false
	}
	if two(11) > 23 || two(14) > 59 || two(17) > 59 {
		return false
	}
	if _, err := time.Parse(time.DateOnly, s[:10]); err != nil {
		return false
	}
	rest := s[19:]
	if rest[0] == '.' {
		n := 1
		for n < len(rest) && digitChars[rest[n]] {
			n++
		}
		if n == 1 || n > 10 {
			return false
		}
		rest = rest[n:]
	}
	if rest == "Z" {
		return true
	}
	if len(rest) != 6 || (rest[0] != '+' && rest[0] != '-') || rest[3] != ':' {
		return false
	}
	for _, i := range []int{1, 2, 4, 5} {
		if !digitChars[rest[i]] {
			return false
		}
	}
	return int(rest[1]-'0')*10+int(rest[2]-'0') <= 23 && int(rest[4]-'0')*10+int(rest[5]-'0') <= 59
}
