package loyalty

import (
	"strconv"
	"strings"
)

// Partner is a shop, POS system, web shop or coalition brand that may send
// purchase events. The program file lists them; the ingest function refuses
// events of any other partner (reason unknown_partner), so adding a partner
// is a reviewed change of the program file.
//
// Who sent a message is known from AWS, never from its body: each partner
// has a queue of its own that only its Senders may send to (infra writes
// that queue policy), and the ingest takes the partner from the queue the
// message arrived on. A body that names another partner is refused
// (partner_mismatch).
type Partner struct {
	ID   string `json:"id"`   // as in the events' partnerId: 1-40 of A-Z a-z 0-9 . _ -
	Name string `json:"name"` // for people: dashboards, rejections, support
	// Senders are the AWS principals that may send to the partner's queue:
	// 12-digit account ids (any principal the account allows) or IAM role
	// or user ARNs of that account. None: the queue exists, nobody outside
	// this account can send to it yet.
	Senders []string `json:"senders,omitempty"`
	// MaxPurchaseMinor is the largest purchase amount the partner may
	// report (minor units; 0: no maximum). A larger one is refused or
	// earns as if it were this large, as limits.onExcess says.
	MaxPurchaseMinor int64 `json:"maxPurchaseMinor,omitempty"`
	// MemberIDs lets the partner name members by member id (a
	// server-to-server partner that knows them, such as the brand's own
	// web shop); every other partner names them by card number or code
	// (till.go), and a member id from it is refused (member_ref_not_allowed).
	MemberIDs bool `json:"memberIds,omitempty"`
}

// validSender is a 12-digit AWS account id or an IAM role or user ARN.
func validSender(s string) bool {
	if isAccountID(s) {
		return true
	}
	rest, ok := strings.CutPrefix(s, "arn:")
	if !ok {
		return false
	}
	parts := strings.SplitN(rest, ":", 5) // partition, service, region, account, resource
	if len(parts) != 5 || !strings.HasPrefix(parts[0], "aws") || parts[1] != "iam" || parts[2] != "" || !isAccountID(parts[3]) {
		return false
	}
	kind, name, ok := strings.Cut(parts[4], "/")
	if !ok || (kind != "role" && kind != "user") || name == "" || len(name) > 512 {
		return false
	}
	for _, c := range []byte(name) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.IndexByte("+=,.@_-/", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
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
		senders := make(map[string]bool, len(pt.Senders))
		for k, s := range pt.Senders {
			f := field + ".senders[" + strconv.Itoa(k) + "]"
			if !validSender(s) {
				return Invalid(f, "sender %q of partner %q must be a 12-digit AWS account id or an IAM role or user ARN (arn:aws:iam::123456789012:role/name)", s, pt.ID)
			}
			if senders[s] {
				return Invalid(f, "sender %q of partner %q is listed twice", s, pt.ID)
			}
			senders[s] = true
		}
	}
	return nil
}

// CheckPartner refuses a partner id the program does not list, or one that
// is not a valid partner id (it becomes part of ledger keys, so a ':' could
// collide with another partner's keys). Errors: invalid on field.
func (p *Program) CheckPartner(field, id string) error {
	if !validPartnerID(id) {
		return Invalid(field, "partner id %q must be 1-40 characters of A-Z a-z 0-9 . _ -", id)
	}
	if _, ok := p.Partner(id); !ok {
		return Invalid(field, "partner %q is not listed in the program file", id)
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
