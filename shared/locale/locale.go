// Package locale renders the program's texts in a member's language with
// golang.org/x/text: it matches Accept-Language and a member's preferred
// locale against the program's locales (language.Matcher), picks plural
// forms by CLDR's rules (feature/plural) and formats numbers the locale's way
// (message.Printer, message/catalog). It also checks what the domain cannot
// check without language data: that every locale is one CLDR knows and that
// no plural form names a category its language never uses.
//
// It imports the domain and golang.org/x/text only; the HTTP API, the jobs and
// config use it. x/text has no public date formatting, so long dates come
// from a small table of CLDR's patterns (dates.go).
package locale

import (
	"fmt"
	"strings"
	"sync"

	"golang.org/x/text/feature/plural"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/message/catalog"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// Catalog renders one program's texts. It is built once at start and safe
// for concurrent use.
type Catalog struct {
	prog     *loyalty.Program
	names    []string       // the program's locales as the file writes them, default first
	tags     []language.Tag // the same, parsed
	matcher  language.Matcher
	cat      *catalog.Builder
	mu       sync.Mutex
	printers map[string]*message.Printer
	compiled map[string]bool // "<locale>\x00<kind>" whose template is in cat
}

// New builds the catalog of a validated program. A template or locale that
// Check would refuse is left out (its notifications show their stored title),
// so New never fails; config refuses such a program before it gets here.
func New(p *loyalty.Program) *Catalog {
	c := &Catalog{prog: p, cat: catalog.NewBuilder(), printers: map[string]*message.Printer{}, compiled: map[string]bool{}}
	for _, name := range p.Locales() {
		tag, err := language.Parse(name)
		if err != nil {
			continue
		}
		c.names = append(c.names, name)
		c.tags = append(c.tags, tag)
	}
	if len(c.names) == 0 { // a default locale CLDR does not know: speak English
		c.names, c.tags = []string{loyalty.DefaultLocale}, []language.Tag{language.English}
	}
	c.matcher = language.NewMatcher(c.tags)
	for _, name := range append(append([]string{}, c.names...), loyalty.DefaultLocale) {
		for _, kind := range loyalty.NotificationKinds {
			src, from := p.MessageTemplate(name, kind)
			key := from + "\x00" + string(kind)
			if c.compiled[key] {
				continue
			}
			if err := c.compile(from, kind, src); err == nil {
				c.compiled[key] = true
			}
		}
	}
	return c
}

// Default is the program's default locale.
func (c *Catalog) Default() string { return c.names[0] }

// Locales are the program's locales, the default first.
func (c *Catalog) Locales() []string { return append([]string(nil), c.names...) }

// Match is the best of the program's locales for an Accept-Language
// header; false when the header is absent, malformed or names none of them.
func (c *Catalog) Match(acceptLanguage string) (string, bool) {
	if strings.TrimSpace(acceptLanguage) == "" || len(acceptLanguage) > 1024 {
		return "", false
	}
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(tags) == 0 {
		return "", false
	}
	if _, i, conf := c.matcher.Match(tags...); conf != language.No {
		return c.names[i], true
	}
	return "", false
}

// Negotiate picks the locale of a response: the best of the program's
// locales for the request's Accept-Language, else the member's preferred
// locale when the program has it, else the default.
func (c *Catalog) Negotiate(acceptLanguage, preferred string) string {
	if l, ok := c.Match(acceptLanguage); ok {
		return l
	}
	for _, n := range c.names {
		if n == preferred {
			return n
		}
	}
	return c.names[0]
}

// Supported maps a locale a member asks for ("nl-BE") to the program's
// locale that serves it ("nl"); false when the program has none close.
func (c *Catalog) Supported(asked string) (string, bool) {
	tag, err := language.Parse(asked)
	if err != nil {
		return "", false
	}
	_, i, conf := c.matcher.Match(tag)
	if conf == language.No {
		return "", false
	}
	return c.names[i], true
}

func (c *Catalog) tagOf(locale string) language.Tag {
	for i, n := range c.names {
		if n == locale {
			return c.tags[i]
		}
	}
	if t, err := language.Parse(locale); err == nil {
		return t
	}
	return language.English
}

func (c *Catalog) printer(locale string) *message.Printer {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.printers[locale]
	if !ok {
		p = message.NewPrinter(c.tagOf(locale), message.Catalog(c.cat))
		c.printers[locale] = p
	}
	return p
}

// Number formats n with the locale's digits and grouping ("1,234", "1.234").
func (c *Catalog) Number(locale string, n int64) string {
	return c.printer(locale).Sprintf("%d", n)
}

// Title renders a notification's title in locale from its kind's template
// and its data. A notification whose data lacks a value the template shows
// (one stored before the field existed) keeps its stored title.
func (c *Catalog) Title(locale string, n loyalty.Notification) string {
	_, from := c.prog.MessageTemplate(locale, n.Kind)
	if !c.compiled[from+"\x00"+string(n.Kind)] {
		return n.Title
	}
	src, _ := c.prog.MessageTemplate(locale, n.Kind)
	t, err := loyalty.ParseTemplate(src)
	if err != nil {
		return n.Title
	}
	params := n.Params()
	for _, name := range t.Names() {
		if _, ok := params[name]; !ok {
			return n.Title
		}
	}
	args := make([]any, 0, len(n.Kind.Placeholders()))
	for _, ph := range n.Kind.Placeholders() {
		args = append(args, c.arg(from, ph, params[ph.Name]))
	}
	return c.printer(from).Sprintf(catalogKey(n.Kind), args...)
}

// arg is a placeholder's value as the template's printf verb takes it:
// numbers as int64 (the printer groups them and the plural selects on
// them), everything else as the finished text.
func (c *Catalog) arg(locale string, ph loyalty.Placeholder, v loyalty.Param) any {
	switch ph.Kind {
	case loyalty.ParamNumber:
		return v.Number
	case loyalty.ParamDate:
		if v.Date == "" {
			return ""
		}
		return FormatDate(c.tagOf(locale), v.Date)
	case loyalty.ParamReward:
		return c.prog.Name(locale, loyalty.TextRewards, v.ID, c.rewardName(v))
	case loyalty.ParamTier:
		return c.prog.Name(locale, loyalty.TextTiers, v.ID, c.tierName(v.ID))
	case loyalty.ParamClass:
		return c.prog.Name(locale, loyalty.TextClasses, v.ID, strings.ReplaceAll(v.ID, "_", " "))
	}
	return v.Name
}

func (c *Catalog) rewardName(v loyalty.Param) string {
	for _, r := range c.prog.Rewards {
		if r.ID == v.ID {
			return r.Name
		}
	}
	if v.Name != "" {
		return v.Name
	}
	return v.ID
}

func (c *Catalog) tierName(id string) string {
	for _, l := range c.prog.Tiers.Levels {
		if l.ID == id {
			return l.Name
		}
	}
	return id
}

// ErrorMessage is the program's message for code in locale; false when the
// program gives none there.
func (c *Catalog) ErrorMessage(locale string, code loyalty.Code) (string, bool) {
	return c.prog.ErrorText(locale, code)
}

// Reward is a catalog item's name and description in locale.
func (c *Catalog) Reward(locale string, r loyalty.Reward) (name, description string) {
	return c.prog.Name(locale, loyalty.TextRewards, r.ID, r.Name), c.prog.Description(locale, loyalty.TextRewards, r.ID)
}

func catalogKey(kind loyalty.NotificationKind) string { return "notification." + string(kind) }

// compile turns a template into x/text catalog entries of locale: each
// placeholder becomes a printf argument by its position in the kind's
// placeholders, each plural a catalog variable selecting on that argument.
func (c *Catalog) compile(locale string, kind loyalty.NotificationKind, src string) error {
	t, err := loyalty.ParseTemplate(src)
	if err != nil {
		return err
	}
	index := map[string]int{}
	verbs := map[string]string{}
	for i, ph := range kind.Placeholders() {
		index[ph.Name] = i + 1
		verbs[ph.Name] = "s"
		if ph.Kind == loyalty.ParamNumber {
			verbs[ph.Name] = "d"
		}
	}
	var msgs []catalog.Message
	var format func([]loyalty.TemplatePart) (string, error)
	format = func(parts []loyalty.TemplatePart) (string, error) {
		var b strings.Builder
		for _, p := range parts {
			switch {
			case p.Plural != nil:
				i, ok := index[p.Name]
				if !ok {
					return "", fmt.Errorf("unknown placeholder {%s}", p.Name)
				}
				cases := make([]any, 0, 2*len(p.Plural))
				for _, pc := range p.Plural {
					body, err := format(pc.Parts)
					if err != nil {
						return "", err
					}
					cases = append(cases, pc.Selector, body)
				}
				v := fmt.Sprintf("p%d", len(msgs))
				msgs = append(msgs, catalog.Var(v, plural.Selectf(i, "%d", cases...)))
				b.WriteString("${" + v + "}")
			case p.Name != "":
				i, ok := index[p.Name]
				if !ok {
					return "", fmt.Errorf("unknown placeholder {%s}", p.Name)
				}
				fmt.Fprintf(&b, "%%[%d]%s", i, verbs[p.Name])
			default:
				b.WriteString(strings.ReplaceAll(p.Text, "%", "%%"))
			}
		}
		return b.String(), nil
	}
	main, err := format(t.Parts)
	if err != nil {
		return err
	}
	msgs = append(msgs, catalog.String(main))
	tag, err := language.Parse(locale)
	if err != nil {
		return err
	}
	return c.cat.Set(tag, catalogKey(kind), msgs...)
}
