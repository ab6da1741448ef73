package loyalty

import (
	"strconv"
	"strings"
)

// Partner is a shop, POS system, web shop or coalition brand that may send
// purchase events. The program file lists them; the ingest function refuses
// events of any other partner (reason unknown_partner), so adding a partner
// is a reviewed change of the program file.
type Partner struct {
	ID   string `json:"id"`   // as in the events' partnerId: 1-40 of A-Z a-z 0-9 . _ -
	Name string `json:"name"` // for people: dashboards, rejections, support
}

// validPartnerID mirrors the partnerId pattern of the partner schemas. It has
// no ':' because ':' separates the partner from the event id in ledger keys.
func validPartnerID(id string) bool {
	if len(id) == 0 || len(id) > 40 {
		return false
	}
	for _, c := range []byte(id) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

func (p *Program) validatePartners() error {
	seen := make(map[string]bool, len(p.Partners))
	for i, pt := range p.Partners {
		field := "partners[" + strconv.Itoa(i) + "]"
		if !validPartnerID(pt.ID) {
			return Invalid(field+".id", "partner id %q must be 1-40 characters of A-Z a-z 0-9 . _ -", pt.ID)
		}
		if seen[pt.ID] {
			return Invalid(field+".id", "partner %q is listed twice", pt.ID)
		}
		seen[pt.ID] = true
		if n := strings.TrimSpace(pt.Name); n == "" || len(n) > 200 {
			return Invalid(field+".name", "partner %q needs a name of 1 to 200 characters", pt.ID)
		}
	}
	return nil
}

// Partner returns the partner with id, if the program lists it.
func (p *Program) Partner(id string) (Partner, bool) {
	for _, pt := range p.Partners {
		if pt.ID == id {
			return pt, true
		}
	}
	return Partner{}, false
}
