package discovery

import (
	"bytes"
	"context"
	"runtime"
	"sync"
)

// rawRecord is one JSON record's text and the line it starts on.
type rawRecord struct {
	raw  []byte
	line int
}

// head returns at most n bytes of b.
func head(b []byte, n int) []byte { return b[:min(len(b), n)] }

// recordBatch is a run of consecutive records: a worker decodes them into out, then they are
// handed on in input order.
type recordBatch[R any] struct {
	recs []rawRecord
	out  []R
	err  error         // what stopped the reader after these records, if anything
	done chan struct{} // closed once out is filled
}

// parallelBatch is how many records travel together: enough to make the hand-over cheap, few
// enough that the records in flight take a few MB.
const parallelBatch = 256

// parseWorkers is how many goroutines decode records: one per CPU. With one CPU the parsers read
// and decode on one goroutine instead, which is cheaper than handing records over.
func parseWorkers() int { return runtime.GOMAXPROCS(0) }

// eachRaw reads each record of a log as raw JSON (see eachRecord); broken JSON stops it with
// the same *ParseError as a decode would.
func (s *jsonStream) eachRaw(next func(rawRecord) error) error {
	one := func() error {
		pos, _, err := s.decode(nil)
		if err != nil {
			return err
		}
		return next(rawRecord{raw: bytes.Clone(s.tr.bytesOf(pos.start, pos.end, int(pos.end-pos.start))), line: pos.line})
	}
	return s.eachRecord(one, one)
}

// parseParallel splits decoding from reading: read runs on its own goroutine, finding where each
// record ends and stopping at broken JSON; decode runs on workers; apply runs on the caller's
// goroutine and sees every record's result in input order. The first error, in input order,
// from apply or from the reader ends the parse: every record before it was applied, none after.
func parseParallel[R any](ctx context.Context, workers int, read func(next func(rawRecord) error) error,
	decode func(rawRecord) R, apply func(rawRecord, R) error) error {
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	work := make(chan *recordBatch[R], workers)
	order := make(chan *recordBatch[R], 2*workers+2)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for b := range work {
				b.out = make([]R, len(b.recs))
				for i, rec := range b.recs {
					b.out[i] = decode(rec)
				}
				close(b.done)
			}
		})
	}
	newBatch := func() *recordBatch[R] {
		return &recordBatch[R]{recs: make([]rawRecord, 0, parallelBatch), done: make(chan struct{})}
	}
	// A batch goes to a worker before it is queued for apply, so apply never waits for a batch
	// no worker has.
	send := func(b *recordBatch[R]) error {
		select {
		case work <- b:
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case order <- b:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	wg.Go(func() {
		defer close(order)
		defer close(work)
		cur := newBatch()
		err := read(func(rec rawRecord) error {
			cur.recs = append(cur.recs, rec)
			if len(cur.recs) < parallelBatch {
				return nil
			}
			b := cur
			cur = newBatch()
			return send(b)
		})
		cur.err = err
		_ = send(cur)
	})
	defer func() {
		cancel()
		for range order { // let the reader finish
		}
		wg.Wait()
	}()
	for b := range order {
		<-b.done
		for i, rec := range b.recs {
			if err := apply(rec, b.out[i]); err != nil {
				return err
			}
		}
		if b.err != nil {
			return b.err
		}
	}
	// The reader stops early only when the caller's context ends.
	return parent.Err()
}
