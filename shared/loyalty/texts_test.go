package loyalty

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestParseTemplate(t *testing.T) {
	ok := []struct {
		src   string
		names []string
	}{
		{"no placeholders", nil},
		{"{points} points", []string{"points"}},
		{"{ points } on {expires}", []string{"points", "expires"}},
		{"{points, plural, one {# punt} other {# punten}} op {expires}", []string{"points", "points", "points", "expires"}},
		{"{points, plural, =0 {geen punten} one {# punt} other {# punten tot {expires}}}", []string{"points", "points", "points", "expires"}},
		{"{n, plural, =1 {} other {and # more}}", []string{"n", "n"}},
		{"100% {points}", []string{"points"}},
	}
	for _, c := range ok {
		tp, err := ParseTemplate(c.src)
		if err != nil {
			t.Errorf("%q: got %v, want it parsed", c.src, err)
			continue
		}
		if got := tp.Names(); !reflect.DeepEqual(got, c.names) {
			t.Errorf("%q: got names %v, want %v", c.src, got, c.names)
		}
	}
	bad := []struct{ src, want string }{
		{"{points", "not closed"},
		{"points}", "unexpected '}'"},
		{"{}", "is not a name"},
		{"{po ints}", "is not a name"},
		{"{points, select, one {x} other {y}}", "only plural is supported"},
		{"{points, plural, one {# punt}}", `no "other" form`},
		{"{points, plural, single {x} other {y}}", "is not a plural category"},
		{"{points, plural, one {x} one {y} other {z}}", "given twice"},
		{"{points, plural, other {# {n, plural, other {x}}}}", "inside another plural"},
		{"{points, plural, one {x} other {y}", "not closed"},
		{"{points, plural, one {x", "not closed"},
		{"{points, plural}", "want {points, plural"},
	}
	for _, c := range bad {
		if _, err := ParseTemplate(c.src); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want an error saying %q", c.src, err, c.want)
		}
	}
}

func TestCheckTemplate(t *testing.T) {
	for kind, src := range BuiltinMessages {
		if err := CheckTemplate(kind, src); err != nil {
			t.Errorf("built-in %s: %v", kind, err)
		}
	}
	if len(BuiltinMessages) != len(NotificationKinds) || len(placeholders) != len(NotificationKinds) {
		t.Errorf("got %d built-in templates and %d placeholder lists, want one of each for the %d kinds",
			len(BuiltinMessages), len(placeholders), len(NotificationKinds))
	}
	cases := []struct {
		kind NotificationKind
		src  string
		want string
	}{
		{NoteTierChanged, "Now {level}", "unknown placeholder {level}: tier_changed offers {from} {to} {reviewedOn}"},
		{NotePointsExpiring, "{expires, plural, one {x} other {y}}", "{expires} is a date: a plural selects on a number"},
		{NoteRewardExpiring, "{reward, plural, one {x} other {y}}", "{reward} is a reward"},
		{NotePointsExpired, "{points, plural, one {# pont {pont}} other {# pont}}", "unknown placeholder {pont}"},
		{NotePointsExpired, "   ", "1-500 characters"},
	}
	for _, c := range cases {
		if err := CheckTemplate(c.kind, c.src); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %q: got %v, want %q", c.kind, c.src, err, c.want)
		}
	}
}

func localesProgram(tb testing.TB) *Program {
	tb.Helper()
	p := &Program{Version: 1, ID: "p", Currency: "EUR", Timezone: "Europe/Amsterdam",
		Earn: EarnRate{Points: 1, PerMinor: 100, Rounding: RoundDown}, Refund: RefundNegative,
		Rewards: []Reward{{ID: "coffee", Name: "Coffee", Kind: RewardFreeProduct, Cost: 10, Active: true},
			{ID: "cake", Name: "Cake", Kind: RewardFreeProduct, Cost: 20, Active: true}},
		Texts: &Locales{Default: "nl", Texts: map[string]LocaleTexts{
			"nl": {Rewards: map[string]EntityText{"coffee": {Description: "Een koffie"}},
				Messages: map[NotificationKind]string{NotePointsExpired: "{points} punten vervallen"}},
			"de": {Rewards: map[string]EntityText{"coffee": {Name: "Kaffee"}},
				Messages: map[NotificationKind]string{NotePointsExpired: "{points} Punkte verfallen"}},
		}}}
	if err := p.Validate(); err != nil {
		tb.Fatal(err)
	}
	return p
}

func TestTextsFallBackToTheDefault(t *testing.T) {
	p := localesProgram(t)
	if got := p.Locales(); !reflect.DeepEqual(got, []string{"nl", "de"}) {
		t.Errorf("locales: got %v, want the default first", got)
	}
	cases := []struct{ loc, id, name, desc string }{
		{"de", "coffee", "Kaffee", "Een koffie"}, // the description falls back
		{"de", "cake", "Cake", ""},               // the rules' name is the default's
		{"nl", "coffee", "Coffee", "Een koffie"},
		{"fr", "coffee", "Coffee", "Een koffie"}, // a locale the program lacks: the default's
	}
	for _, c := range cases {
		if got := p.Name(c.loc, TextRewards, c.id, p.Rewards[map[string]int{"coffee": 0, "cake": 1}[c.id]].Name); got != c.name {
			t.Errorf("%s %s name: got %q, want %q", c.loc, c.id, got, c.name)
		}
		if got := p.Description(c.loc, TextRewards, c.id); got != c.desc {
			t.Errorf("%s %s description: got %q, want %q", c.loc, c.id, got, c.desc)
		}
	}
	if src, from := p.MessageTemplate("de", NotePointsExpired); from != "de" || src != "{points} Punkte verfallen" {
		t.Errorf("de points_expired: got %q from %s", src, from)
	}
	if _, from := p.MessageTemplate("de", NoteTierChanged); from != "en" {
		t.Errorf("de tier_changed: got it from %s, want the built-in English (the default nl has none)", from)
	}
	want := []string{
		"locales.texts.de.messages.class_changed: missing, falls back to en",
		"locales.texts.de.rewards.cake.name: missing, falls back to nl",
		"locales.texts.de.rewards.coffee.description: missing, falls back to nl",
		"locales.texts.nl.messages.tier_changed: missing in the default locale, falls back to the built-in English text",
	}
	got := p.LocaleFallbacks()
	for _, w := range want {
		found := false
		for _, g := range got {
			found = found || g == w
		}
		if !found {
			t.Errorf("fallbacks: %q missing from %v", w, got)
		}
	}
	// A program without locales speaks English and has nothing to fall back.
	p.Texts = nil
	if got := p.LocaleFallbacks(); len(got) != 0 || p.DefaultLocale() != "en" {
		t.Errorf("no locales: got default %s and fallbacks %v", p.DefaultLocale(), got)
	}
}

func TestLocalesValidation(t *testing.T) {
	cases := []struct {
		edit func(l *Locales)
		want string
	}{
		{func(l *Locales) { l.Default = "" }, "locales.default: must be a BCP 47 locale"},
		{func(l *Locales) { l.Texts["nl_NL"] = LocaleTexts{} }, `locales.texts.nl_NL: "nl_NL" is not a BCP 47 locale`},
		{func(l *Locales) { l.Texts["de"].Rewards["tea"] = EntityText{Name: "Tee"} }, `locales.texts.de.rewards.tea: rewards has no "tea"`},
		{func(l *Locales) { l.Texts["de"].Rewards["coffee"] = EntityText{} }, "locales.texts.de.rewards.coffee: give a name, a description or both"},
		{func(l *Locales) { l.Texts["de"].Messages["points_lost"] = "x" }, `locales.texts.de.messages.points_lost: "points_lost" is not a notification kind`},
		{func(l *Locales) { l.Texts["de"].Messages[NotePointsExpired] = "{pts} Punkte" }, "locales.texts.de.messages.points_expired: unknown placeholder {pts}"},
		{func(l *Locales) {
			t := l.Texts["de"]
			t.Errors = map[Code]string{"oops": "x"}
			l.Texts["de"] = t
		}, `locales.texts.de.errors.oops: "oops" is not an error code`},
	}
	for _, c := range cases {
		p := localesProgram(t)
		c.edit(p.Texts)
		err := p.Validate()
		var e *Error
		if err == nil || !asErr(err, &e) || !strings.HasPrefix(e.Field+": "+e.Message, c.want) {
			t.Errorf("got %v, want %q", err, c.want)
		}
	}
}

// Params reads the data as each store gives it back: the memory store's
// Go values and a JSON round trip's float64 and []any.
func TestParamsFromStoredData(t *testing.T) {
	data := map[string]any{"balance": int64(25), "rewards": []map[string]any{{"rewardId": "coffee", "name": "Coffee", "cost": int64(10)},
		{"rewardId": "cake", "name": "Cake", "cost": int64(20)}}}
	b, _ := json.Marshal(data)
	var round map[string]any
	if err := json.Unmarshal(b, &round); err != nil {
		t.Fatal(err)
	}
	for _, d := range []map[string]any{data, round} {
		ps := Notification{Kind: NoteRewardAffordable, Data: d}.Params()
		want := map[string]Param{"balance": {Kind: ParamNumber, Number: 25}, "count": {Kind: ParamNumber, Number: 2},
			"reward": {Kind: ParamReward, ID: "cake", Name: "Cake"}}
		if !reflect.DeepEqual(ps, want) {
			t.Errorf("got %+v, want %+v", ps, want)
		}
	}
	ps := Notification{Kind: NotePointsExpiring, Data: map[string]any{"points": 1.5, "expires": "2026-02-30", "daysLeft": float64(3)}}.Params()
	if _, ok := ps["points"]; ok {
		t.Errorf("1.5 points: got %+v, want no whole number", ps["points"])
	}
	if _, ok := ps["expires"]; ok {
		t.Errorf("2026-02-30: got %+v, want no date", ps["expires"])
	}
	if ps["daysLeft"].Number != 3 {
		t.Errorf("daysLeft: got %+v, want 3", ps["daysLeft"])
	}
}
