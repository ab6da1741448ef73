package locale

import (
	"fmt"
	"strings"

	"golang.org/x/text/feature/plural"
	"golang.org/x/text/language"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// Check finds what only language data can: a locale CLDR does not know, and
// a plural form whose category never applies to a whole number in the
// template's language (English has no "zero": an exact zero is "=0").
// Errors read "locales.texts.en.messages.points_expired: ..." like the
// domain's, as *loyalty.Error with the field.
func Check(p *loyalty.Program) error {
	if p.Texts == nil {
		return nil
	}
	if _, err := language.Parse(p.Texts.Default); err != nil {
		return loyalty.Invalid("locales.default", "%q is not a locale CLDR knows: %v", p.Texts.Default, err)
	}
	for _, loc := range p.Locales() {
		tag, err := language.Parse(loc)
		if err != nil {
			return loyalty.Invalid("locales.texts."+loc, "%q is not a locale CLDR knows: %v", loc, err)
		}
		t := p.Texts.Texts[loc]
		forms := categories(tag)
		for _, kind := range loyalty.NotificationKinds {
			src := t.Messages[kind]
			if src == "" {
				continue
			}
			tmpl, err := loyalty.ParseTemplate(src)
			if err != nil {
				continue // the domain reported it
			}
			for _, part := range tmpl.Parts {
				for _, pc := range part.Plural {
					if !strings.HasPrefix(pc.Selector, "=") && !forms[pc.Selector] {
						return loyalty.Invalid(fmt.Sprintf("locales.texts.%s.messages.%s", loc, kind),
							"plural form %q of {%s} never applies in %s (its CLDR forms: %s); use =N for an exact number",
							pc.Selector, part.Name, loc, formList(forms))
					}
				}
			}
		}
	}
	return nil
}

// categories are the CLDR plural categories whole numbers take in tag.
// Numbers in notifications are whole, so a category only fractions take
// ("many" of 1.5 in some languages) is left out; the samples reach every
// integer rule CLDR has (they repeat within 0-1000, or at a million).
func categories(tag language.Tag) map[string]bool {
	out := map[string]bool{}
	names := map[plural.Form]string{plural.Zero: "zero", plural.One: "one", plural.Two: "two", plural.Few: "few", plural.Many: "many", plural.Other: "other"}
	for i := 0; i <= 1000; i++ {
		out[names[plural.Cardinal.MatchPlural(tag, i, 0, 0, 0, 0)]] = true
	}
	out[names[plural.Cardinal.MatchPlural(tag, 1_000_000, 0, 0, 0, 0)]] = true
	return out
}

func formList(forms map[string]bool) string {
	var out []string
	for _, c := range loyalty.PluralCategories {
		if forms[c] {
			out = append(out, c)
		}
	}
	return strings.Join(out, ", ")
}
