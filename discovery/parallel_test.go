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

// TestOktaParallelParseMatchesSequential parses every Okta input, good and broken (fixtures and
// crafted ones), with encoding/json's reader on one goroutine, and with the fast reader on one
// goroutine and with decoding spread over workers: the events, rejections (with their lines),
// counts and errors must be the same, in the same order, also when the caller stops the parse
// part-way. Each input is also cut short at several points, which puts a fatal error inside
// strings, numbers, between records and in different batches.
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
	// The reference reads with encoding/json only, on one goroutine.
	ref := &OktaParser{Workers: 1, slowReader: true}
	crafted := map[string]string{
		"trailing garbage":        `[{"uuid":"a","eventType":"x"}] x`,
		"two arrays":              `[{"uuid":"a","eventType":"x"}][{"uuid":"b","eventType":"x"}]`,
		"array then object":       `[{"uuid":"a","eventType":"x"}] {"uuid":"b","eventType":"x"}`,
		"empty array":             `[]`,
		"blank array":             "[ \n ]",
		"ndjson then garbage":     "{\"uuid\":\"a\",\"eventType\":\"x\"}\n{\"uuid\":\"b\"}\n]",
		"ndjson then array":       "{\"uuid\":\"a\",\"eventType\":\"x\"}\n[{\"uuid\":\"b\",\"eventType\":\"x\"}]",
		"missing comma":           `[{"uuid":"a","eventType":"x"} {"uuid":"b","eventType":"x"}]`,
		"trailing comma":          `[{"uuid":"a","eventType":"x"},]`,
		"bad escape":              `[{"uuid":"a","eventType":"x"},{"uuid":"\q"}]`,
		"leading zero":            `[{"uuid":"a","eventType":"x","n":01}]`,
		"control character":       "[{\"uuid\":\"a\tb\",\"eventType\":\"x\"}]",
		"number element":          `[{"uuid":"a","eventType":"x"},7]`,
		"string at top":           `"x"`,
		"nested":                  `[{"uuid":"a","eventType":"user.authentication.sso","x":[[[{"y":[1,2.5e-3,-0,true,false,null,"\u00e9\n"]}]]]}]`,
		"unicode escape cut":      `[{"uuid":"a\u00`,
		"truncated after comma":   `[{"uuid":"a","eventType":"x"},`,
		"wrong type":              `[{"uuid":"a","eventType":"x"},{"uuid":5,"eventType":"x"}]`,
		"bom and blank lines":     "\ufeff\n\n[{\"uuid\":\"a\",\"eventType\":\"x\"}]\n\n",
		"deep":                    "[" + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + "]",
		"object with bad literal": `{"uuid":"a","eventType":nul}`,
	}
	for name, in := range crafted {
		inputs = append(inputs, "crafted: "+name)
		crafted[name] = in
	}
	for _, path := range inputs {
		var data []byte
		if name, ok := strings.CutPrefix(path, "crafted: "); ok {
			data = []byte(crafted[name])
		} else {
			var err error
			if data, err = os.ReadFile(path); err != nil {
				t.Fatal(err)
			}
		}
		variants := map[string][]byte{"whole": data}
		if !strings.HasSuffix(path, ".gz") {
			// Cuts land inside strings, escapes, numbers, between records and after the end.
			for _, frac := range []int{3, 2} {
				variants[fmt.Sprintf("cut at 1/%d", frac)] = data[:len(data)/frac]
			}
			for _, at := range []int{1, 2, 17, 333, 1000, 2001, 4099} {
				if at < len(data) {
					variants[fmt.Sprintf("cut at %d", at)] = data[:len(data)-at]
				}
			}
		}
		for name, in := range variants {
			for _, stop := range []int{0, 1, 300} {
				want := parseAll(t, ref, in, stop)
				if got := parseAll(t, &OktaParser{Workers: 1}, in, stop); !reflect.DeepEqual(got, want) {
					t.Errorf("%s (%s, stop %d) with the fast reader:\n got %+v, %d events, %d rejections, %q\nwant %+v, %d events, %d rejections, %q",
						path, name, stop, got.stats, len(got.events), len(got.rejections), got.err, want.stats, len(want.events), len(want.rejections), want.err)
				}
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

// FuzzOktaReaders checks that the fast reader and encoding/json's give the same events,
// rejections and errors for any input.
//
//	go test ./discovery -run '^$' -fuzz FuzzOktaReaders -fuzztime 60s
func FuzzOktaReaders(f *testing.F) {
	for _, p := range []string{"testdata/okta/logs.ndjson", "testdata/bad/okta_truncated.json", "testdata/bad/okta_trailing_garbage.json"} {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data[:min(len(data), 4000)])
	}
	f.Add([]byte(`[{"uuid":"a","eventType":"x"},{"uuid":"b\u00e9","n":-1.5e+2}] `))
	f.Fuzz(func(t *testing.T, data []byte) {
		want := parseAll(t, &OktaParser{Workers: 1, slowReader: true}, data, 0)
		got := parseAll(t, &OktaParser{Workers: 1}, data, 0)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("fast reader: %+v %q\nencoding/json: %+v %q", got.stats, got.err, want.stats, want.err)
		}
	})
}
