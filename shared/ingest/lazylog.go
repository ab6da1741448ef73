package ingest

import (
	"context"
	"log/slog"
	"slices"
)

// lazyLogger is base whose With keeps its attributes and hands them to
// base's handler only when a record is logged. The JSON handler formats
// attributes as soon as With is called, and a message that goes well logs
// nothing at the default level: its With was a few per cent of the ingest
// handler's CPU.
func lazyLogger(base *slog.Logger) *slog.Logger {
	return slog.New(&lazyAttrs{h: base.Handler()})
}

type lazyAttrs struct {
	h     slog.Handler
	attrs []slog.Attr
}

func (l *lazyAttrs) Enabled(ctx context.Context, level slog.Level) bool {
	return l.h.Enabled(ctx, level)
}

func (l *lazyAttrs) Handle(ctx context.Context, r slog.Record) error {
	if len(l.attrs) == 0 {
		return l.h.Handle(ctx, r)
	}
	return l.h.WithAttrs(l.attrs).Handle(ctx, r)
}

func (l *lazyAttrs) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &lazyAttrs{h: l.h, attrs: append(slices.Clip(l.attrs), attrs...)}
}

func (l *lazyAttrs) WithGroup(name string) slog.Handler {
	h := l.h
	if len(l.attrs) > 0 {
		h = h.WithAttrs(l.attrs)
	}
	return &lazyAttrs{h: h.WithGroup(name)}
}
