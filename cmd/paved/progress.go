package main

import (
	"fmt"
	"io"
	"sync/atomic"
	"time"
)

// progressReader counts the bytes read through it, for the import's progress line.
type progressReader struct {
	r    io.Reader
	read atomic.Int64
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.read.Add(int64(n))
	return n, err
}

// showProgress writes "name  45%  12.3/27.0 MB  8.1 MB/s  ETA 2s" to w every half second
// until stop is closed; the line is rewritten in place on a terminal.
func showProgress(w io.Writer, name string, total int64, p *progressReader, stop <-chan struct{}) {
	start := time.Now()
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-stop:
			fmt.Fprintf(w, "\r%s: done in %s%20s\n", name, time.Since(start).Round(time.Millisecond), "")
			return
		case <-t.C:
			fmt.Fprintf(w, "\r%s", progressLine(name, p.read.Load(), total, time.Since(start)))
		}
	}
}

// progressLine formats one progress report.
func progressLine(name string, done, total int64, elapsed time.Duration) string {
	mb := func(n int64) float64 { return float64(n) / (1 << 20) }
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = mb(done) / s
	}
	line := fmt.Sprintf("%s  %.1f MB  %.1f MB/s", name, mb(done), rate)
	if total > 0 {
		pct := 100 * done / total
		eta := "?"
		if rate > 0 {
			eta = (time.Duration((mb(total) - mb(done)) / rate * float64(time.Second))).Round(time.Second).String()
		}
		line = fmt.Sprintf("%s  %3d%%  %.1f/%.1f MB  %.1f MB/s  ETA %s", name, pct, mb(done), mb(total), rate, eta)
	}
	return line
}
