package config_test

import (
	"os"
	"strings"
	"testing"

	"github.com/loyalty-functions/loyalty/shared/config"
)

// The repository's program file is valid: a broken one would never deploy.
func TestRepositoryProgramIsValid(t *testing.T) {
	p, err := config.ReadProgram("../../program.json")
	if err != nil {
		t.Fatalf("program.json: %v", err)
	}
	if len(p.Rewards) == 0 || len(p.Tiers.Levels) == 0 || len(p.StampCards) == 0 || len(p.Promotions) == 0 {
		t.Errorf("program.json: want rewards, tiers, stamp cards and promotions in the demo, got %d %d %d %d",
			len(p.Rewards), len(p.Tiers.Levels), len(p.StampCards), len(p.Promotions))
	}
}

// Each invalid program file gets a precise message: the file, the field and
// what is wrong.
func TestInvalidProgramFiles(t *testing.T) {
	valid, err := os.ReadFile("../../program.json")
	if err != nil {
		t.Fatal(err)
	}
	edit := func(old, new string) string {
		if !strings.Contains(string(valid), old) {
			t.Fatalf("test setup: %q is not in program.json", old)
		}
		return strings.Replace(string(valid), old, new, 1)
	}
	cases := []struct {
		name, file, want string
	}{
		{"not JSON", `{"version": 1,`, "p.json: unexpected EOF"},
		{"unknown field", edit(`"refund": "negative_balance",`, `"refund": "negative_balance", "bonus": 5,`), `p.json: json: unknown field "bonus"`},
		{"wrong version", edit(`"version": 1,`, `"version": 2,`), "p.json: version: must be 1"},
		{"unknown currency", edit(`"currency": "EUR",`, `"currency": "EURO",`), `p.json: currency: unknown ISO 4217 currency "EURO"`},
		{"unknown timezone", edit(`"timezone": "Europe/Berlin"`, `"timezone": "Europe/Atlantis"`), `p.json: timezone: unknown IANA timezone "Europe/Atlantis"`},
		{"zero earn denominator", edit(`"perMinor": 100`, `"perMinor": 0`), "p.json: earn.perMinor: must be between 1 and"},
		{"unknown rounding", edit(`"rounding": "down"`, `"rounding": "bankers"`), `p.json: earn.rounding: must be one of down, half_up, up; got "bankers"`},
		{"negative expiry", edit(`"months": 12`, `"months": -1`), "p.json: expiry.months: must be between 0 (never) and 120, got -1"},
		{"unknown refund policy", edit(`"refund": "negative_balance"`, `"refund": "forgive"`), `p.json: refund: must be "negative_balance" or "record_debt", got "forgive"`},
		{"multiplier with 4 decimals", edit(`"multiplier": "1.5" }`, `"multiplier": "1.5555" }`), "p.json: earn.skus.LATTE-XL.multiplier: must be a non-negative decimal with at most 3 decimals"},
		{"category both excluded and multiplied", edit(`"gift-card": { "exclude": true }`, `"gift-card": { "exclude": true, "multiplier": "2" }`), `p.json: earn.categories.gift-card: "gift-card" is excluded and has a multiplier`},
		{"promotion ends before it starts", edit(`"from": "2026-01-01",
      "days"`, `"from": "2026-01-01", "until": "2025-12-31",
      "days"`), "p.json: promotions[0].until: ends (2025-12-31) before it starts (2026-01-01)"},
		{"promotion on an unknown day", edit(`"days": ["MON",`, `"days": ["MONDAY",`), `p.json: promotions[0].days[0]: "MONDAY" is not one of MON TUE WED THU FRI SAT SUN`},
		{"promotion hours reversed", edit(`"hours": { "from": "14:00", "until": "17:00" }`, `"hours": { "from": "17:00", "until": "14:00" }`), "p.json: promotions[0].hours.until: the window must end after it starts (17:00-14:00)"},
		{"promotion hour out of range", edit(`"from": "14:00"`, `"from": "25:00"`), `p.json: promotions[0].hours.from: "25:00" is not a local time HH:MM`},
		{"promotion that gives nothing", edit(`"until": "17:00" }, "multiplier": "2"`, `"until": "17:00" }, "multiplier": "1"`), `p.json: promotions[0]: promotion "happy-hour" gives nothing`},
		{"duplicate promotion", edit(`"id": "welcome-bonus"`, `"id": "happy-hour"`), `p.json: promotions[1].id: promotion "happy-hour" is listed twice`},
		{"tier thresholds not increasing", edit(`"threshold": 1500`, `"threshold": 400`), "p.json: tiers.levels[2].threshold: thresholds must increase: 400 is not above 500"},
		{"base tier with a threshold", edit(`"threshold": 0`, `"threshold": 10`), "p.json: tiers.levels[0].threshold: the first tier is the base tier: its threshold must be 0, got 10"},
		{"unknown tier window", edit(`"window": "rolling_12_months"`, `"window": "forever"`), `p.json: tiers.window: must be "rolling_12_months" or "calendar_year", got "forever"`},
		{"stamp card with an unknown reward", edit(`"rewardId": "free-coffee"`, `"rewardId": "free-tea"`), `p.json: stampCards[0].rewardId: reward "free-tea" is not in the program's rewards`},
		{"stamp card of 0 stamps", edit(`"stamps": 7`, `"stamps": 0`), "p.json: stampCards[0].stamps: must be between 1 and 100, got 0"},
		{"stamp card refund policy", edit(`"onRefund": "revoke_reward"`, `"onRefund": "ignore"`), `p.json: stampCards[0].onRefund: must be "remove_stamp" or "revoke_reward", got "ignore"`},
		{"reward in another currency", edit(`"amountMinor": 500, "currency": "EUR"`, `"amountMinor": 500, "currency": "USD"`), `p.json: rewards[1].value.currency: reward "five-off" is valued in USD, the program's currency is EUR`},
		{"reward with a negative cost", edit(`"cost": 20`, `"cost": -20`), "p.json: rewards[0].cost: cost must be between 0 and"},
		{"referral cap of 0", edit(`"monthlyCapPerReferrer": 5`, `"monthlyCapPerReferrer": 0`), "p.json: referral.monthlyCapPerReferrer: must be at least 1, got 0"},
		{"feedback comment length", edit(`"maxCommentLength": 1000`, `"maxCommentLength": 0`), "p.json: feedback.maxCommentLength: must be between 1 and 5000, got 0"},
		{"partner listed twice", edit(`"id": "demo-webshop"`, `"id": "demo-coffee-berlin"`), `p.json: partners[1].id: partner "demo-coffee-berlin" is listed twice`},
		{"limits without a policy", edit(`"onExcess": "cap",`, ``), `p.json: limits.onExcess: must be "refuse" or "cap", got ""`},
		{"limits of an unknown source", edit(`"adjustments": { "day": 10000 }`, `"logins": { "day": 10000 }`), `p.json: limits.perMember.logins: unknown source "logins"`},
		{"month cap below the day cap", edit(`"adjustments": { "day": 10000 }`, `"adjustments": { "day": 10000, "month": 500 }`), "p.json: limits.perMember.adjustments.month: the month cap 500 is below the day cap 10000"},
		{"negative partner maximum", edit(`"id": "demo-webshop"`, `"id": "demo-webshop", "maxPurchaseMinor": -5`), "p.json: partners[1].maxPurchaseMinor: must be between 1 and"},
		{"sender not an account", edit(`"senders": ["777788889999"]`, `"senders": ["12345"]`), `p.json: partners[1].senders[0]: sender "12345" of partner "demo-webshop" must be a 12-digit AWS account id or an IAM role or user ARN`},
		{"sender a wildcard", edit(`"senders": ["777788889999"]`, `"senders": ["111122223333", "*"]`), `p.json: partners[1].senders[1]: sender "*" of partner "demo-webshop"`},
		{"sender an S3 ARN", edit(`"senders": ["777788889999"]`, `"senders": ["arn:aws:s3:::bucket"]`), `p.json: partners[1].senders[0]: sender "arn:aws:s3:::bucket"`},
		{"sender twice", edit(`"senders": ["777788889999"]`, `"senders": ["arn:aws:iam::111122223333:role/pos", "arn:aws:iam::111122223333:role/pos"]`), `p.json: partners[1].senders[1]: sender "arn:aws:iam::111122223333:role/pos" of partner "demo-webshop" is listed twice`},
		// Texts in the members' languages (locales): the file, the field and the reason.
		{"template with an unknown placeholder", edit(`"tier_changed": "Your tier is now {to}"`, `"tier_changed": "Your tier is now {level}"`),
			"p.json: locales.texts.en.messages.tier_changed: unknown placeholder {level}: tier_changed offers {from} {to} {reviewedOn}"},
		{"translated template with an unknown placeholder", edit(`"points_expired": "{points} pont lejárt"`, `"points_expired": "{pont} pont lejárt"`),
			"p.json: locales.texts.hu.messages.points_expired: unknown placeholder {pont}: points_expired offers {points} {expiredBefore}"},
		{"template of an unknown kind", edit(`"tier_changed": "Dein Status ist jetzt {to}"`, `"tier_promoted": "Dein Status ist jetzt {to}"`),
			`p.json: locales.texts.de.messages.tier_promoted: "tier_promoted" is not a notification kind`},
		{"plural without other", edit(`{points, plural, one {# punt is} other {# punten zijn}}`, `{points, plural, one {# punt is}}`),
			`p.json: locales.texts.nl.messages.points_expired: plural of points at 1 has no "other" form`},
		{"plural of a date", edit(`on {expires}"`, `on {expires, plural, one {a day} other {days}}"`),
			"p.json: locales.texts.en.messages.points_expiring: {expires} is a date: a plural selects on a number"},
		{"plural category English never uses", edit(`"{points, plural, one {# point} other {# points}} expired"`, `"{points, plural, zero {no points} one {# point} other {# points}} expired"`),
			`p.json: locales.texts.en.messages.points_expired: plural form "zero" of {points} never applies in en (its CLDR forms: one, other); use =N`},
		{"exact zero is fine", edit(`"{points, plural, one {# point} other {# points}} expired"`, `"{points, plural, =0 {no points} one {# point} other {# points}} expired"`), ""},
		{"unclosed placeholder", edit(`"tier_changed": "Je niveau is nu {to}"`, `"tier_changed": "Je niveau is nu {to"`),
			"p.json: locales.texts.nl.messages.tier_changed: placeholder at 17 is not closed with '}'"},
		{"text of an unknown reward", edit(`"free-coffee": { "name": "Gratis koffie"`, `"free-tea": { "name": "Gratis koffie"`),
			`p.json: locales.texts.nl.rewards.free-tea: rewards has no "free-tea"`},
		{"text of an unknown tier", edit(`"gold": { "name": "Arany" }`, `"platinum": { "name": "Platina" }`),
			`p.json: locales.texts.hu.tiers.platinum: tiers has no "platinum"`},
		{"locale CLDR does not know", edit(`"hu": {`, `"zz": {`), `p.json: locales.texts.zz: "zz" is not a locale CLDR knows`},
		{"locale that is no tag", edit(`"default": "en"`, `"default": "English"`), `p.json: locales.default: "English" is not a locale CLDR knows`},
		{"error text of an unknown code", edit(`"insufficient_points": "Je hebt`, `"no_points": "Je hebt`),
			`p.json: locales.texts.nl.errors.no_points: "no_points" is not an error code of the engine`},
	}
	if len(cases) < 15 {
		t.Fatalf("got %d cases, want at least 15", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := config.ParseProgram("p.json", []byte(c.file))
			if c.want == "" {
				if err != nil {
					t.Fatalf("got %v, want the file valid", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("got no error, want %q", c.want)
			}
			if !strings.HasPrefix(err.Error(), c.want) {
				t.Errorf("got %q, want it to start with %q", err.Error(), c.want)
			}
		})
	}
}
