package auth

import "testing"

func TestSafeReturnPath(t *testing.T) {
	tests := map[string]string{
		"":                          "/",
		"/":                         "/",
		"/account":                  "/account",
		"/apps?q=slack&status=ok":   "/apps?q=slack&status=ok",
		"//evil.example":            "/",
		"//evil.example/path":       "/",
		"https://evil.example":      "/",
		"http:/evil.example":        "/",
		"/\\evil.example":           "/",
		"\\\\evil.example":          "/",
		"/\t/evil.example":          "/",
		"/%0d%0aSet-Cookie:x":       "/%0d%0aSet-Cookie:x", // stays encoded: harmless as a path
		"/%5Cevil.example":          "/",
		"/%2F%2Fevil.example":       "/",
		"javascript:alert(1)":       "/",
		"evil.example":              "/",
		"/auth/login?next=/account": "/",
	}
	for in, want := range tests {
		if got := SafeReturnPath(in); got != want {
			t.Errorf("SafeReturnPath(%q) = %q, want %q", in, got, want)
		}
	}
}
