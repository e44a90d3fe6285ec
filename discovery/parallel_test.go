package discovery

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// parseOutcome is everything a parse produces, for comparing two ways of parsing.
type parseOutcome struct {
	stats      Stats
	events     []UsageEvent
	rejections []Rejection
	err        string
}

func parseAll(t *testing.T, p Parser, data []byte, stopAfter int) parseOutcome {
	t.Helper()
	var o parseOutcome
	stats, err := p.Parse(context.Background(), bytes.NewReader(data), func(e UsageEvent) error {
		o.events = append(o.events, e)
		if len(o.events) == stopAfter {
			return fmt.Errorf("stop after %d", stopAfter)
		}
		return nil
	}, func(r Rejection) error {
		o.rejections = append(o.rejections, r)
		return nil
	})
	o.stats = stats
	if err != nil {
		o.err = err.Error()
	}
	return o
}

// TestOktaParallelParseMatchesSequential parses every Okta input, good and broken, on one
// goroutine and with decoding spread over workers: the events, rejections (with their lines),
// counts and errors must be the same, in the same order, also when the caller stops the parse
// part-way. Each input is also cut short at several points, which puts a fatal error in
// different batches.
func TestOktaParallelParseMatchesSequential(t *testing.T) {
	var inputs []string
	for _, glob := range []string{"testdata/okta/*.json", "testdata/okta/*.ndjson", "testdata/bad/okta_*", "testdata/bad/*.bin", "testdata/bad/empty.json", "testdata/bad/entra_for_google.ndjson"} {
		m, err := filepath.Glob(glob)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, m...)
	}
	if len(inputs) < 8 {
		t.Fatalf("found only %d inputs", len(inputs))
	}
	seq := &OktaParser{Workers: 1}
	for _, path := range inputs {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		variants := map[string][]byte{"whole": data}
		if !strings.HasSuffix(path, ".gz") {
			for _, frac := range []int{3, 2} {
				variants[fmt.Sprintf("cut at 1/%d", frac)] = data[:len(data)/frac]
			}
		}
		for name, in := range variants {
			for _, stop := range []int{0, 1, 300} {
				want := parseAll(t, seq, in, stop)
				for _, workers := range []int{2, 5} {
					got := parseAll(t, &OktaParser{Workers: workers}, in, stop)
					if !reflect.DeepEqual(got, want) {
						t.Errorf("%s (%s, stop %d) with %d workers:\n got %+v, %d events, %d rejections, %q\nwant %+v, %d events, %d rejections, %q",
							path, name, stop, workers, got.stats, len(got.events), len(got.rejections), got.err, want.stats, len(want.events), len(want.rejections), want.err)
					}
				}
			}
		}
	}
}
