package jobs

import (
	"context"

	"github.com/loyalty-functions/loyalty/shared/locale"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// A notification keeps its kind and data; the member API renders its title
// when the member reads it, in the language of that request. The title the
// jobs store is for everything else that shows it (the export, a reader of
// the table): the program's text in the member's preferred locale, or in
// the default locale for the expiry job, which reads no more than the due
// lots it expires (a lookup per notification would double its reads).

func (j *Jobs) texts() *locale.Catalog {
	j.textsOnce.Do(func() { j.catalog = locale.New(j.Service.Program) })
	return j.catalog
}

// titled renders n's stored title in the member's preferred locale. A
// program with one locale reads nothing; a failed read keeps the default
// locale, since the title is rendered again when read.
func (j *Jobs) titled(ctx context.Context, n loyalty.Notification) loyalty.Notification {
	t := j.texts()
	loc := t.Default()
	if len(t.Locales()) > 1 {
		pref, err := j.Store.PreferredLocale(ctx, n.MemberID)
		if err != nil {
			j.Log.Warn("preferred locale unread: the stored title is in the default locale", "member", n.MemberID, "error", err)
		}
		loc = t.Negotiate("", pref)
	}
	n.Title = t.Title(loc, n)
	return n
}

// titledDefault renders n's stored title in the program's default locale.
func (j *Jobs) titledDefault(n loyalty.Notification) loyalty.Notification {
	t := j.texts()
	n.Title = t.Title(t.Default(), n)
	return n
}
