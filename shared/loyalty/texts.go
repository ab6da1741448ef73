package loyalty

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Texts of the program in the members' languages. The names in the rules
// (rewards[i].name, tiers.levels[i].name, ...) are the texts of the default
// locale and what ops see; "locales" adds the other languages:
//
//	"locales": {
//	  "default": "en",
//	  "texts": {
//	    "en": { "messages": { "points_expiring": "{points, plural, one {# point expires} other {# points expire}} on {expires}" } },
//	    "nl": { "rewards": { "free-coffee": { "name": "Gratis koffie", "description": "..." } },
//	            "tiers": { "gold": { "name": "Goud" } },
//	            "messages": { "points_expiring": "Op {expires} {points, plural, one {vervalt # punt} other {vervallen # punten}}" },
//	            "errors": { "insufficient_points": "Je hebt niet genoeg punten." } }
//	  }
//	}
//
// A text a locale lacks falls back to the default locale's, and a message
// template the default lacks to the built-in English one, so a program file
// without "locales" speaks English as before. Rendering (plural rules,
// number and date formats) is not the domain's: package locale does it with
// golang.org/x/text; this file holds the texts, the template syntax and the
// checks that need no language data.

// DefaultLocale is the locale of a program file without "locales".
const DefaultLocale = "en"

// Locales are the program's languages and its texts in each.
type Locales struct {
	Default string                 `json:"default"`
	Texts   map[string]LocaleTexts `json:"texts,omitempty"` // by locale (BCP 47: "nl", "de-AT")
}

// LocaleTexts are the texts of one locale. Names and descriptions are keyed
// by the id of what they name.
type LocaleTexts struct {
	Rewards    map[string]EntityText       `json:"rewards,omitempty"`
	StampCards map[string]EntityText       `json:"stampCards,omitempty"`
	Promotions map[string]EntityText       `json:"promotions,omitempty"`
	Tiers      map[string]EntityText       `json:"tiers,omitempty"`
	Classes    map[string]EntityText       `json:"classes,omitempty"` // engagement classes, by name
	Messages   map[NotificationKind]string `json:"messages,omitempty"`
	Errors     map[Code]string             `json:"errors,omitempty"` // human messages of error codes
}

// EntityText is the name and description of one thing in one locale.
type EntityText struct {
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
}

// TextOf names a family of named things of the program.
type TextOf string

const (
	TextRewards    TextOf = "rewards"
	TextStampCards TextOf = "stampCards"
	TextPromotions TextOf = "promotions"
	TextTiers      TextOf = "tiers"
	TextClasses    TextOf = "classes"
)

func (t LocaleTexts) of(of TextOf) map[string]EntityText {
	switch of {
	case TextRewards:
		return t.Rewards
	case TextStampCards:
		return t.StampCards
	case TextPromotions:
		return t.Promotions
	case TextTiers:
		return t.Tiers
	case TextClasses:
		return t.Classes
	}
	return nil
}

// DefaultLocale is the program's default locale ("en" without "locales").
func (p *Program) DefaultLocale() string {
	if p.Texts == nil || p.Texts.Default == "" {
		return DefaultLocale
	}
	return p.Texts.Default
}

// Locales lists the program's locales, the default first, the rest sorted.
func (p *Program) Locales() []string {
	def := p.DefaultLocale()
	out := []string{def}
	if p.Texts != nil {
		for _, l := range sortedKeys(p.Texts.Texts) {
			if l != def {
				out = append(out, l)
			}
		}
	}
	return out
}

func (p *Program) texts(locale string) (LocaleTexts, bool) {
	if p.Texts == nil {
		return LocaleTexts{}, false
	}
	t, ok := p.Texts.Texts[locale]
	return t, ok
}

// Name is the name of the thing id of family of in locale: the locale's
// text, else the default locale's name, which is fallback (the name in the
// rules) unless the default locale's texts give one.
func (p *Program) Name(locale string, of TextOf, id, fallback string) string {
	if t, ok := p.texts(locale); ok {
		if e := t.of(of)[id]; e.Name != "" {
			return e.Name
		}
	}
	if t, ok := p.texts(p.DefaultLocale()); ok {
		if e := t.of(of)[id]; e.Name != "" {
			return e.Name
		}
	}
	return fallback
}

// Description is the description of the thing id in locale, falling back to
// the default locale's; "" when neither has one.
func (p *Program) Description(locale string, of TextOf, id string) string {
	for _, l := range []string{locale, p.DefaultLocale()} {
		if t, ok := p.texts(l); ok {
			if d := t.of(of)[id].Description; d != "" {
				return d
			}
		}
	}
	return ""
}

// MessageTemplate is the template of a notification kind in locale and the
// locale it comes from: the locale's own, else the default locale's, else
// the built-in English one.
func (p *Program) MessageTemplate(locale string, kind NotificationKind) (template, from string) {
	for _, l := range []string{locale, p.DefaultLocale()} {
		if t, ok := p.texts(l); ok {
			if m := t.Messages[kind]; m != "" {
				return m, l
			}
		}
	}
	return BuiltinMessages[kind], DefaultLocale
}

// ErrorText is the program's human message for an error code in locale, or
// false when the program has none there (the engine's English message then
// stands). It does not fall back to the default locale: an English client
// asking in English keeps the engine's detailed message.
func (p *Program) ErrorText(locale string, code Code) (string, bool) {
	t, ok := p.texts(locale)
	if !ok {
		return "", false
	}
	m, ok := t.Errors[code]
	return m, ok && m != ""
}

// BuiltinMessages are the English templates of the notification kinds, used
// when the program's default locale has none.
var BuiltinMessages = map[NotificationKind]string{
	NotePointsExpiring:   "{points, plural, one {# point expires} other {# points expire}} on {expires}",
	NoteRewardExpiring:   "Your {reward} is valid until {validUntil}",
	NoteRewardAffordable: "You can now afford {reward}",
	NotePointsExpired:    "{points, plural, one {# point} other {# points}} expired",
	NoteClassChanged:     "Your member status is now {to}",
	NoteWinBackOffered:   "We miss you: {points, plural, one {# bonus point} other {# bonus points}}",
	NoteTierChanged:      "Your tier is now {to}",
	NoteRefereeBonus:     "Welcome: {points, plural, one {# bonus point} other {# bonus points}} for joining with a referral",
	NoteReferrerBonus:    "{points, plural, =0 {A member you referred made their first purchase} one {# bonus point for your referral} other {# bonus points for your referral}}",
	NoteReferralClawback: "{points, plural, one {# referral bonus point was} other {# referral bonus points were}} taken back: the purchase was refunded",
	NoteFeedbackBonus:    "Thank you for your feedback: {points, plural, one {# bonus point} other {# bonus points}}",
}

// NotificationKinds are every kind of notification, in a stable order.
var NotificationKinds = []NotificationKind{NotePointsExpiring, NoteRewardExpiring, NoteRewardAffordable,
	NotePointsExpired, NoteClassChanged, NoteWinBackOffered, NoteTierChanged,
	NoteRefereeBonus, NoteReferrerBonus, NoteReferralClawback, NoteFeedbackBonus}

// ErrorCodes are the domain's error codes a program may give texts for.
var ErrorCodes = []Code{CodeInvalid, CodeNotFound, CodeInsufficientPoints, CodeIdempotencyReuse, CodeConflict,
	CodeLimitExceeded, CodeMemberErased, CodeUnauthorized, CodeForbidden, CodeUnavailable, CodeInternal,
	CodeSelfReferral, CodeReferralLoop, CodeAlreadyReferred, CodeAlreadyPurchased}

// ParamKind is what a placeholder holds, which says how it is rendered.
type ParamKind string

const (
	ParamNumber ParamKind = "number" // a count, in the locale's digits; the only kind a plural selects on
	ParamDate   ParamKind = "date"   // a calendar day, in the locale's date format
	ParamReward ParamKind = "reward" // a reward id, shown by its name in the locale
	ParamTier   ParamKind = "tier"   // a tier id, shown by its name in the locale
	ParamClass  ParamKind = "class"  // an engagement class, shown by its name in the locale
)

// Placeholder is one value a template of a kind may show.
type Placeholder struct {
	Name string
	Kind ParamKind
}

// placeholders are what each kind's data offers its templates; the names are
// the data's keys except reward (from rewardId, or the last of rewards) and
// count (how many rewards).
var placeholders = map[NotificationKind][]Placeholder{
	NotePointsExpiring:   {{"points", ParamNumber}, {"expires", ParamDate}, {"daysLeft", ParamNumber}},
	NoteRewardExpiring:   {{"reward", ParamReward}, {"validUntil", ParamDate}, {"daysLeft", ParamNumber}},
	NoteRewardAffordable: {{"reward", ParamReward}, {"count", ParamNumber}, {"balance", ParamNumber}},
	NotePointsExpired:    {{"points", ParamNumber}, {"expiredBefore", ParamDate}},
	NoteClassChanged:     {{"from", ParamClass}, {"to", ParamClass}, {"purchases", ParamNumber}, {"recencyDays", ParamNumber}},
	NoteWinBackOffered:   {{"points", ParamNumber}, {"lastActive", ParamDate}},
	NoteTierChanged:      {{"from", ParamTier}, {"to", ParamTier}, {"reviewedOn", ParamDate}},
	NoteRefereeBonus:     {{"points", ParamNumber}},
	NoteReferrerBonus:    {{"points", ParamNumber}, {"monthlyCap", ParamNumber}},
	NoteReferralClawback: {{"points", ParamNumber}},
	NoteFeedbackBonus:    {{"points", ParamNumber}, {"rating", ParamNumber}},
}

// Placeholders lists what templates of kind may name, in a stable order.
func (k NotificationKind) Placeholders() []Placeholder { return placeholders[k] }

func (k NotificationKind) placeholder(name string) (Placeholder, bool) {
	for _, ph := range placeholders[k] {
		if ph.Name == name {
			return ph, true
		}
	}
	return Placeholder{}, false
}

// Param is the value of one placeholder of a notification.
type Param struct {
	Kind   ParamKind
	Number int64
	Date   Date
	ID     string // reward, tier or class
	Name   string // the name the data carries (a reward's name when it was issued)
}

// Params are the values of the kind's placeholders that n's data holds. A
// notification stored before a field existed lacks it; a template naming
// it cannot render that notification, which then shows its stored title.
func (n Notification) Params() map[string]Param {
	out := map[string]Param{}
	for _, ph := range n.Kind.Placeholders() {
		key := ph.Name
		switch {
		case n.Kind == NoteRewardExpiring && key == "reward":
			id, _ := n.Data["rewardId"].(string)
			name, _ := n.Data["rewardName"].(string)
			if id != "" || name != "" {
				out[key] = Param{Kind: ParamReward, ID: id, Name: name}
			}
			continue
		case n.Kind == NoteRewardAffordable && (key == "reward" || key == "count"):
			list := mapsOf(n.Data["rewards"])
			if len(list) == 0 {
				continue
			}
			if key == "count" {
				out[key] = Param{Kind: ParamNumber, Number: int64(len(list))}
				continue
			}
			top := list[len(list)-1] // the jobs list rewards in catalog order, the dearest last
			id, _ := top["rewardId"].(string)
			name, _ := top["name"].(string)
			out[key] = Param{Kind: ParamReward, ID: id, Name: name}
			continue
		}
		v, ok := n.Data[key]
		if !ok {
			continue
		}
		switch ph.Kind {
		case ParamNumber:
			if num, ok := numberOf(v); ok {
				out[key] = Param{Kind: ParamNumber, Number: num}
			}
		case ParamDate:
			if s, ok := v.(string); ok {
				if d, err := ParseDate(s); err == nil {
					out[key] = Param{Kind: ParamDate, Date: d}
				}
			}
		default:
			if s, ok := v.(string); ok {
				out[key] = Param{Kind: ph.Kind, ID: s, Name: s}
			}
		}
	}
	return out
}

// numberOf reads a number of a notification's data as the stores give it
// back: int64 in memory, float64 or a decimal string after a round trip.
func numberOf(v any) (int64, bool) {
	switch n := v.(type) {
	case int:
		return int64(n), true
	case int64:
		return n, true
	case int32:
		return int64(n), true
	case float64:
		if n != float64(int64(n)) {
			return 0, false
		}
		return int64(n), true
	case fmt.Stringer: // json.Number
		var x int64
		if _, err := fmt.Sscan(n.String(), &x); err == nil {
			return x, true
		}
	}
	return 0, false
}

func mapsOf(v any) []map[string]any {
	switch l := v.(type) {
	case []map[string]any:
		return l
	case []any:
		out := make([]map[string]any, 0, len(l))
		for _, e := range l {
			if m, ok := e.(map[string]any); ok {
				out = append(out, m)
			}
		}
		return out
	}
	return nil
}

// Template is a parsed message template. The syntax is a small part of ICU
// MessageFormat: {name} shows a placeholder; {name, plural, one {# punt}
// other {# punten}} picks a form by the locale's CLDR plural category of a
// number (zero, one, two, few, many, other, or =N for an exact value),
// where # is the number; "other" is required. Braces are not literal text.
type Template struct {
	Parts []TemplatePart
}

// TemplatePart is literal text, a placeholder, or a plural of a placeholder.
type TemplatePart struct {
	Text   string
	Name   string       // a placeholder; with Plural, the number it selects on
	Plural []PluralCase // set for a plural
}

// PluralCase is one form of a plural: "one", "other", "=0".
type PluralCase struct {
	Selector string
	Parts    []TemplatePart
}

// Names lists the placeholders the template names, in order of appearance.
func (t Template) Names() []string {
	var out []string
	var walk func([]TemplatePart)
	walk = func(ps []TemplatePart) {
		for _, p := range ps {
			if p.Name != "" {
				out = append(out, p.Name)
			}
			for _, c := range p.Plural {
				walk(c.Parts)
			}
		}
	}
	walk(t.Parts)
	return out
}

// ParseTemplate parses a message template (see Template).
func ParseTemplate(s string) (Template, error) {
	tp := templateParser{s: s}
	parts, err := tp.parts("", false)
	if err != nil {
		return Template{}, err
	}
	return Template{Parts: parts}, nil
}

type templateParser struct {
	s   string
	pos int
}

// parts reads up to the end, or up to the '}' closing a plural case when
// inCase (number is the plural's placeholder, which # shows).
func (tp *templateParser) parts(number string, inCase bool) ([]TemplatePart, error) {
	var out []TemplatePart
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			out = append(out, TemplatePart{Text: lit.String()})
			lit.Reset()
		}
	}
	for tp.pos < len(tp.s) {
		c := tp.s[tp.pos]
		switch {
		case c == '}':
			if !inCase {
				return nil, fmt.Errorf("unexpected '}' at %d (braces are not literal text)", tp.pos+1)
			}
			tp.pos++
			flush()
			return out, nil
		case c == '#' && inCase:
			tp.pos++
			flush()
			out = append(out, TemplatePart{Name: number})
		case c == '{':
			flush()
			part, err := tp.placeholder(inCase)
			if err != nil {
				return nil, err
			}
			out = append(out, part)
		default:
			lit.WriteByte(c)
			tp.pos++
		}
	}
	if inCase {
		return nil, fmt.Errorf("a plural form is not closed with '}'")
	}
	flush()
	return out, nil
}

func (tp *templateParser) placeholder(inCase bool) (TemplatePart, error) {
	start := tp.pos
	tp.pos++ // '{'
	end := strings.IndexAny(tp.s[tp.pos:], ",}{")
	if end < 0 || tp.s[tp.pos+end] == '{' {
		return TemplatePart{}, fmt.Errorf("placeholder at %d is not closed with '}'", start+1)
	}
	name := strings.TrimSpace(tp.s[tp.pos : tp.pos+end])
	if !validPlaceholderName(name) {
		return TemplatePart{}, fmt.Errorf("placeholder at %d: %q is not a name (letters and digits)", start+1, name)
	}
	tp.pos += end
	if tp.s[tp.pos] == '}' {
		tp.pos++
		return TemplatePart{Name: name}, nil
	}
	tp.pos++ // ','
	end = strings.IndexByte(tp.s[tp.pos:], ',')
	if end < 0 {
		return TemplatePart{}, fmt.Errorf("placeholder {%s, ...} at %d: want {%s, plural, one {...} other {...}}", name, start+1, name)
	}
	if kw := strings.TrimSpace(tp.s[tp.pos : tp.pos+end]); kw != "plural" {
		return TemplatePart{}, fmt.Errorf("placeholder {%s, %s, ...} at %d: only plural is supported", name, kw, start+1)
	}
	if inCase {
		return TemplatePart{}, fmt.Errorf("plural of %s at %d is inside another plural", name, start+1)
	}
	tp.pos += end + 1
	part := TemplatePart{Name: name}
	seen := map[string]bool{}
	for {
		for tp.pos < len(tp.s) && tp.s[tp.pos] == ' ' {
			tp.pos++
		}
		if tp.pos >= len(tp.s) {
			return TemplatePart{}, fmt.Errorf("plural of %s at %d is not closed with '}'", name, start+1)
		}
		if tp.s[tp.pos] == '}' {
			tp.pos++
			break
		}
		open := strings.IndexByte(tp.s[tp.pos:], '{')
		if open < 0 {
			return TemplatePart{}, fmt.Errorf("plural of %s at %d: a form needs {text}", name, start+1)
		}
		sel := strings.TrimSpace(tp.s[tp.pos : tp.pos+open])
		if !validPluralSelector(sel) {
			return TemplatePart{}, fmt.Errorf("plural of %s: %q is not a plural category (zero, one, two, few, many, other) or =N", name, sel)
		}
		if seen[sel] {
			return TemplatePart{}, fmt.Errorf("plural of %s: form %q is given twice", name, sel)
		}
		seen[sel] = true
		tp.pos += open + 1
		body, err := tp.parts(name, true)
		if err != nil {
			return TemplatePart{}, err
		}
		part.Plural = append(part.Plural, PluralCase{Selector: sel, Parts: body})
	}
	if !seen["other"] {
		return TemplatePart{}, fmt.Errorf("plural of %s at %d has no \"other\" form, which every language needs", name, start+1)
	}
	return part, nil
}

func validPlaceholderName(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// PluralCategories are CLDR's plural categories.
var PluralCategories = []string{"zero", "one", "two", "few", "many", "other"}

func validPluralSelector(s string) bool {
	if rest, ok := strings.CutPrefix(s, "="); ok {
		return rest != "" && len(rest) <= 9 && isDigits(rest)
	}
	for _, c := range PluralCategories {
		if s == c {
			return true
		}
	}
	return false
}

// validLocale checks the shape of a BCP 47 tag ("nl", "de-AT", "zh-Hant");
// package locale checks that the language data knows it.
func validLocale(s string) bool {
	if len(s) < 2 || len(s) > 35 {
		return false
	}
	for i, sub := range strings.Split(s, "-") {
		if len(sub) < 2 || len(sub) > 8 {
			return false
		}
		for _, r := range sub {
			alpha := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
			if !(alpha || i > 0 && r >= '0' && r <= '9') {
				return false
			}
		}
	}
	return true
}

// validateLocales checks "locales": locale tags, that every text names a
// thing of the program, and that every template parses and names only the
// placeholders of its kind. Fields read "locales.texts.nl.messages.points_expiring".
func (p *Program) validateLocales() error {
	if p.Texts == nil {
		return nil
	}
	if !validLocale(p.Texts.Default) {
		return Invalid("locales.default", "must be a BCP 47 locale such as \"en\" or \"nl-BE\", got %q", p.Texts.Default)
	}
	known := map[TextOf]map[string]bool{TextRewards: {}, TextStampCards: {}, TextPromotions: {}, TextTiers: {}, TextClasses: {}}
	for _, r := range p.Rewards {
		known[TextRewards][r.ID] = true
	}
	for _, c := range p.StampCards {
		known[TextStampCards][c.ID] = true
	}
	for _, pr := range p.Promotions {
		known[TextPromotions][pr.ID] = true
	}
	for _, l := range p.Tiers.Levels {
		known[TextTiers][l.ID] = true
	}
	for _, c := range p.EngagementRules().Classes {
		known[TextClasses][c.Name] = true
	}
	codes := map[Code]bool{}
	for _, c := range ErrorCodes {
		codes[c] = true
	}
	for _, loc := range sortedKeys(p.Texts.Texts) {
		f := "locales.texts." + loc
		if !validLocale(loc) {
			return Invalid(f, "%q is not a BCP 47 locale such as \"en\" or \"nl-BE\"", loc)
		}
		t := p.Texts.Texts[loc]
		for _, of := range []TextOf{TextRewards, TextStampCards, TextPromotions, TextTiers, TextClasses} {
			for _, id := range sortedKeys(t.of(of)) {
				ff := fmt.Sprintf("%s.%s.%s", f, of, id)
				if !known[of][id] {
					return Invalid(ff, "%s has no %q (texts name what the program defines)", of, id)
				}
				e := t.of(of)[id]
				if e.Name == "" && e.Description == "" {
					return Invalid(ff, "give a name, a description or both")
				}
				if len(e.Name) > 200 {
					return Invalid(ff+".name", "at most 200 characters, got %d", len(e.Name))
				}
				if len(e.Description) > 2000 {
					return Invalid(ff+".description", "at most 2000 characters, got %d", len(e.Description))
				}
			}
		}
		for _, kind := range keysOf(t.Messages) {
			ff := fmt.Sprintf("%s.messages.%s", f, kind)
			if _, ok := BuiltinMessages[kind]; !ok {
				return Invalid(ff, "%q is not a notification kind (%s)", kind, kindList())
			}
			if err := CheckTemplate(kind, t.Messages[kind]); err != nil {
				return Invalid(ff, "%v", err)
			}
		}
		for _, code := range keysOf(t.Errors) {
			ff := fmt.Sprintf("%s.errors.%s", f, code)
			if !codes[code] {
				return Invalid(ff, "%q is not an error code of the engine", code)
			}
			if m := t.Errors[code]; strings.TrimSpace(m) == "" || len(m) > 500 {
				return Invalid(ff, "a message of 1-500 characters")
			}
		}
	}
	return nil
}

// CheckTemplate parses a template of kind and checks its placeholders: each
// must be one of the kind's, and a plural must select on a number.
func CheckTemplate(kind NotificationKind, src string) error {
	if strings.TrimSpace(src) == "" || len(src) > 500 {
		return fmt.Errorf("a template of 1-500 characters")
	}
	t, err := ParseTemplate(src)
	if err != nil {
		return err
	}
	var check func([]TemplatePart) error
	check = func(ps []TemplatePart) error {
		for _, part := range ps {
			if part.Name == "" {
				continue
			}
			ph, ok := kind.placeholder(part.Name)
			if !ok {
				return fmt.Errorf("unknown placeholder {%s}: %s offers %s", part.Name, kind, placeholderList(kind))
			}
			if part.Plural != nil {
				if ph.Kind != ParamNumber {
					return fmt.Errorf("{%s} is a %s: a plural selects on a number", part.Name, ph.Kind)
				}
				for _, c := range part.Plural {
					if err := check(c.Parts); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
	return check(t.Parts)
}

func placeholderList(kind NotificationKind) string {
	var names []string
	for _, ph := range kind.Placeholders() {
		names = append(names, "{"+ph.Name+"}")
	}
	return strings.Join(names, " ")
}

func kindList() string {
	names := make([]string, len(NotificationKinds))
	for i, k := range NotificationKinds {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

// LocaleFallbacks lists, for every locale but the default, the texts the
// default has that the locale lacks, each as "field: falls back to <locale>";
// empty when every locale covers the default. They are not errors: a
// member then reads that text in the default locale.
func (p *Program) LocaleFallbacks() []string {
	def := p.DefaultLocale()
	var out []string
	defTexts, _ := p.texts(def)
	for _, loc := range p.Locales()[1:] {
		t, _ := p.texts(loc)
		f := "locales.texts." + loc
		check := func(of TextOf, id string, hasName bool) {
			e := t.of(of)[id]
			if hasName && e.Name == "" {
				out = append(out, fmt.Sprintf("%s.%s.%s.name: missing, falls back to %s", f, of, id, def))
			}
			if defTexts.of(of)[id].Description != "" && e.Description == "" {
				out = append(out, fmt.Sprintf("%s.%s.%s.description: missing, falls back to %s", f, of, id, def))
			}
		}
		for _, r := range p.Rewards {
			check(TextRewards, r.ID, true)
		}
		for _, c := range p.StampCards {
			check(TextStampCards, c.ID, true)
		}
		for _, pr := range p.Promotions {
			check(TextPromotions, pr.ID, true)
		}
		for _, l := range p.Tiers.Levels {
			check(TextTiers, l.ID, true)
		}
		for _, c := range p.EngagementRules().Classes {
			check(TextClasses, c.Name, true)
		}
		for _, kind := range NotificationKinds {
			if t.Messages[kind] == "" {
				_, from := p.MessageTemplate(def, kind)
				out = append(out, fmt.Sprintf("%s.messages.%s: missing, falls back to %s", f, kind, from))
			}
		}
	}
	for _, kind := range NotificationKinds {
		if defTexts.Messages[kind] == "" && def != DefaultLocale {
			out = append(out, fmt.Sprintf("locales.texts.%s.messages.%s: missing in the default locale, falls back to the built-in English text", def, kind))
		}
	}
	sort.Strings(out)
	return out
}

func keysOf[K ~string, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	return keys
}

// Preferences is the storage port of what a member chose about how the
// program speaks to them: for now, their preferred locale.
type Preferences interface {
	// PreferredLocale is the locale the member chose; "" when none.
	PreferredLocale(ctx context.Context, member MemberID) (string, error)
	// SetPreferredLocale records the member's choice ("" clears it).
	// Errors: CodeMemberErased.
	SetPreferredLocale(ctx context.Context, member MemberID, locale string, at time.Time) error
}
