package discovery

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"testing"
)

// The fuzz targets feed arbitrary bytes to each parser. Seed corpora are in
// testdata/fuzz/FuzzXxx (written by internal/fixturegen); run one with e.g.
//
//	go test ./discovery -run '^$' -fuzz '^FuzzOkta$' -fuzztime 30s
//
// A parser must never panic, and must end either with a *ParseError naming a line of the input
// or with its records all accounted for (emitted, skipped or rejected with a line), every event
// valid, and the same result when run again.

func FuzzOkta(f *testing.F)   { fuzzParser(f, FormatOkta) }
func FuzzEntra(f *testing.F)  { fuzzParser(f, FormatEntra) }
func FuzzGoogle(f *testing.F) { fuzzParser(f, FormatGoogle) }
func FuzzCSV(f *testing.F)    { fuzzParser(f, FormatCSV) }

func fuzzParser(f *testing.F, format string) {
	f.Add([]byte("[]"))
	f.Add([]byte("{}\n{}\n"))
	f.Add([]byte("time,user,app\n2024-03-05T10:00:00Z,a@b.example,Slack\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		first := checkedParse(t, format, data)
		again := checkedParse(t, format, data)
		if !reflect.DeepEqual(first, again) {
			t.Fatalf("a second parse of the same input differs")
		}
	})
}

type fuzzResult struct {
	stats  Stats
	events []UsageEvent
	rejs   []Rejection
	err    string
}

func checkedParse(t *testing.T, format string, data []byte) fuzzResult {
	p, err := ParserFor(format)
	if err != nil {
		t.Fatal(err)
	}
	var res fuzzResult
	st, perr := p.Parse(context.Background(), bytes.NewReader(data),
		func(e UsageEvent) error { res.events = append(res.events, e); return nil },
		func(r Rejection) error { res.rejs = append(res.rejs, r); return nil })
	res.stats = st
	if st.Read != st.Emitted+st.Skipped+st.Rejected || st.Emitted != len(res.events) || st.Rejected != len(res.rejs) {
		t.Fatalf("counts do not add up: %+v, %d events, %d rejections", st, len(res.events), len(res.rejs))
	}
	// Lines can be checked against the input unless it was compressed.
	maxLine := 1 + bytes.Count(data, []byte{'\n'})
	if bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
		maxLine = 1 << 30
	}
	for _, e := range res.events {
		if err := e.Validate(); err != nil {
			t.Fatalf("invalid event %+v: %v", e, err)
		}
	}
	for _, r := range res.rejs {
		if r.Line < 1 || r.Line > maxLine || r.Reason == "" || len(r.Excerpt) > maxExcerptSize {
			t.Fatalf("bad rejection %+v (input has %d lines)", r, maxLine)
		}
	}
	if perr != nil {
		var pe *ParseError
		if !errors.As(perr, &pe) {
			t.Fatalf("error is not a *ParseError: %v", perr)
		}
		if pe.Line < 1 || pe.Line > maxLine || pe.Format != format {
			t.Fatalf("error names line %d of %d: %v", pe.Line, maxLine, perr)
		}
		res.err = perr.Error()
	}
	return res
}
