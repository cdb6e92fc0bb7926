package auditlog

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"math"
	"testing"
	"time"
)

// TestAppendRecordMatchesJSONHandler formats records with appendRecord and with
// slog.JSONHandler: where appendRecord takes a record, the bytes are the same, and it
// takes the audit log's records.
func TestAppendRecordMatchesJSONHandler(t *testing.T) {
	at := time.Date(2026, 12, 6, 2, 50, 1, 123456789, time.UTC)
	times := []time.Time{at, at.Truncate(time.Second), at.In(time.FixedZone("x", -5*3600)), {}, time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}
	strs := []string{"", "reports/2026/q3.pdf", "a\"b", "back\\slash", "tab\t", "é", "\u2028", "\xff", "<html>&", "~ !"}
	ints := []int64{0, -1, 3600, math.MaxInt64, math.MinInt64}
	type rec struct {
		r    slog.Record
		fast bool
	}
	var recs []rec
	audit := func(tm time.Time, s string, n int64) slog.Record {
		r := slog.NewRecord(tm, slog.LevelInfo, "presign", 0)
		r.AddAttrs(slog.String("request_id", "r-1"), slog.String("key", s), slog.Int64("expires_in", n), slog.String("reason", ""))
		return r
	}
	for _, tm := range times {
		for _, s := range strs {
			for _, n := range ints {
				recs = append(recs, rec{audit(tm, s, n), tm.Year() < 10000 && plainString(s)})
			}
		}
	}
	odd := []slog.Record{
		slog.NewRecord(at, slog.LevelWarn+2, "msg \"quoted\"", 0),
		slog.NewRecord(at, slog.LevelDebug, "", 0),
	}
	r := slog.NewRecord(at, slog.LevelError, "failed", 0)
	r.AddAttrs(slog.Bool("b", true), slog.Float64("f", 1.5), slog.Duration("d", time.Second), slog.Any("x", []int{1}))
	odd = append(odd, r)
	r = slog.NewRecord(at, slog.LevelInfo, "grouped", 0)
	r.AddAttrs(slog.Group("g", slog.String("a", "1")), slog.String("", "empty key"), slog.Attr{})
	odd = append(odd, r)
	r = slog.NewRecord(at, slog.LevelInfo, "uint", 0)
	r.AddAttrs(slog.Uint64("u", 7), slog.Int("i", 7))
	odd = append(odd, r)
	for _, o := range odd {
		recs = append(recs, rec{r: o})
	}
	fast := 0
	for _, rc := range recs {
		var want bytes.Buffer
		if err := slog.NewJSONHandler(&want, nil).Handle(context.Background(), rc.r); err != nil {
			t.Fatal(err)
		}
		got, ok := appendRecord(nil, rc.r)
		if !ok {
			if rc.fast {
				t.Errorf("appendRecord refused an audit record it should take: %s", want.Bytes())
			}
			continue
		}
		fast++
		if !bytes.Equal(got, want.Bytes()) {
			t.Errorf("appendRecord:\n got  %s want %s", got, want.Bytes())
		}
	}
	if fast == 0 {
		t.Fatal("appendRecord took no record")
	}
}

func BenchmarkFormat(b *testing.B) {
	r := slog.NewRecord(time.Now(), slog.LevelInfo, "presign", 0)
	r.AddAttrs(slog.String("request_id", "d3b07384d113edec49eaa6238ad5ff00"), slog.String("client", "loadtest"),
		slog.String("principal", "token"), slog.String("subject", "loadtest"), slog.String("operation", "presign"),
		slog.String("bucket", "media"), slog.String("key", "reports/2026/q3 summary.pdf"), slog.String("method", "GET"),
		slog.Int64("requested_ttl", 3600), slog.Int64("expires_in", 3600), slog.String("capped_by", ""),
		slog.String("outcome", "issued"), slog.String("reason", ""))
	b.Run("appendRecord", func(b *testing.B) {
		buf := make([]byte, 0, 512)
		for b.Loop() {
			buf, _ = appendRecord(buf[:0], r)
		}
	})
	b.Run("JSONHandler", func(b *testing.B) {
		var buf bytes.Buffer
		h := slog.NewJSONHandler(&buf, nil)
		for b.Loop() {
			buf.Reset()
			_ = h.Handle(context.Background(), r)
		}
	})
}

// TestHandleFieldsMatchesJSONHandler: the line HandleFields writes is the one
// slog.JSONHandler writes for the same record, whether HandleFields formats it
// itself or falls back to the JSONHandler (escaping, attributes added by With).
func TestHandleFieldsMatchesJSONHandler(t *testing.T) {
	at := time.Date(2026, 12, 6, 2, 50, 1, 123456789, time.UTC)
	times := []time.Time{at, at.Truncate(time.Second), at.In(time.FixedZone("x", -5*3600)), {}, time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}
	strs := []string{"", "reports/2026/q3.pdf", "a\"b", "back\\slash", "tab\t", "é", "\u2028", "\xff", "<html>&", "~ !"}
	ints := []int64{0, -1, 3600, math.MaxInt64, math.MinInt64}
	keys := []string{"key", "", "k\"ey", "ké"}
	ctx := context.Background()
	check := func(with []slog.Attr, tm time.Time, msg string, fields []Field) {
		t.Helper()
		var got, want bytes.Buffer
		w := NewWriter(&got, 0)
		var h slog.Handler = NewHandler(w, nil)
		var jh slog.Handler = slog.NewJSONHandler(&want, nil)
		if with != nil {
			h, jh = h.WithAttrs(with), jh.WithAttrs(with)
		}
		if err := h.(*Handler).HandleFields(ctx, tm, slog.LevelInfo, msg, fields); err != nil {
			t.Fatal(err)
		}
		if err := jh.Handle(ctx, Record(tm, slog.LevelInfo, msg, fields)); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Errorf("HandleFields:\n got  %s want %s", got.Bytes(), want.Bytes())
		}
	}
	for _, tm := range times {
		for _, s := range strs {
			for _, n := range ints {
				for _, k := range keys {
					check(nil, tm, "presign", []Field{String("request_id", "r-1"), String(k, s), Int64("expires_in", n), String("reason", "")})
				}
			}
		}
	}
	check(nil, at, "msg \"quoted\"", []Field{String("a", "b")})
	check(nil, at, "no fields", nil)
	check([]slog.Attr{slog.String("with", "x")}, at, "presign", []Field{String("a", "b"), Int64("n", 1)})
}

func BenchmarkHandleFields(b *testing.B) {
	now := time.Now()
	fields := []Field{String("request_id", "d3b07384d113edec49eaa6238ad5ff00"), String("client", "loadtest"),
		String("principal", "token"), String("subject", "loadtest"), String("operation", "presign"),
		String("bucket", "media"), String("key", "reports/2026/q3 summary.pdf"), String("method", "GET"),
		Int64("requested_ttl", 3600), Int64("expires_in", 3600), String("capped_by", ""),
		String("outcome", "issued"), String("reason", "")}
	ctx := context.Background()
	h := NewHandler(NewWriter(io.Discard, 0), nil)
	b.Run("HandleFields", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = h.HandleFields(ctx, now, slog.LevelInfo, "presign", fields)
		}
	})
	b.Run("Handle", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = h.Handle(ctx, Record(now, slog.LevelInfo, "presign", fields))
		}
	})
}
