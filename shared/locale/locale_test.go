package locale_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/language"

	"github.com/loyalty-functions/loyalty/shared/locale"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

func testProgram(tb testing.TB) *loyalty.Program {
	tb.Helper()
	b, err := os.ReadFile("testdata/program.json")
	if err != nil {
		tb.Fatal(err)
	}
	p, err := loyalty.ParseProgram("program.json", b)
	if err != nil {
		tb.Fatal(err)
	}
	if err := locale.Check(p); err != nil {
		tb.Fatal(err)
	}
	return p
}

func note(p *loyalty.Program, kind loyalty.NotificationKind, data map[string]any) loyalty.Notification {
	return loyalty.NewNotification(p, "m-1", kind, "occasion", "stored title", data, time.Date(2026, 1, 31, 9, 0, 0, 0, time.UTC))
}

// The boundary counts of every plural rule here: 0 ("other" in en, nl and
// de, where some languages have "zero"), 1 ("one"), 2 (the first "other";
// "two" in some languages), 12 and 1234 (many, with the locale's grouping).
var counts = []int64{0, 1, 2, 12, 1234}

// nbsp is what CLDR groups thousands with in Hungarian.
const nbsp = "\u00a0"

func TestEveryKindInEveryLocale(t *testing.T) {
	p := testProgram(t)
	cat := locale.New(p)
	cases := []struct {
		kind loyalty.NotificationKind
		data func(n int64) map[string]any
		want map[string][]string // by locale, one per count
	}{
		{loyalty.NotePointsExpiring, func(n int64) map[string]any {
			return map[string]any{"points": n, "expires": "2027-01-31", "daysLeft": 30}
		}, map[string][]string{
			"en": {"0 points expire on January 31, 2027", "1 point expires on January 31, 2027", "2 points expire on January 31, 2027",
				"12 points expire on January 31, 2027", "1,234 points expire on January 31, 2027"},
			"nl": {"0 punten vervallen op 31 januari 2027", "1 punt vervalt op 31 januari 2027", "2 punten vervallen op 31 januari 2027",
				"12 punten vervallen op 31 januari 2027", "1.234 punten vervallen op 31 januari 2027"},
			"de": {"0 Punkte verfallen am 31. Januar 2027", "1 Punkt verfällt am 31. Januar 2027", "2 Punkte verfallen am 31. Januar 2027",
				"12 Punkte verfallen am 31. Januar 2027", "1.234 Punkte verfallen am 31. Januar 2027"},
			"hu": {"0 pontod lejár: 2027. január 31.", "1 pontod lejár: 2027. január 31.", "2 pontod lejár: 2027. január 31.",
				"12 pontod lejár: 2027. január 31.", "1" + nbsp + "234 pontod lejár: 2027. január 31."},
		}},
		{loyalty.NoteRewardExpiring, func(n int64) map[string]any {
			return map[string]any{"redemptionId": "r1", "rewardId": "free-coffee", "rewardName": "Free coffee", "validUntil": "2026-02-28", "daysLeft": n}
		}, map[string][]string{
			"en": {"Free coffee: valid until February 28, 2026 (0 days left)", "Free coffee: valid until February 28, 2026 (1 day left)",
				"Free coffee: valid until February 28, 2026 (2 days left)", "Free coffee: valid until February 28, 2026 (12 days left)",
				"Free coffee: valid until February 28, 2026 (1,234 days left)"},
			"nl": {"Gratis koffie: geldig tot en met 28 februari 2026 (nog 0 dagen)", "Gratis koffie: geldig tot en met 28 februari 2026 (nog 1 dag)",
				"Gratis koffie: geldig tot en met 28 februari 2026 (nog 2 dagen)", "Gratis koffie: geldig tot en met 28 februari 2026 (nog 12 dagen)",
				"Gratis koffie: geldig tot en met 28 februari 2026 (nog 1.234 dagen)"},
			"de": {"Gratis Kaffee: gültig bis zum 28. Februar 2026 (noch 0 Tage)", "Gratis Kaffee: gültig bis zum 28. Februar 2026 (noch 1 Tag)",
				"Gratis Kaffee: gültig bis zum 28. Februar 2026 (noch 2 Tage)", "Gratis Kaffee: gültig bis zum 28. Februar 2026 (noch 12 Tage)",
				"Gratis Kaffee: gültig bis zum 28. Februar 2026 (noch 1.234 Tage)"},
			"hu": {"Ingyen kávé: még 0 napig érvényes (lejár: 2026. február 28.)", "Ingyen kávé: még 1 napig érvényes (lejár: 2026. február 28.)",
				"Ingyen kávé: még 2 napig érvényes (lejár: 2026. február 28.)", "Ingyen kávé: még 12 napig érvényes (lejár: 2026. február 28.)",
				"Ingyen kávé: még 1" + nbsp + "234 napig érvényes (lejár: 2026. február 28.)"},
		}},
		{loyalty.NoteRewardAffordable, func(n int64) map[string]any {
			return map[string]any{"balance": n, "rewards": []map[string]any{{"rewardId": "free-coffee", "name": "Free coffee", "cost": int64(20)},
				{"rewardId": "five-off", "name": "5 EUR off", "cost": int64(50)}}}
		}, map[string][]string{
			"en": {"With 0 points you can now get 5 EUR off", "With 1 point you can now get 5 EUR off", "With 2 points you can now get 5 EUR off",
				"With 12 points you can now get 5 EUR off", "With 1,234 points you can now get 5 EUR off"},
			"nl": {"Met 0 punten kun je nu 5 euro korting kiezen", "Met 1 punt kun je nu 5 euro korting kiezen", "Met 2 punten kun je nu 5 euro korting kiezen",
				"Met 12 punten kun je nu 5 euro korting kiezen", "Met 1.234 punten kun je nu 5 euro korting kiezen"},
			"de": {"Mit 0 Punkten kannst du dir jetzt 5 Euro Rabatt holen", "Mit 1 Punkt kannst du dir jetzt 5 Euro Rabatt holen",
				"Mit 2 Punkten kannst du dir jetzt 5 Euro Rabatt holen", "Mit 12 Punkten kannst du dir jetzt 5 Euro Rabatt holen",
				"Mit 1.234 Punkten kannst du dir jetzt 5 Euro Rabatt holen"},
			"hu": {"0 pontodért már beválthatod: 5 euró kedvezmény", "1 pontodért már beválthatod: 5 euró kedvezmény",
				"2 pontodért már beválthatod: 5 euró kedvezmény", "12 pontodért már beválthatod: 5 euró kedvezmény",
				"1" + nbsp + "234 pontodért már beválthatod: 5 euró kedvezmény"},
		}},
		{loyalty.NotePointsExpired, func(n int64) map[string]any {
			return map[string]any{"points": n, "expiredBefore": "2026-04-30", "lots": []map[string]any{}, "entryKey": "k"}
		}, map[string][]string{
			"en": {"0 points expired", "1 point expired", "2 points expired", "12 points expired", "1,234 points expired"},
			"nl": {"0 punten zijn vervallen", "1 punt is vervallen", "2 punten zijn vervallen", "12 punten zijn vervallen", "1.234 punten zijn vervallen"},
			"de": {"0 Punkte sind verfallen", "1 Punkt ist verfallen", "2 Punkte sind verfallen", "12 Punkte sind verfallen", "1.234 Punkte sind verfallen"},
			"hu": {"0 pont lejárt", "1 pont lejárt", "2 pont lejárt", "12 pont lejárt", "1" + nbsp + "234 pont lejárt"},
		}},
		{loyalty.NoteWinBackOffered, func(n int64) map[string]any {
			return map[string]any{"points": n, "reason": "win-back", "lastActive": "2025-10-31", "entryKey": "k"}
		}, map[string][]string{
			"en": {"We miss you: 0 bonus points", "We miss you: 1 bonus point", "We miss you: 2 bonus points", "We miss you: 12 bonus points",
				"We miss you: 1,234 bonus points"},
			"nl": {"We missen je! Hier zijn 0 bonuspunten", "We missen je! Hier is 1 bonuspunt", "We missen je! Hier zijn 2 bonuspunten",
				"We missen je! Hier zijn 12 bonuspunten", "We missen je! Hier zijn 1.234 bonuspunten"},
			"de": {"Wir vermissen dich! Hier sind 0 Bonuspunkte für dich", "Wir vermissen dich! Hier ist 1 Bonuspunkt für dich",
				"Wir vermissen dich! Hier sind 2 Bonuspunkte für dich", "Wir vermissen dich! Hier sind 12 Bonuspunkte für dich",
				"Wir vermissen dich! Hier sind 1.234 Bonuspunkte für dich"},
			"hu": {"Hiányzol nekünk! 0 bónuszpontot kaptál", "Hiányzol nekünk! 1 bónuszpontot kaptál", "Hiányzol nekünk! 2 bónuszpontot kaptál",
				"Hiányzol nekünk! 12 bónuszpontot kaptál", "Hiányzol nekünk! 1" + nbsp + "234 bónuszpontot kaptál"},
		}},
		{loyalty.NoteClassChanged, func(n int64) map[string]any {
			return map[string]any{"from": "at_risk", "to": "champions", "recencyDays": 3, "purchases": n, "spendMinor": 25000, "currency": "EUR"}
		}, map[string][]string{
			"en": {"Your member status is now champions (0 purchases in the last year)", "Your member status is now champions (1 purchase in the last year)",
				"Your member status is now champions (2 purchases in the last year)", "Your member status is now champions (12 purchases in the last year)",
				"Your member status is now champions (1,234 purchases in the last year)"},
			"nl": {"Je ledenstatus is nu: kampioen (0 aankopen in het afgelopen jaar)", "Je ledenstatus is nu: kampioen (1 aankoop in het afgelopen jaar)",
				"Je ledenstatus is nu: kampioen (2 aankopen in het afgelopen jaar)", "Je ledenstatus is nu: kampioen (12 aankopen in het afgelopen jaar)",
				"Je ledenstatus is nu: kampioen (1.234 aankopen in het afgelopen jaar)"},
			"de": {"Dein Mitgliedsstatus ist jetzt: Stammgast (0 Einkäufe im letzten Jahr)", "Dein Mitgliedsstatus ist jetzt: Stammgast (1 Einkauf im letzten Jahr)",
				"Dein Mitgliedsstatus ist jetzt: Stammgast (2 Einkäufe im letzten Jahr)", "Dein Mitgliedsstatus ist jetzt: Stammgast (12 Einkäufe im letzten Jahr)",
				"Dein Mitgliedsstatus ist jetzt: Stammgast (1.234 Einkäufe im letzten Jahr)"},
			"hu": {"Új tagsági státuszod: törzsvendég (az elmúlt évben 0 vásárlás)", "Új tagsági státuszod: törzsvendég (az elmúlt évben 1 vásárlás)",
				"Új tagsági státuszod: törzsvendég (az elmúlt évben 2 vásárlás)", "Új tagsági státuszod: törzsvendég (az elmúlt évben 12 vásárlás)",
				"Új tagsági státuszod: törzsvendég (az elmúlt évben 1" + nbsp + "234 vásárlás)"},
		}},
		{loyalty.NoteRefereeBonus, func(n int64) map[string]any {
			return map[string]any{"points": n, "purchaseId": "p:shop:1"}
		}, map[string][]string{
			"en": {"Welcome: 0 bonus points", "Welcome: 1 bonus point", "Welcome: 2 bonus points", "Welcome: 12 bonus points", "Welcome: 1,234 bonus points"},
			"nl": {"Welkom: 0 bonuspunten", "Welkom: 1 bonuspunt", "Welkom: 2 bonuspunten", "Welkom: 12 bonuspunten", "Welkom: 1.234 bonuspunten"},
			"de": {"Willkommen: 0 Bonuspunkte", "Willkommen: 1 Bonuspunkt", "Willkommen: 2 Bonuspunkte", "Willkommen: 12 Bonuspunkte", "Willkommen: 1.234 Bonuspunkte"},
			"hu": {"Üdvözlünk: 0 bónuszpont", "Üdvözlünk: 1 bónuszpont", "Üdvözlünk: 2 bónuszpont", "Üdvözlünk: 12 bónuszpont", "Üdvözlünk: 1" + nbsp + "234 bónuszpont"},
		}},
		{loyalty.NoteReferrerBonus, func(n int64) map[string]any {
			return map[string]any{"state": "paid", "points": n, "month": "2026-01", "monthlyCap": 5}
		}, map[string][]string{
			"en": {"Your referral counted; this month's bonuses are all paid", "1 point for your referral", "2 points for your referral", "12 points for your referral", "1,234 points for your referral"},
			"nl": {"Je aanbreng telt; je bonussen van deze maand zijn uitbetaald", "1 punt voor je aanbreng", "2 punten voor je aanbreng", "12 punten voor je aanbreng", "1.234 punten voor je aanbreng"},
			"de": {"Deine Empfehlung zählt; die Prämien dieses Monats sind ausgeschöpft", "1 Punkt für deine Empfehlung", "2 Punkte für deine Empfehlung", "12 Punkte für deine Empfehlung", "1.234 Punkte für deine Empfehlung"},
			"hu": {"Az ajánlásod számít; e havi bónuszaid elfogytak", "1 pont az ajánlásodért", "2 pont az ajánlásodért", "12 pont az ajánlásodért", "1" + nbsp + "234 pont az ajánlásodért"},
		}},
		{loyalty.NoteReferralClawback, func(n int64) map[string]any {
			return map[string]any{"points": n, "bonusEntryKey": "ref:0123456789abcdef01234567"}
		}, map[string][]string{
			"en": {"0 referral points taken back", "1 referral point taken back", "2 referral points taken back", "12 referral points taken back", "1,234 referral points taken back"},
			"nl": {"0 aanbrengpunten teruggenomen", "1 aanbrengpunt teruggenomen", "2 aanbrengpunten teruggenomen", "12 aanbrengpunten teruggenomen", "1.234 aanbrengpunten teruggenomen"},
			"de": {"0 Empfehlungspunkte zurückgebucht", "1 Empfehlungspunkt zurückgebucht", "2 Empfehlungspunkte zurückgebucht", "12 Empfehlungspunkte zurückgebucht", "1.234 Empfehlungspunkte zurückgebucht"},
			"hu": {"0 ajánlási pontot visszavontunk", "1 ajánlási pontot visszavontunk", "2 ajánlási pontot visszavontunk", "12 ajánlási pontot visszavontunk", "1" + nbsp + "234 ajánlási pontot visszavontunk"},
		}},
		{loyalty.NoteFeedbackBonus, func(n int64) map[string]any {
			return map[string]any{"points": n, "rating": 4, "purchaseId": "p:shop:1", "entryKey": "fb:p:shop:1"}
		}, map[string][]string{
			"en": {"Thanks for your feedback: 0 points", "Thanks for your feedback: 1 point", "Thanks for your feedback: 2 points", "Thanks for your feedback: 12 points", "Thanks for your feedback: 1,234 points"},
			"nl": {"Bedankt voor je feedback: 0 punten", "Bedankt voor je feedback: 1 punt", "Bedankt voor je feedback: 2 punten", "Bedankt voor je feedback: 12 punten", "Bedankt voor je feedback: 1.234 punten"},
			"de": {"Danke für dein Feedback: 0 Punkte", "Danke für dein Feedback: 1 Punkt", "Danke für dein Feedback: 2 Punkte", "Danke für dein Feedback: 12 Punkte", "Danke für dein Feedback: 1.234 Punkte"},
			"hu": {"Köszönjük a visszajelzést: 0 pont", "Köszönjük a visszajelzést: 1 pont", "Köszönjük a visszajelzést: 2 pont", "Köszönjük a visszajelzést: 12 pont", "Köszönjük a visszajelzést: 1" + nbsp + "234 pont"},
		}},
	}
	for _, c := range cases {
		for loc, want := range c.want {
			for i, n := range counts {
				got := cat.Title(loc, note(p, c.kind, c.data(n)))
				if got != want[i] {
					t.Errorf("%s in %s with %d: got %q, want %q", c.kind, loc, n, got, want[i])
				}
			}
		}
	}
	// Names of classes and tiers in each locale; the tier review's date is
	// the last day of a year.
	named := []struct {
		kind loyalty.NotificationKind
		data map[string]any
		want map[string]string
	}{
		{loyalty.NoteClassChanged, map[string]any{"from": "champions", "to": "at_risk", "recencyDays": 120, "purchases": 1, "spendMinor": 500, "currency": "EUR"},
			map[string]string{"en": "Your member status is now at risk (1 purchase in the last year)", "nl": "Je ledenstatus is nu: slapend (1 aankoop in het afgelopen jaar)",
				"de": "Dein Mitgliedsstatus ist jetzt: ruhend (1 Einkauf im letzten Jahr)", "hu": "Új tagsági státuszod: alvó (az elmúlt évben 1 vásárlás)"}},
		{loyalty.NoteTierChanged, map[string]any{"from": "gold", "to": "bronze", "reviewedOn": "2026-12-31", "entryKey": "k"},
			map[string]string{"en": "Since December 31, 2026 your tier is Bronze", "nl": "Sinds 31 december 2026 is je niveau Brons",
				"de": "Seit dem 31. Dezember 2026 ist dein Status Bronze", "hu": "2026. december 31. óta a szinted: Bronz"}},
		{loyalty.NoteTierChanged, map[string]any{"from": "bronze", "to": "gold", "reviewedOn": "2027-02-28", "entryKey": "k"},
			map[string]string{"en": "Since February 28, 2027 your tier is Gold", "nl": "Sinds 28 februari 2027 is je niveau Goud",
				"de": "Seit dem 28. Februar 2027 ist dein Status Gold", "hu": "2027. február 28. óta a szinted: Arany"}},
	}
	for _, c := range named {
		for loc, want := range c.want {
			if got := cat.Title(loc, note(p, c.kind, c.data)); got != want {
				t.Errorf("%s in %s: got %q, want %q", c.kind, loc, got, want)
			}
		}
	}
	covered := map[loyalty.NotificationKind]bool{}
	for _, c := range cases {
		covered[c.kind] = len(c.want) == 4
	}
	for _, k := range loyalty.NotificationKinds {
		if !covered[k] && k != loyalty.NoteTierChanged { // tier_changed has no number: named above
			t.Errorf("%s: not rendered with the plural boundaries in en, nl, de and hu", k)
		}
	}
}

// Titles are rendered when read, from the data the stores give back: JSON
// numbers come back as float64 from a round trip, lists as []any.
func TestTitleFromStoredDataShapes(t *testing.T) {
	p := testProgram(t)
	cat := locale.New(p)
	n := note(p, loyalty.NoteRewardAffordable, map[string]any{"balance": float64(50),
		"rewards": []any{map[string]any{"rewardId": "five-off", "name": "5 EUR off", "cost": float64(50)}}})
	if got, want := cat.Title("de", n), "Mit 50 Punkten kannst du dir jetzt 5 Euro Rabatt holen"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestOldNotificationKeepsItsStoredTitle(t *testing.T) {
	p := testProgram(t)
	cat := locale.New(p)
	// Stored before its data carried the points: the template cannot show it.
	n := note(p, loyalty.NotePointsExpired, map[string]any{})
	n.Title = "12 points expired"
	if got := cat.Title("nl", n); got != "12 points expired" {
		t.Errorf("got %q, want the stored title", got)
	}
}

func TestRewardAddedByOpsKeepsItsNameInEveryLocale(t *testing.T) {
	p := testProgram(t)
	cat := locale.New(p)
	n := note(p, loyalty.NoteRewardExpiring, map[string]any{"rewardId": "mug", "rewardName": "Coffee mug", "validUntil": "2026-03-31", "daysLeft": 1})
	if got, want := cat.Title("nl", n), "Coffee mug: geldig tot en met 31 maart 2026 (nog 1 dag)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestNegotiate(t *testing.T) {
	cat := locale.New(testProgram(t))
	cases := []struct{ accept, preferred, want string }{
		{"nl-BE,nl;q=0.9,en;q=0.5", "", "nl"},
		{"de-AT", "", "de"},
		{"hu-HU,hu;q=0.9", "nl", "hu"},
		{"fr-FR,fr;q=0.9", "", "en"},   // the program has no French: its default
		{"fr-FR,fr;q=0.9", "de", "de"}, // ... or the member's choice
		{"", "hu", "hu"},
		{"", "", "en"},
		{"not a header;;;", "nl", "nl"},
		{"", "fr", "en"},               // a preference the program no longer has
		{"nl;q=0, de;q=0.5", "", "de"}, // q=0: not acceptable
		{"*", "hu", "hu"},
		{"NL-be", "", "nl"},
	}
	for _, c := range cases {
		if got := cat.Negotiate(c.accept, c.preferred); got != c.want {
			t.Errorf("Negotiate(%q, %q): got %q, want %q", c.accept, c.preferred, got, c.want)
		}
	}
	if got, ok := cat.Supported("nl-BE"); !ok || got != "nl" {
		t.Errorf("Supported(nl-BE): got %q %v, want nl", got, ok)
	}
	if got, ok := cat.Supported("ja"); ok {
		t.Errorf("Supported(ja): got %q, want none", got)
	}
	if got := cat.Locales(); strings.Join(got, ",") != "en,de,hu,nl" {
		t.Errorf("Locales: got %v, want en first, then the rest sorted", got)
	}
}

func TestRewardTexts(t *testing.T) {
	p := testProgram(t)
	cat := locale.New(p)
	for _, c := range []struct{ loc, name, desc string }{
		{"en", "Free coffee", "Any coffee from the menu"},
		{"nl", "Gratis koffie", "Een koffie naar keuze"},
		{"hu", "Ingyen kávé", "Egy kávé az itallapról"},
	} {
		name, desc := cat.Reward(c.loc, p.Rewards[0])
		if name != c.name || desc != c.desc {
			t.Errorf("%s: got %q / %q, want %q / %q", c.loc, name, desc, c.name, c.desc)
		}
	}
	// A description only the default gives falls back to it.
	if _, desc := cat.Reward("nl", p.Rewards[1]); desc != "" {
		t.Errorf("five-off in nl: got description %q, want none (the default has none either)", desc)
	}
}

func TestDates(t *testing.T) {
	cases := []struct{ tag, want string }{
		{"en", "December 31, 2026"}, {"en-GB", "31 December 2026"}, {"nl", "31 december 2026"},
		{"de", "31. Dezember 2026"}, {"hu", "2026. december 31."}, {"ja", "2026-12-31"},
	}
	for _, c := range cases {
		if got := locale.FormatDate(mustTag(t, c.tag), "2026-12-31"); got != c.want {
			t.Errorf("%s: got %q, want %q", c.tag, got, c.want)
		}
	}
}

func TestNumbers(t *testing.T) {
	cat := locale.New(testProgram(t))
	for loc, want := range map[string]string{"en": "1,234,567", "nl": "1.234.567", "de": "1.234.567", "hu": "1" + nbsp + "234" + nbsp + "567"} {
		if got := cat.Number(loc, 1234567); got != want {
			t.Errorf("%s: got %q, want %q", loc, got, want)
		}
	}
}

func mustTag(tb testing.TB, s string) language.Tag {
	tb.Helper()
	tag, err := language.Parse(s)
	if err != nil {
		tb.Fatal(err)
	}
	return tag
}

// The member API and the jobs render titles from many goroutines at once.
func TestConcurrentRendering(t *testing.T) {
	p := testProgram(t)
	cat := locale.New(p)
	done := make(chan string, 64)
	for i := range 64 {
		loc := []string{"en", "nl", "de", "hu"}[i%4]
		go func() {
			done <- cat.Title(loc, note(p, loyalty.NotePointsExpired, map[string]any{"points": int64(2), "expiredBefore": "2026-04-30"}))
		}()
	}
	want := map[string]bool{"2 points expired": true, "2 punten zijn vervallen": true, "2 Punkte sind verfallen": true, "2 pont lejárt": true}
	for range 64 {
		if got := <-done; !want[got] {
			t.Errorf("got %q, want one of %v", got, want)
		}
	}
}
