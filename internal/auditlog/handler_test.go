package auditlog_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/presignd/presignd/internal/auditlog"
)

// TestAuditHandlerWritesWhatJSONHandlerWrites logs the same records through a Handler and
// through slog.JSONHandler and compares the bytes.
func TestAuditHandlerWritesWhatJSONHandlerWrites(t *testing.T) {
	opts := &slog.HandlerOptions{
		Level: slog.LevelInfo,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}
	var want bytes.Buffer
	rec := &recorder{}
	w := auditlog.NewWriter(rec, 0)
	for _, log := range []*slog.Logger{slog.New(slog.NewJSONHandler(&want, opts)), slog.New(auditlog.NewHandler(w, opts))} {
		log.Info("presign", "client", "loadtest", "key", "reports/\"q3\"\n.pdf", "expires_in", 3600)
		log.Debug("not enabled")
		log.With("request_id", "r1").WithGroup("req").Warn("slow", "ms", 12, slog.Group("g", "a", 1))
		log.Error("failed", "error", errors.New("boom"))
	}
	var got []byte
	for _, c := range rec.calls() {
		got = append(got, c...)
	}
	if diff := cmp.Diff(want.String(), string(got)); diff != "" {
		t.Errorf("Handler output differs from JSONHandler's (-want +got):\n%s", diff)
	}
}

func TestAuditHandlerReturnsWriteError(t *testing.T) {
	w := auditlog.NewWriter(&recorder{fail: "presign"}, 0)
	h := auditlog.NewHandler(w, nil)
	r := slog.NewRecord(time.Now(), slog.LevelInfo, "presign", 0)
	if err := h.Handle(context.Background(), r); !errors.Is(err, errWrite) {
		t.Errorf("Handle: got %v, want %v", err, errWrite)
	}
}

// TestAuditHandlerBatchesConcurrentRecords checks that records handled at the same time
// share writes: formatting is not serialized by one handler-wide lock held across the
// write.
func TestAuditHandlerBatchesConcurrentRecords(t *testing.T) {
	const goroutines, perG = 32, 30
	rec := &recorder{delay: 200 * time.Microsecond}
	h := auditlog.NewHandler(auditlog.NewWriter(rec, 0), nil)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range perG {
				r := slog.NewRecord(time.Now(), slog.LevelInfo, "presign", 0)
				r.AddAttrs(slog.Int("g", g), slog.Int("i", i))
				if err := h.Handle(context.Background(), r); err != nil {
					t.Errorf("Handle: %v", err)
				}
			}
		})
	}
	wg.Wait()
	lines := 0
	for _, c := range rec.calls() {
		lines += bytes.Count(c, []byte("\n"))
	}
	if lines != goroutines*perG {
		t.Errorf("got %d lines, want %d", lines, goroutines*perG)
	}
	calls := len(rec.calls())
	t.Logf("%d records in %d writes", lines, calls)
	if calls >= lines/4 {
		t.Errorf("got %d writes for %d records, want fewer than a quarter", calls, lines)
	}
}

// TestPlainPrefix holds PlainPrefix, which looks at eight bytes at a time, to the
// byte-by-byte rule: every byte value at every position of strings up to 24 bytes,
// two such bytes at once, and random strings.
func TestPlainPrefix(t *testing.T) {
	plain := func(c byte) bool { return c >= 0x20 && c <= 0x7e && c != '"' && c != '\\' }
	want := func(s string) int {
		for i := 0; i < len(s); i++ {
			if !plain(s[i]) {
				return i
			}
		}
		return len(s)
	}
	check := func(s string) {
		t.Helper()
		if got, w := auditlog.PlainPrefix(s), want(s); got != w {
			t.Fatalf("PlainPrefix(%q) = %d, want %d", s, got, w)
		}
	}
	base := []byte("abcdefghijklmnopqrstuvwx ~!#")
	for n := 0; n <= 24; n++ {
		check(string(base[:n]))
		for pos := 0; pos < n; pos++ {
			for c := 0; c < 256; c++ {
				b := append([]byte(nil), base[:n]...)
				b[pos] = byte(c)
				check(string(b))
				for pos2 := pos + 1; pos2 < n && n <= 16; pos2++ {
					for _, c2 := range []byte{0x00, 0x1f, '"', '\\', 0x7f, 0x80, 0xff} {
						b2 := append([]byte(nil), b...)
						b2[pos2] = c2
						check(string(b2))
					}
				}
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		b := make([]byte, rng.IntN(64))
		for i := range b {
			b[i] = byte(0x20 + rng.IntN(0x5f))
			if rng.IntN(40) == 0 {
				b[i] = byte(rng.IntN(256))
			}
		}
		check(string(b))
	}
}
