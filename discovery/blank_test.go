package discovery

import (
	"bytes"
	"compress/gzip"
	"context"
	"strconv"
	"strings"
	"testing"
)

// Blank runs between records of any length are skipped without being kept, in an array and
// between NDJSON lines, and the lines of what follows stay right.
func TestLongBlankRunsAreSkipped(t *testing.T) {
	ev := func(id string) string {
		return `{"uuid":"` + id + `","published":"2026-03-06T07:06:36.254Z","eventType":"user.authentication.sso","actor":{"id":"00u1","type":"User","alternateId":"ann@example.com"},"outcome":{"result":"SUCCESS"},"target":[{"id":"0oaAAA","type":"AppInstance","displayName":"Lucidchart"}]}`
	}
	for _, n := range []int{10, blankKeep - 1, blankKeep, blankKeep + 1, 3 * blankKeep, 1 << 20, 5 << 20} {
		for name, in := range map[string]string{
			"array":       "[" + ev("a") + "," + strings.Repeat(" ", n) + ev("b") + "]",
			"array lines": "[" + ev("a") + "," + strings.Repeat("\n", n) + ev("b") + "]",
			"ndjson":      ev("a") + "\n" + strings.Repeat("\n", n) + ev("b") + "\n",
			"broken":      ev("a") + "\n" + strings.Repeat("\n", n) + `{"uuid":` + "\n",
		} {
			var got []string
			stats, err := (&OktaParser{}).Parse(context.Background(), strings.NewReader(in), func(e UsageEvent) error {
				got = append(got, e.SourceEventID)
				return nil
			}, nil)
			if name == "broken" {
				lines := 1 + strings.Count(in, "\n")
				if err == nil || !strings.Contains(err.Error(), "line "+strconv.Itoa(lines)) {
					t.Errorf("%s %d: %v, want an error at line %d", name, n, err, lines)
				}
				continue
			}
			if err != nil || len(got) != 2 || stats.Read != 2 {
				t.Errorf("%s %d: %v %v %+v", name, n, got, err, stats)
			}
		}
	}
}

// A compressed input that decompresses past the limit stops the parse with an error naming
// the limit, whatever the format.
func TestInflatedLimit(t *testing.T) {
	gz := func(s string) []byte {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write([]byte(s))
		_ = zw.Close()
		return buf.Bytes()
	}
	csvLog := gz("time,user,app\n" + strings.Repeat("2026-01-01T00:00:00Z,a@example.com,Miro\n", 50000))
	ev := `{"uuid":"a","published":"2026-03-06T07:06:36.254Z","eventType":"user.authentication.sso","actor":{"alternateId":"ann@example.com"},"target":[{"id":"0oaAAA","type":"AppInstance","displayName":"Lucidchart"}]}`
	inputs := map[string][]byte{"csv": csvLog, "okta": gz("[" + ev + "," + strings.Repeat(" ", 2<<20) + ev + "]")}
	for format, data := range inputs {
		r, err := Open(bytes.NewReader(data), WithMaxInflatedBytes(1<<20))
		if err != nil {
			t.Fatal(err)
		}
		p, _ := ParserFor(format)
		_, err = p.Parse(context.Background(), r, nil, nil)
		if err == nil || !strings.Contains(err.Error(), "more than 1048576 bytes") {
			t.Errorf("%s: %v, want the inflated limit named", format, err)
		}
	}
	// Under the limit, nothing changes.
	r, _ := Open(bytes.NewReader(csvLog), WithMaxInflatedBytes(10<<20))
	p, _ := ParserFor("csv")
	if st, err := p.Parse(context.Background(), r, nil, nil); err != nil || st.Emitted != 50000 {
		t.Errorf("under the limit: %+v, %v", st, err)
	}
}
