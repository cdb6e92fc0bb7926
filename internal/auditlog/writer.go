// Package auditlog writes log lines with group commit: the lines that concurrent
// goroutines write at the same time reach the underlying writer in one Write call,
// and each Write returns only once its own line has been written (or with the error
// that writing it met). A caller that answers only after its log line returns is
// therefore never ahead of its log, at the cost of one write(2) per group of lines
// instead of one per line.
package auditlog

import (
	"errors"
	"io"
	"sync"
)

// DefaultMaxBatch is the batch size NewWriter uses for a max of 0 or less.
const DefaultMaxBatch = 256 << 10

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("auditlog: writer closed")

// Writer is an io.Writer that groups concurrent writes into one write on the
// underlying writer. Each Write call is a unit: it is never split across writes nor
// interleaved with another, and its bytes follow those of every Write that entered
// before it. Write blocks until its bytes have been written.
//
// There is no flusher goroutine. The first Write of a batch leads it: it waits until
// the previous batch has been written, seals its own batch (the Writes that arrived
// in the meantime) and writes it, while the others wait for that write to end. At most
// one batch is being written and one is filling; a Write that would take the filling
// batch past its maximum waits until that batch is sealed.
type Writer struct {
	w        io.Writer
	maxBatch int

	mu      sync.Mutex
	cur     *batch    // the batch filling; the Write that put its first bytes leads it
	writing bool      // a leader is in w.Write
	idle    sync.Cond // broadcast when writing turns false
	sealed  sync.Cond // broadcast when cur is sealed and replaced by an empty batch
	spare   []byte    // the buffer of the last batch written, for the next batch
	free    *batch    // a batch written without followers, for the next batch
	pending int       // Writes entered and not yet written
	closed  bool
}

// batch is the bytes of the Writes that go out in one write.
type batch struct {
	buf  []byte
	n    int           // the Writes in buf
	done chan struct{} // made by the first follower; closed once buf has been written
	err  error         // what writing buf returned; set before done is closed
}

// NewWriter returns a Writer over w that writes batches of at most max bytes (a
// single larger Write goes out alone). For a max of 0 or less, it uses DefaultMaxBatch.
// w must not be written to by anything else while the Writer is in use.
func NewWriter(w io.Writer, max int) *Writer {
	if max <= 0 {
		max = DefaultMaxBatch
	}
	gw := &Writer{w: w, maxBatch: max}
	gw.idle.L = &gw.mu
	gw.sealed.L = &gw.mu
	gw.cur = gw.newBatch()
	return gw
}

// Write writes p as a unit, batched with concurrent Writes, and returns once the
// batch holding it has been written. If writing the batch fails, every Write in it
// returns that error and n = 0.
func (w *Writer) Write(p []byte) (n int, err error) {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return 0, ErrClosed
	}
	w.pending++
	for len(w.cur.buf) > 0 && len(w.cur.buf)+len(p) > w.maxBatch {
		w.sealed.Wait() // backpressure: no room until the leader seals this batch
	}
	b := w.cur
	lead := len(b.buf) == 0
	b.buf = append(b.buf, p...)
	b.n++
	if !lead {
		if b.done == nil {
			b.done = make(chan struct{})
		}
		done := b.done
		w.mu.Unlock()
		<-done
		if b.err != nil {
			return 0, b.err
		}
		return len(p), nil
	}

	// This Write leads b: once the batch before it has been written, nothing more
	// joins b, and it goes out.
	for w.writing {
		w.idle.Wait()
	}
	w.writing = true
	w.cur = w.newBatch()
	w.sealed.Broadcast()
	w.mu.Unlock()

	_, err = w.w.Write(b.buf)

	w.mu.Lock()
	w.writing = false
	w.pending -= b.n
	if cap(b.buf) <= w.maxBatch {
		w.spare = b.buf[:0]
	}
	b.buf = nil
	if b.done != nil {
		b.err = err
		close(b.done)
	} else {
		// No follower holds b: the next batch can be b again, which saves the
		// allocation in the common case of a batch of one.
		w.free = b
	}
	w.idle.Broadcast()
	w.mu.Unlock()
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// newBatch returns an empty batch, on the spare buffer when there is one. w.mu is held.
func (w *Writer) newBatch() *batch {
	b := w.free
	if b == nil {
		b = new(batch)
	}
	w.free = nil
	*b = batch{buf: w.spare}
	w.spare = nil
	return b
}

// Close makes later Writes fail with ErrClosed and waits until every Write that
// entered before it has been written. It does not close the underlying writer. Close
// is safe to call more than once.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	for w.pending > 0 {
		w.idle.Wait()
	}
	return nil
}
