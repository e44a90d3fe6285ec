package markdown

import (
	"strings"
	"testing"
)

func TestRender(t *testing.T) {
	tests := []struct{ in, want string }{
		{"hello", "<p>hello</p>"},
		{"one\ntwo\n\nthree", "<p>one<br>two</p><p>three</p>"},
		{"**bold** and *it*", "<p><strong>bold</strong> and <em>it</em></p>"},
		{"use `a <b>` here", "<p>use <code>a &lt;b&gt;</code> here</p>"},
		{"- a\n- b", "<ul><li>a</li><li>b</li></ul>"},
		{"[docs](https://example.com/a?b=1&c=2)", `<p><a href="https://example.com/a?b=1&amp;c=2" rel="nofollow noopener noreferrer">docs</a></p>`},
		{"<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"},
		{"[x](javascript:alert(1))", "<p>[x](javascript:alert(1))</p>"},
		{`[x](https://e.com/" onmouseover="y)`, `<p>[x](https://e.com/&#34; onmouseover=&#34;y)</p>`},
		{"<img src=x onerror=alert(1)>", "<p>&lt;img src=x onerror=alert(1)&gt;</p>"},
		{"`**not bold**`", "<p><code>**not bold**</code></p>"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := string(Render(tt.in)); got != tt.want {
			t.Errorf("Render(%q) =\n %s\nwant\n %s", tt.in, got, tt.want)
		}
	}
}

func FuzzRenderNeverLetsTagsThrough(f *testing.F) {
	for _, s := range []string{"<b>x</b>", "[a](https://x.y)", "**a** `b` *c*", "- a\n- <i>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := string(Render(s))
		// Only the tags this package writes may appear.
		rest := out
		for _, tag := range []string{"<p>", "</p>", "<br>", "<ul>", "</ul>", "<li>", "</li>", "<strong>", "</strong>", "<em>", "</em>", "<code>", "</code>", "</a>"} {
			rest = strings.ReplaceAll(rest, tag, "")
		}
		for {
			i := strings.Index(rest, `<a href="`)
			if i < 0 {
				break
			}
			j := strings.Index(rest[i:], `rel="nofollow noopener noreferrer">`)
			if j < 0 {
				t.Fatalf("malformed link in %q", out)
			}
			rest = rest[:i] + rest[i+j+len(`rel="nofollow noopener noreferrer">`):]
		}
		if strings.Contains(rest, "<") {
			t.Fatalf("Render(%q) let markup through: %q", s, out)
		}
	})
}
