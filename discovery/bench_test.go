package discovery

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pavedhq/paved/internal/fixturegen"
)

// BenchmarkParseOkta parses a generated 100,000-event Okta System Log (a JSON array, one event
// per line, about 150 MB; written to a temporary folder, not committed) and reports events/s
// for parse + normalise on one goroutine.
//
//	go test ./discovery -run '^$' -bench ParseOkta -benchtime 3x
func BenchmarkParseOkta(b *testing.B) {
	const events = 100_000
	path := filepath.Join(b.TempDir(), "okta.json")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := fixturegen.WriteOkta(f, events, 1); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	p := &OktaParser{}
	b.SetBytes(info.Size())
	b.ReportAllocs()
	b.ResetTimer()
	var elapsed time.Duration
	for b.Loop() {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		st, err := p.Parse(context.Background(), f, func(UsageEvent) error { return nil }, nil)
		elapsed += time.Since(start)
		f.Close()
		if err != nil || st.Read != events {
			b.Fatalf("%+v %v", st, err)
		}
	}
	b.ReportMetric(float64(events)*float64(b.N)/elapsed.Seconds(), "events/s")
}
