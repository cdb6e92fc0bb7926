package auditlog_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
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
