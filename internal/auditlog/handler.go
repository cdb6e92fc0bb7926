package auditlog

import (
	"context"
	"io"
	"log/slog"
	"sync"
)

// Handler is a slog.Handler that writes JSON lines, formatted exactly as
// slog.JSONHandler formats them, to a Writer, and returns from Handle once its line
// has been written, with the error writing it met.
//
// A single slog.JSONHandler holds one mutex across its Write, so only one record at a
// time would reach the Writer and no batch would form. Handler instead formats each
// record with a JSONHandler of its own, taken from a pool, whose mutex nothing else
// contends for: records are formatted concurrently and meet only in the Writer.
type Handler struct {
	w     *Writer
	opts  slog.HandlerOptions
	level slog.Handler // a JSONHandler with opts, asked only whether a level is enabled
	with  []func(slog.Handler) slog.Handler
	pool  *sync.Pool // of slog.Handler: JSONHandlers over w, with the attrs and groups of with
}

// NewHandler returns a Handler that writes to w with opts (nil for the defaults, as
// for slog.NewJSONHandler).
func NewHandler(w *Writer, opts *slog.HandlerOptions) *Handler {
	h := &Handler{w: w}
	if opts != nil {
		h.opts = *opts
	}
	h.level = slog.NewJSONHandler(io.Discard, &h.opts)
	h.pool = h.newPool()
	return h
}

func (h *Handler) newPool() *sync.Pool {
	return &sync.Pool{New: func() any {
		var jh slog.Handler = slog.NewJSONHandler(h.w, &h.opts)
		for _, f := range h.with {
			jh = f(jh)
		}
		return jh
	}}
}

// Enabled reports whether records at level l are handled.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.level.Enabled(ctx, l)
}

// Handle writes r as one JSON line and returns once it has been written.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	jh := h.pool.Get().(slog.Handler)
	err := jh.Handle(ctx, r)
	h.pool.Put(jh)
	return err
}

// WithAttrs returns a Handler whose records also carry attrs.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	return h.derive(func(jh slog.Handler) slog.Handler { return jh.WithAttrs(attrs) })
}

// WithGroup returns a Handler whose later attributes are in group name.
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return h.derive(func(jh slog.Handler) slog.Handler { return jh.WithGroup(name) })
}

func (h *Handler) derive(f func(slog.Handler) slog.Handler) *Handler {
	h2 := &Handler{w: h.w, opts: h.opts, level: h.level}
	h2.with = append(h.with[:len(h.with):len(h.with)], f)
	h2.pool = h2.newPool()
	return h2
}
