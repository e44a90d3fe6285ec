package auth

import (
	"net/url"
	"strings"
)

// SafeReturnPath returns p if it is a path on this site, and "/" otherwise. It refuses
// everything a browser could read as another origin: "//evil.example" and "/\evil.example"
// (protocol-relative), "https://evil.example", and control characters that browsers strip.
func SafeReturnPath(p string) string {
	if p == "" || len(p) > 2048 || p[0] != '/' {
		return "/"
	}
	if strings.HasPrefix(p, "//") || strings.ContainsAny(p, "\\") {
		return "/"
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f {
			return "/"
		}
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	// Defence in depth: a path that decodes to a protocol-relative or backslashed one is refused
	// too, in case something along the way decodes it.
	if dec, err := url.PathUnescape(u.EscapedPath()); err != nil || strings.HasPrefix(dec, "//") || strings.Contains(dec, "\\") {
		return "/"
	}
	// Sign-in pages themselves are never a destination: returning there would loop.
	if strings.HasPrefix(u.Path, "/auth/") {
		return "/"
	}
	return p
}
