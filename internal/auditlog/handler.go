package auditlog

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"
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
	if h.plain() {
		bp := linePool.Get().(*[]byte)
		if b, ok := appendRecord((*bp)[:0], r); ok {
			_, err := h.w.Write(b) // Write copies b into its batch
			*bp = b
			linePool.Put(bp)
			return err
		}
		linePool.Put(bp)
	}
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

// plain reports whether h formats records exactly as appendRecord does: no attributes
// or groups added by With, no source, no attributes rewritten.
func (h *Handler) plain() bool {
	return len(h.with) == 0 && !h.opts.AddSource && h.opts.ReplaceAttr == nil
}

var linePool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// appendRecord appends r as slog.JSONHandler formats it, for the records of the
// audit log: string and integer attributes whose text needs no escaping. It reports
// false, having appended a part of the line, for any other record, which the
// JSONHandler then formats; TestAppendRecordMatchesJSONHandler holds the two to the
// same bytes. It takes less than half the JSONHandler's time (BenchmarkFormat).
func appendRecord(b []byte, r slog.Record) ([]byte, bool) {
	b, ok := appendHead(b, r.Time, r.Level, r.Message)
	if !ok {
		return b, false
	}
	r.Attrs(func(a slog.Attr) bool {
		switch v := a.Value; v.Kind() {
		case slog.KindString:
			b, ok = appendString(b, a.Key, v.String())
		case slog.KindInt64:
			b, ok = appendInt(b, a.Key, v.Int64())
		default:
			ok = false
		}
		return ok
	})
	if !ok {
		return b, false
	}
	return append(b, "}\n"...), true
}

// appendHead appends the opening of a line: its time, level and message.
func appendHead(b []byte, t time.Time, l slog.Level, msg string) ([]byte, bool) {
	b = append(b, '{')
	if !t.IsZero() {
		if y := t.Year(); y < 0 || y >= 10000 {
			return b, false
		}
		b = append(b, `"time":"`...)
		b = t.AppendFormat(b, time.RFC3339Nano)
		b = append(b, `",`...)
	}
	level := l.String()
	if !plainString(level) || !plainString(msg) {
		return b, false
	}
	b = append(b, `"level":"`...)
	b = append(b, level...)
	b = append(b, `","msg":"`...)
	b = append(b, msg...)
	return append(b, '"'), true
}

func appendString(b []byte, key, s string) ([]byte, bool) {
	if key == "" || !plainString(key) || !plainString(s) {
		return b, false
	}
	b = append(b, `,"`...)
	b = append(b, key...)
	b = append(b, `":"`...)
	b = append(b, s...)
	return append(b, '"'), true
}

func appendInt(b []byte, key string, n int64) ([]byte, bool) {
	if key == "" || !plainString(key) {
		return b, false
	}
	b = append(b, `,"`...)
	b = append(b, key...)
	b = append(b, `":`...)
	return strconv.AppendInt(b, n, 10), true
}

// Field is a string or integer attribute of a line written by HandleFields.
type Field struct {
	Key   string
	Str   string
	Int   int64
	IsInt bool
}

// String is a string field; Int64 an integer one.
func String(key, value string) Field  { return Field{Key: key, Str: value} }
func Int64(key string, n int64) Field { return Field{Key: key, Int: n, IsInt: true} }

func (f Field) attr() slog.Attr {
	if f.IsInt {
		return slog.Int64(f.Key, f.Int)
	}
	return slog.String(f.Key, f.Str)
}

// HandleFields writes the line Handle would write for a record of time t, level l,
// message msg and the fields as its attributes, in order, and returns once it has been
// written. It builds no slog.Record, which is most of what Handle costs beside the
// write, unless the line needs what only the JSONHandler does (escaping, With).
func (h *Handler) HandleFields(ctx context.Context, t time.Time, l slog.Level, msg string, fields []Field) error {
	if h.plain() {
		bp := linePool.Get().(*[]byte)
		b, ok := appendHead((*bp)[:0], t, l, msg)
		for i := 0; ok && i < len(fields); i++ {
			if f := &fields[i]; f.IsInt {
				b, ok = appendInt(b, f.Key, f.Int)
			} else {
				b, ok = appendString(b, f.Key, f.Str)
			}
		}
		if ok {
			b = append(b, "}\n"...)
			_, err := h.w.Write(b) // Write copies b into its batch
			*bp = b
			linePool.Put(bp)
			return err
		}
		linePool.Put(bp)
	}
	return h.Handle(ctx, Record(t, l, msg, fields))
}

// Record is the slog.Record of a line of fields, for a handler other than Handler.
func Record(t time.Time, l slog.Level, msg string, fields []Field) slog.Record {
	r := slog.NewRecord(t, l, msg, 0)
	for _, f := range fields {
		r.AddAttrs(f.attr())
	}
	return r
}

// plainString reports whether s is JSON string text as it is: printable ASCII
// without quotes or backslashes.
func plainString(s string) bool { return PlainPrefix(s) == len(s) }

// PlainPrefix returns the length of the longest prefix of s that is JSON string text
// as it is: printable ASCII (0x20 to 0x7e) without quotes or backslashes. It looks at
// eight bytes at a time.
func PlainPrefix(s string) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		q, bs := x^(ones*'"'), x^(ones*'\\')
		// Each term has a byte's high bit set if some byte of x is below 0x20, above
		// 0x7e, a quote or a backslash (the "has less than", "has more than" and "has
		// zero" tests of Bit Twiddling Hacks; exact in whether any byte matches).
		if ((x-ones*0x20)&^x|(x+ones)|x|(q-ones)&^q|(bs-ones)&^bs)&highs != 0 {
			break
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			break
		}
	}
	return i
}
