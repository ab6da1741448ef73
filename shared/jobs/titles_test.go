package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/loyalty-functions/loyalty/shared/jobs"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// The jobs store a notification's title in the member's preferred locale
// (the member API renders it again when read); the expiry job, which reads
// only the lots it expires, stores the default locale's.
func TestStoredTitlesInThePreferredLocale(t *testing.T) {
	e := newMemEnv(t, jobs.Config{})
	ctx := context.Background()
	prog := testProgram(t)
	prog.Texts = &loyalty.Locales{Default: "en", Texts: map[string]loyalty.LocaleTexts{"nl": {Messages: map[loyalty.NotificationKind]string{
		loyalty.NotePointsExpiring: "{points, plural, one {# punt vervalt} other {# punten vervallen}} op {expires}",
		loyalty.NotePointsExpired:  "{points, plural, one {# punt is} other {# punten zijn}} vervallen",
	}}}}
	if err := prog.Validate(); err != nil {
		t.Fatal(err)
	}
	e.svc.Program = prog
	e.jobs = jobs.New(e.store, prog, e.clock, e.sink, jobs.Config{Shards: 16}, nil)

	// Earned in March 2025: 40 points each, due at the end of March 2026.
	for _, m := range []string{"m-nl", "m-en"} {
		e.accrue(t, m, "march-"+m, 4_000, time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC))
	}
	if err := e.store.SetPreferredLocale(ctx, "m-nl", "nl", e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	e.clock.Set(time.Date(2026, 3, 1, 7, 0, 0, 0, time.UTC)) // 30 days before the lots are due
	if _, err := e.jobs.SendReminders(ctx, jobs.Request{Day: day("2026-03-01")}); err != nil {
		t.Fatal(err)
	}
	want := map[loyalty.MemberID]string{"m-nl": "40 punten vervallen op 31 maart 2026", "m-en": "40 points expire on March 31, 2026"}
	for m, title := range want {
		ns := e.inbox(t, m)
		if len(ns) != 1 || ns[0].Title != title {
			t.Errorf("%s after the reminders: got %+v, want one titled %q", m, ns, title)
		}
	}

	e.clock.Set(expiryRunTime())
	if _, err := e.jobs.ExpirePoints(ctx, jobs.Request{Day: runDay}); err != nil {
		t.Fatal(err)
	}
	for _, m := range []loyalty.MemberID{"m-nl", "m-en"} {
		found := false
		for _, n := range e.inbox(t, m) {
			if n.Kind == loyalty.NotePointsExpired {
				found = true
				if n.Title != "40 points expired" {
					t.Errorf("%s expiry: got title %q, want the default locale's", m, n.Title)
				}
			}
		}
		if !found {
			t.Errorf("%s: got no expiry notification", m)
		}
	}
}
