package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/loyalty-functions/loyalty/shared/httpapi"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// answer calls the member API and returns the whole response, checked
// against openapi.json.
func answer(tb testing.TB, a memAPIs, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, map[string]any) {
	tb.Helper()
	resp, err := a.member.Handle(context.Background(), ev)
	if err != nil {
		tb.Fatal(err)
	}
	checkResponse(tb, ev, resp)
	var body map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
		tb.Fatalf("body is not JSON: %q", resp.Body)
	}
	return resp, body
}

func rewardNames(tb testing.TB, body map[string]any) map[string][2]string {
	tb.Helper()
	out := map[string][2]string{}
	list, _ := body["rewards"].([]any)
	for _, e := range list {
		r := e.(map[string]any)
		desc, _ := r["description"].(string)
		out[r["id"].(string)] = [2]string{r["name"].(string), desc}
	}
	return out
}

func TestRewardsInTheLanguageAskedFor(t *testing.T) {
	a, _ := memLocaleAPIs(t, "../../program.json")
	base := asMember(sample(t, "member/list-rewards.json"), "m-lang")
	cases := []struct {
		accept, wantLang, wantName, wantDesc string
	}{
		{"nl-BE,nl;q=0.9,en;q=0.5", "nl", "Gratis koffie", "Een koffie naar keuze van de kaart, elk formaat"},
		{"de-AT", "de", "Gratis Kaffee", "Ein Kaffee deiner Wahl von der Karte, jede Größe"},
		{"hu", "hu", "Ingyen kávé", "Egy kávé az itallapról, bármilyen méretben"},
		{"en-GB", "en", "Free coffee", "Any coffee from the menu, any size"},
		{"fr-FR,fr;q=0.9", "en", "Free coffee", "Any coffee from the menu, any size"}, // no French: the default
		{"", "en", "Free coffee", "Any coffee from the menu, any size"},
	}
	for _, c := range cases {
		ev := base
		if c.accept != "" {
			ev = withHeader(base, "accept-language", c.accept)
		}
		resp, body := answer(t, a, ev)
		if resp.StatusCode != 200 {
			t.Fatalf("%q: got %d %v", c.accept, resp.StatusCode, body)
		}
		if got := resp.Headers["Content-Language"]; got != c.wantLang {
			t.Errorf("%q: got Content-Language %q, want %q", c.accept, got, c.wantLang)
		}
		got := rewardNames(t, body)["free-coffee"]
		if got != [2]string{c.wantName, c.wantDesc} {
			t.Errorf("%q: got %q, want %q / %q", c.accept, got, c.wantName, c.wantDesc)
		}
		if n := len(rewardNames(t, body)); n != 3 {
			t.Errorf("%q: got %d rewards, want the 3 of the catalog", c.accept, n)
		}
	}
}

// A reward ops added through the admin API after the program file has no
// translations: every locale shows its one name.
func TestRewardWithoutTranslationsKeepsItsName(t *testing.T) {
	a, _ := memLocaleAPIs(t, "../../program.json")
	mug := loyalty.Reward{ID: "mug", Name: "Coffee mug", Kind: loyalty.RewardFreeProduct, Cost: 300, Active: true}
	if err := a.store.PutReward(context.Background(), mug); err != nil {
		t.Fatal(err)
	}
	_, body := answer(t, a, withHeader(asMember(sample(t, "member/list-rewards.json"), "m-mug"), "accept-language", "hu"))
	if got := rewardNames(t, body)["mug"]; got != [2]string{"Coffee mug", ""} {
		t.Errorf("got %q, want the stored name and no description", got)
	}
}

func deliver(tb testing.TB, a memAPIs, p *loyalty.Program, member loyalty.MemberID, kind loyalty.NotificationKind, occasion, title string, data map[string]any) {
	tb.Helper()
	n := loyalty.NewNotification(p, member, kind, occasion, title, data, time.Now())
	if _, _, err := a.store.Deliver(context.Background(), n); err != nil {
		tb.Fatal(err)
	}
}

func titles(tb testing.TB, body map[string]any) map[string]string {
	tb.Helper()
	out := map[string]string{}
	list, _ := body["notifications"].([]any)
	for _, e := range list {
		n := e.(map[string]any)
		out[n["id"].(string)] = n["title"].(string)
	}
	return out
}

func TestInboxInTheMembersLanguage(t *testing.T) {
	a, svc := memLocaleAPIs(t, "../../program.json")
	p := svc.Program
	const m = "m-inbox-lang"
	if _, err := svc.Enrol(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	deliver(t, a, p, m, loyalty.NotePointsExpiring, "2027-01-31", "12 points expire on 2027-01-31",
		map[string]any{"points": int64(12), "expires": "2027-01-31", "daysLeft": 30})
	deliver(t, a, p, m, loyalty.NoteTierChanged, "2026-12-31", "Your tier is now silver",
		map[string]any{"from": "gold", "to": "silver", "reviewedOn": "2026-12-31", "entryKey": "k"})
	// Stored by the jobs before the program had locales, with an English
	// title: its kind and data render it in the member's language now.
	deliver(t, a, p, m, loyalty.NotePointsExpired, "2026-01-31", "5 points expired",
		map[string]any{"points": int64(5), "expiredBefore": "2026-01-31", "lots": []map[string]any{{"expires": "2026-01-31", "points": int64(5)}}, "entryKey": "e:2026-01-31"})

	base := asMember(sample(t, "member/list-notifications.json"), m)
	cases := []struct {
		accept, wantLang string
		want             map[string]string
	}{
		{"nl", "nl", map[string]string{"expiring-2027-01-31": "12 punten vervallen op 31 januari 2027", "tier-2026-12-31": "Je niveau is nu Zilver",
			"expired-2026-01-31": "5 punten zijn vervallen"}},
		{"de-DE,de;q=0.9", "de", map[string]string{"expiring-2027-01-31": "12 Punkte verfallen am 31. Januar 2027", "tier-2026-12-31": "Dein Status ist jetzt Silber",
			"expired-2026-01-31": "5 Punkte sind verfallen"}},
		{"hu-HU", "hu", map[string]string{"expiring-2027-01-31": "12 pontod lejár: 2027. január 31.", "tier-2026-12-31": "Új szinted: Ezüst",
			"expired-2026-01-31": "5 pont lejárt"}},
		{"es", "en", map[string]string{"expiring-2027-01-31": "12 points expire on January 31, 2027", "tier-2026-12-31": "Your tier is now Silver",
			"expired-2026-01-31": "5 points expired"}},
	}
	for _, c := range cases {
		resp, body := answer(t, a, withHeader(base, "accept-language", c.accept))
		if resp.StatusCode != 200 {
			t.Fatalf("%s: got %d %v", c.accept, resp.StatusCode, body)
		}
		if got := resp.Headers["Content-Language"]; got != c.wantLang {
			t.Errorf("%s: got Content-Language %q, want %q", c.accept, got, c.wantLang)
		}
		got := titles(t, body)
		for id, want := range c.want {
			if got[id] != want {
				t.Errorf("%s: %s: got %q, want %q", c.accept, id, got[id], want)
			}
		}
		// Kind and data stay as the job stored them, for apps that write their own text.
		for _, e := range body["notifications"].([]any) {
			n := e.(map[string]any)
			if n["id"] == "expiring-2027-01-31" && (n["kind"] != "points_expiring" || n["data"].(map[string]any)["points"] != float64(12)) {
				t.Errorf("%s: got kind %v data %v, want points_expiring with 12 points", c.accept, n["kind"], n["data"])
			}
		}
	}

	// The member's choice serves requests without Accept-Language (and the jobs).
	resp, body := answer(t, a, asMember(withBody(sample(t, "member/set-locale.json"), `{"locale":"hu-HU"}`), m))
	if resp.StatusCode != 200 || body["preferred"] != "hu" {
		t.Fatalf("set locale hu-HU: got %d %v, want 200 with hu", resp.StatusCode, body)
	}
	resp, body = answer(t, a, base)
	if got := titles(t, body)["expiring-2027-01-31"]; got != "12 pontod lejár: 2027. január 31." || resp.Headers["Content-Language"] != "hu" {
		t.Errorf("no Accept-Language after choosing hu: got %q in %q", got, resp.Headers["Content-Language"])
	}
	// ... but a request's own Accept-Language wins.
	_, body = answer(t, a, withHeader(base, "accept-language", "nl"))
	if got := titles(t, body)["expiring-2027-01-31"]; got != "12 punten vervallen op 31 januari 2027" {
		t.Errorf("nl over a choice of hu: got %q", got)
	}
	// Marking one read answers in the member's language too.
	read := asMember(withPath(sample(t, "member/mark-notification-read.json"), "tier-2026-12-31"), m)
	resp, body = answer(t, a, read)
	if resp.StatusCode != 200 || body["title"] != "Új szinted: Ezüst" {
		t.Errorf("mark read: got %d %v, want the title in hu", resp.StatusCode, body)
	}
}

// The title is rendered when read: a template corrected after the job ran
// applies to the notifications it stored before.
func TestCorrectedTemplateAppliesToPastNotifications(t *testing.T) {
	a, svc := memLocaleAPIs(t, "../../program.json")
	const m = "m-corrected"
	deliver(t, a, svc.Program, m, loyalty.NotePointsExpired, "2026-03-31", "1 points expired",
		map[string]any{"points": int64(1), "expiredBefore": "2026-03-31", "lots": []map[string]any{{"expires": "2026-03-31", "points": int64(1)}}, "entryKey": "e:2026-03-31"})
	corrected := *svc.Program
	texts := *corrected.Texts
	texts.Texts = map[string]loyalty.LocaleTexts{}
	for k, v := range svc.Program.Texts.Texts {
		texts.Texts[k] = v
	}
	nl := texts.Texts["nl"]
	nl.Messages = map[loyalty.NotificationKind]string{}
	for k, v := range svc.Program.Texts.Texts["nl"].Messages {
		nl.Messages[k] = v
	}
	nl.Messages[loyalty.NotePointsExpired] = "Er {points, plural, one {is # punt} other {zijn # punten}} vervallen"
	texts.Texts["nl"] = nl
	corrected.Texts = &texts
	if err := corrected.Validate(); err != nil {
		t.Fatal(err)
	}
	csvc := *svc
	csvc.Program = &corrected
	after := memAPIs{apis: apis{member: httpapi.NewMemberAPI(&csvc, a.store, slog.New(slog.NewJSONHandler(io.Discard, nil)))}, store: a.store}
	ev := withHeader(asMember(sample(t, "member/list-notifications.json"), m), "accept-language", "nl")
	_, body := answer(t, a, ev)
	if got := titles(t, body)["expired-2026-03-31"]; got != "1 punt is vervallen" {
		t.Errorf("before the correction: got %q", got)
	}
	_, body = answer(t, after, ev)
	if got := titles(t, body)["expired-2026-03-31"]; got != "Er is 1 punt vervallen" {
		t.Errorf("after the correction: got %q, want the corrected template", got)
	}
}

func TestErrorMessagesFollowTheLocale(t *testing.T) {
	a, _ := memLocaleAPIs(t, "../../program.json")
	redeem := withBody(asMember(sample(t, "member/create-redemption.json"), "m-poor"), `{"rewardId":"gift-card-25"}`)
	cases := []struct{ accept, lang, message string }{
		{"nl", "nl", "Je hebt niet genoeg punten voor deze beloning."},
		{"de-CH", "de", "Du hast nicht genug Punkte für diese Prämie."},
		{"hu", "hu", "Nincs elég pontod ehhez a jutalomhoz."},
	}
	for _, c := range cases {
		ev := withHeader(withHeader(redeem, "idempotency-key", "poor-"+c.lang), "accept-language", c.accept)
		resp, body := answer(t, a, ev)
		if resp.StatusCode != 422 || body["code"] != "insufficient_points" || body["message"] != c.message || resp.Headers["Content-Language"] != c.lang {
			t.Errorf("%s: got %d %v in %q, want 422 insufficient_points %q in %s", c.accept, resp.StatusCode, body, resp.Headers["Content-Language"], c.message, c.lang)
		}
	}
	// English, or a locale the program lacks: the engine's own message, which says more.
	for _, accept := range []string{"en", "ja"} {
		resp, body := answer(t, a, withHeader(withHeader(redeem, "idempotency-key", "poor-"+accept), "accept-language", accept))
		msg, _ := body["message"].(string)
		if resp.StatusCode != 422 || body["code"] != "insufficient_points" || msg == "" || msg == "Je hebt niet genoeg punten voor deze beloning." ||
			resp.Headers["Content-Language"] != "en" {
			t.Errorf("%s: got %d %v in %q, want the engine's English message", accept, resp.StatusCode, body, resp.Headers["Content-Language"])
		}
	}
	// A code the program gives no text for keeps its English message in every locale.
	resp, body := answer(t, a, withHeader(withQuery(asMember(sample(t, "member/list-rewards.json"), "m-poor"), "bogus", "1"), "accept-language", "hu"))
	if resp.StatusCode != 400 || body["code"] != "invalid_request" || body["message"] != "A kérés hibás." {
		t.Errorf("invalid request in hu: got %d %v", resp.StatusCode, body)
	}
}

func TestPreferredLocale(t *testing.T) {
	a, _ := memLocaleAPIs(t, "../../program.json")
	get := asMember(sample(t, "member/get-locale.json"), "m-pref")
	set := asMember(sample(t, "member/set-locale.json"), "m-pref")
	resp, body := answer(t, a, get)
	if resp.StatusCode != 200 || body["preferred"] != "" || body["default"] != "en" {
		t.Fatalf("before a choice: got %d %v", resp.StatusCode, body)
	}
	if av, _ := body["available"].([]any); len(av) != 4 || av[0] != "en" {
		t.Errorf("available: got %v, want en first of 4", body["available"])
	}
	// The program's nl serves nl-BE.
	if resp, body = answer(t, a, withBody(set, `{"locale":"nl-BE"}`)); resp.StatusCode != 200 || body["preferred"] != "nl" {
		t.Fatalf("set nl-BE: got %d %v, want nl", resp.StatusCode, body)
	}
	if _, body = answer(t, a, get); body["preferred"] != "nl" {
		t.Errorf("after the choice: got %v", body)
	}
	// The choice is the member's data: the export shows it.
	ex := sample(t, "admin/export-member.json")
	if status, body := a.call(t, withRawPath(ex, strings.Replace(ex.RawPath, "sample-member-1", "m-pref", 1))); status != 200 ||
		body["preferences"].(map[string]any)["locale"] != "nl" {
		t.Errorf("export: got %d %v, want the preferred locale nl", status, body["preferences"])
	}
	for _, bad := range []string{`{"locale":"ja"}`, `{"locale":"not a tag"}`, `{}`, `{"locale":5}`, `{"locale":"nl","x":1}`} {
		resp, body := answer(t, a, withBody(set, bad))
		if resp.StatusCode != 400 {
			t.Errorf("%s: got %d %v, want 400", bad, resp.StatusCode, body)
		}
	}
	if _, body = answer(t, a, get); body["preferred"] != "nl" {
		t.Errorf("a refused choice changed it: got %v", body)
	}
	if resp, body = answer(t, a, withBody(set, `{"locale":""}`)); resp.StatusCode != 200 || body["preferred"] != "" {
		t.Errorf("clearing: got %d %v", resp.StatusCode, body)
	}
	if resp, body = answer(t, a, withQuery(get, "bogus", "1")); resp.StatusCode != 400 {
		t.Errorf("unknown query: got %d %v", resp.StatusCode, body)
	}
}

func TestStampCardsInTheLanguageAskedFor(t *testing.T) {
	a, _ := memLocaleAPIs(t, "../../program.json")
	for accept, want := range map[string]string{"de": "7 Kaffee kaufen, der 8. ist gratis", "hu-HU": "Vegyél 7 kávét, a 8. ingyen van",
		"": "Buy 7 coffees, the 8th is free"} {
		ev := asMember(sample(t, "member/get-me.json"), "m-card")
		if accept != "" {
			ev = withHeader(ev, "accept-language", accept)
		}
		resp, body := answer(t, a, ev)
		cards, _ := body["stampCards"].([]any)
		if resp.StatusCode != 200 || len(cards) != 1 || cards[0].(map[string]any)["name"] != want {
			t.Errorf("%q: got %d %v, want the card named %q", accept, resp.StatusCode, body["stampCards"], want)
		}
	}
}
