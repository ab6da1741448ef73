package httpapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// The member's language. A response that shows the program's texts (the
// catalog, the inbox, error messages) is in the best of the program's
// locales for the request's Accept-Language; without a match, in the
// locale the member chose (PUT /v1/me/locale); else in the default. The
// response says which in Content-Language. Error codes never change; only
// their human message follows the locale, where the program gives one.

// errorIn renders err as errorResponse does, with the message in the
// request's locale when the program has a text for the code there.
func (rt *router) errorIn(ctx context.Context, ev events.APIGatewayV2HTTPRequest, log *slog.Logger, id string, err error) events.APIGatewayV2HTTPResponse {
	resp := errorResponse(ctx, log, id, err)
	resp.Headers["Content-Language"] = "en" // the engine's own messages
	if rt.texts == nil {
		return resp
	}
	resp.Headers["Vary"] = "Accept-Language"
	loc, ok := rt.texts.Match(headerOf(ev, "Accept-Language"))
	if !ok {
		loc = rt.texts.Default()
	}
	var body ErrorBody
	if json.Unmarshal([]byte(resp.Body), &body) != nil {
		return resp
	}
	msg, ok := rt.texts.ErrorMessage(loc, body.Code)
	if !ok {
		return resp
	}
	body.Message = msg
	b, merr := json.Marshal(body)
	if merr != nil {
		return resp
	}
	resp.Body = string(b)
	resp.Headers["Content-Language"] = loc
	return resp
}

func headerOf(ev events.APIGatewayV2HTTPRequest, name string) string {
	for k, v := range ev.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// localeOf is the locale of the member's response; it reads the member's
// choice only when Accept-Language does not decide.
func (m *MemberAPI) localeOf(ctx context.Context, r *request, id loyalty.MemberID) (string, error) {
	loc, ok := m.texts.Match(r.header("Accept-Language"))
	if !ok && len(m.texts.Locales()) == 1 {
		loc, ok = m.texts.Default(), true // one language: nothing to read
	}
	if !ok {
		pref, err := m.store.PreferredLocale(ctx, id)
		if err != nil {
			return "", err
		}
		loc = m.texts.Negotiate("", pref)
	}
	r.locale = loc
	return loc, nil
}

// LocaleView is the body of GET and PUT /v1/me/locale.
type LocaleView struct {
	// Preferred is the member's choice; "" before one.
	Preferred string `json:"preferred"`
	// Default is the program's default locale; Available all its locales.
	Default   string   `json:"default"`
	Available []string `json:"available"`
}

// getLocale: GET /v1/me/locale.
func (m *MemberAPI) getLocale(ctx context.Context, r *request) (int, any, error) {
	id, err := r.member()
	if err != nil {
		return 0, nil, err
	}
	if err := r.checkQuery(); err != nil {
		return 0, nil, err
	}
	pref, err := m.store.PreferredLocale(ctx, id)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, LocaleView{Preferred: pref, Default: m.texts.Default(), Available: m.texts.Locales()}, nil
}

// setLocale: PUT /v1/me/locale {"locale": "nl-BE"} records the program's
// locale closest to the one asked for ("nl"), or clears the choice with
// "". A locale the program has nothing close to is refused, so the member
// never believes they chose a language they will not get.
func (m *MemberAPI) setLocale(ctx context.Context, r *request) (int, any, error) {
	id, err := r.member()
	if err != nil {
		return 0, nil, err
	}
	if err := r.checkQuery(); err != nil {
		return 0, nil, err
	}
	var body struct {
		Locale *string `json:"locale"`
	}
	if err := r.decode(&body); err != nil {
		return 0, nil, err
	}
	if body.Locale == nil {
		return 0, nil, loyalty.Invalid("locale", "locale is required (\"\" clears the choice)")
	}
	chosen := ""
	if *body.Locale != "" {
		var ok bool
		if len(*body.Locale) > 35 {
			return 0, nil, loyalty.Invalid("locale", "a BCP 47 locale of at most 35 characters")
		}
		if chosen, ok = m.texts.Supported(*body.Locale); !ok {
			return 0, nil, loyalty.Invalid("locale", "the program speaks %s, not %q", strings.Join(m.texts.Locales(), ", "), *body.Locale)
		}
	}
	if _, err := m.account(ctx, id); err != nil {
		return 0, nil, err
	}
	if err := m.store.SetPreferredLocale(ctx, id, chosen, m.svc.Clock.Now()); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, LocaleView{Preferred: chosen, Default: m.texts.Default(), Available: m.texts.Locales()}, nil
}
