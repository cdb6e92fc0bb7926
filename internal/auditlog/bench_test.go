package auditlog_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/presignd/presignd/internal/auditlog"
)

// The benchmarks write 300-byte lines from many goroutines at once (16 per CPU, as
// many requests are in flight under load) to a real file and to /dev/null, and
// report the write calls made per line.
const benchParallelism = 16

// counting counts the Write calls that reach an *os.File.
type counting struct {
	f     *os.File
	calls atomic.Int64
}

func (c *counting) Write(p []byte) (int, error) {
	c.calls.Add(1)
	return c.f.Write(p)
}

func benchTargets(b *testing.B, run func(b *testing.B, w *counting)) {
	b.Run("file", func(b *testing.B) {
		f, err := os.CreateTemp(b.TempDir(), "audit")
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		run(b, &counting{f: f})
	})
	b.Run("devnull", func(b *testing.B) {
		f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		run(b, &counting{f: f})
	})
}

func benchLines(b *testing.B, w *counting, write func([]byte) error) {
	p := []byte(strings.Repeat("a", 299) + "\n")
	b.SetBytes(int64(len(p)))
	b.SetParallelism(benchParallelism)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := write(p); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(w.calls.Load())/float64(b.N), "writes/line")
}

// BenchmarkAuditDirect writes each line with its own write under a mutex, as
// slog.JSONHandler does.
func BenchmarkAuditDirect(b *testing.B) {
	benchTargets(b, func(b *testing.B, w *counting) {
		var mu sync.Mutex
		benchLines(b, w, func(p []byte) error {
			mu.Lock()
			defer mu.Unlock()
			_, err := w.Write(p)
			return err
		})
	})
}

// BenchmarkAuditGroupCommit writes through a Writer.
func BenchmarkAuditGroupCommit(b *testing.B) {
	benchTargets(b, func(b *testing.B, w *counting) {
		gw := auditlog.NewWriter(w, 0)
		benchLines(b, w, func(p []byte) error {
			_, err := gw.Write(p)
			return err
		})
	})
}

// BenchmarkAuditBackground writes through a group-commit writer whose batches a
// goroutine of its own writes, the design Writer was measured against.
func BenchmarkAuditBackground(b *testing.B) {
	benchTargets(b, func(b *testing.B, w *counting) {
		bw := newBackgroundWriter(w)
		defer bw.close()
		benchLines(b, w, func(p []byte) error {
			_, err := bw.Write(p)
			return err
		})
	})
}

// BenchmarkAuditSlog logs an audit-like record through slog.JSONHandler (Direct)
// and through a Handler over a Writer (GroupCommit).
func BenchmarkAuditSlog(b *testing.B) {
	for _, tc := range []struct {
		name    string
		handler func(io.Writer) slog.Handler
	}{
		{"Direct", func(w io.Writer) slog.Handler { return slog.NewJSONHandler(w, nil) }},
		{"GroupCommit", func(w io.Writer) slog.Handler { return auditlog.NewHandler(auditlog.NewWriter(w, 0), nil) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			benchTargets(b, func(b *testing.B, w *counting) {
				h := tc.handler(w)
				ctx := context.Background()
				b.SetParallelism(benchParallelism)
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						r := slog.NewRecord(time.Now(), slog.LevelInfo, "presign", 0)
						r.AddAttrs(
							slog.String("request_id", "0d1f6c2a9b7e4c31"),
							slog.String("client", "loadtest"),
							slog.String("principal", "token"),
							slog.String("subject", ""),
							slog.String("operation", "get"),
							slog.String("bucket", "media"),
							slog.String("key", "reports/2026/q3 summary.pdf"),
							slog.String("method", "GET"),
							slog.Int64("requested_ttl", 3600),
							slog.Int64("expires_in", 3600),
							slog.String("capped_by", ""),
							slog.String("outcome", "issued"),
							slog.String("reason", ""),
						)
						if err := h.Handle(ctx, r); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.ReportMetric(float64(w.calls.Load())/float64(b.N), "writes/line")
			})
		})
	}
}

// backgroundWriter is group commit with a flusher goroutine: Write appends to the
// batch, wakes the flusher and waits for the batch to be written.
type backgroundWriter struct {
	w    io.Writer
	mu   sync.Mutex
	cur  *bgBatch
	wake chan struct{}
	quit chan struct{}
	done chan struct{}
}

type bgBatch struct {
	buf  []byte
	done chan struct{}
	err  error
}

func newBackgroundWriter(w io.Writer) *backgroundWriter {
	bw := &backgroundWriter{w: w, cur: &bgBatch{done: make(chan struct{})},
		wake: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	go bw.flush()
	return bw
}

func (bw *backgroundWriter) Write(p []byte) (int, error) {
	bw.mu.Lock()
	for len(bw.cur.buf) > 0 && len(bw.cur.buf)+len(p) > auditlog.DefaultMaxBatch {
		bw.mu.Unlock()
		time.Sleep(10 * time.Microsecond) // crude backpressure, never hit in the benchmark
		bw.mu.Lock()
	}
	b := bw.cur
	b.buf = append(b.buf, p...)
	bw.mu.Unlock()
	select {
	case bw.wake <- struct{}{}:
	default:
	}
	<-b.done
	return len(p), b.err
}

func (bw *backgroundWriter) flush() {
	defer close(bw.done)
	var spare []byte
	for {
		select {
		case <-bw.wake:
		case <-bw.quit:
			return
		}
		bw.mu.Lock()
		b := bw.cur
		if len(b.buf) == 0 {
			bw.mu.Unlock()
			continue
		}
		bw.cur = &bgBatch{buf: spare, done: make(chan struct{})}
		bw.mu.Unlock()
		_, b.err = bw.w.Write(b.buf)
		spare = b.buf[:0]
		close(b.done)
	}
}

func (bw *backgroundWriter) close() {
	close(bw.quit)
	<-bw.done
}
