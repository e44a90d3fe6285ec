// Package markdown renders the small, safe subset of Markdown that comments need: paragraphs,
// line breaks, bullet lists, **bold**, *italic*, `code` and [links](https://…). Everything is
// HTML-escaped first and only the markup this package writes is trusted, so no input can add
// a tag, an attribute or a script.
package markdown

import (
	"html"
	"html/template"
	"net/url"
	"regexp"
	"strings"
)

var (
	codeRe   = regexp.MustCompile("`([^`\n]+)`")
	boldRe   = regexp.MustCompile(`\*\*([^*\n]+)\*\*`)
	italicRe = regexp.MustCompile(`\*([^*\n]+)\*`)
	// Links are matched on escaped text; the URL part may not contain spaces or quotes.
	linkRe = regexp.MustCompile(`\[([^\]\n]+)\]\(([^)\s"'<>]+)\)`)
)

// Render turns comment text into HTML that is safe to insert into a page.
func Render(src string) template.HTML {
	src = strings.ReplaceAll(strings.ReplaceAll(src, "\r\n", "\n"), "\r", "\n")
	var b strings.Builder
	for _, block := range strings.Split(src, "\n\n") {
		block = strings.Trim(block, "\n")
		if strings.TrimSpace(block) == "" {
			continue
		}
		lines := strings.Split(block, "\n")
		if isList(lines) {
			b.WriteString("<ul>")
			for _, l := range lines {
				b.WriteString("<li>")
				b.WriteString(inline(strings.TrimSpace(strings.TrimSpace(l)[1:])))
				b.WriteString("</li>")
			}
			b.WriteString("</ul>")
			continue
		}
		b.WriteString("<p>")
		for i, l := range lines {
			if i > 0 {
				b.WriteString("<br>")
			}
			b.WriteString(inline(l))
		}
		b.WriteString("</p>")
	}
	// Everything written above is escaped text or markup from this package only.
	return template.HTML(b.String()) //nolint:gosec // see the package comment
}

func isList(lines []string) bool {
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if !strings.HasPrefix(t, "- ") && !strings.HasPrefix(t, "* ") {
			return false
		}
	}
	return true
}

// inline escapes a line and then adds code, links, bold and italic.
func inline(s string) string {
	s = html.EscapeString(s)
	// Code spans first, and kept out of the other rules by a placeholder.
	var codes []string
	s = codeRe.ReplaceAllStringFunc(s, func(m string) string {
		codes = append(codes, "<code>"+codeRe.FindStringSubmatch(m)[1]+"</code>")
		return "\x00" + string(rune('0'+len(codes)-1)) + "\x00"
	})
	s = linkRe.ReplaceAllStringFunc(s, func(m string) string {
		p := linkRe.FindStringSubmatch(m)
		href := html.UnescapeString(p[2])
		u, err := url.Parse(href)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return m // not a web link: leave the text as typed
		}
		return `<a href="` + html.EscapeString(u.String()) + `" rel="nofollow noopener noreferrer">` + p[1] + `</a>`
	})
	s = boldRe.ReplaceAllString(s, "<strong>$1</strong>")
	s = italicRe.ReplaceAllString(s, "<em>$1</em>")
	for i, c := range codes {
		s = strings.Replace(s, "\x00"+string(rune('0'+i))+"\x00", c, 1)
	}
	return s
}
