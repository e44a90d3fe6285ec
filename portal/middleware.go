package portal

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/pavedhq/paved/internal/errs"
)

const requestIDKey = "request_id"

// requestID tags each request with an id, taken from a trusted-looking X-Request-Id header
// (a proxy's) or made here, echoed in the response and in every log line about the request.
func requestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader("X-Request-Id")
		if !validRequestID(id) {
			id = newRequestID()
		}
		c.Set(requestIDKey, id)
		c.Header("X-Request-Id", id)
		c.Next()
	}
}

func newRequestID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// RequestIDOf returns the request's id.
func RequestIDOf(c *gin.Context) string { return c.GetString(requestIDKey) }

// accessLog writes one line per request after it is answered.
func accessLog(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		level := slog.LevelInfo
		if c.Writer.Status() >= 500 {
			level = slog.LevelError
		}
		log.LogAttrs(c.Request.Context(), level, "request",
			slog.String("method", c.Request.Method),
			slog.String("path", c.Request.URL.Path),
			slog.String("route", c.FullPath()),
			slog.Int("status", c.Writer.Status()),
			slog.Int("bytes", c.Writer.Size()),
			slog.Duration("duration", time.Since(start)),
			slog.String("remote", c.ClientIP()),
			slog.String("request_id", RequestIDOf(c)),
		)
	}
}

// recovery turns a panic into a logged stack trace and a clean 500 page.
func (s *Server) recovery() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if p := recover(); p != nil {
				if err, ok := p.(error); ok && errors.Is(err, http.ErrAbortHandler) {
					panic(p)
				}
				s.log.ErrorContext(c.Request.Context(), "panic serving request",
					"panic", fmt.Sprint(p), "path", c.Request.URL.Path, "request_id", RequestIDOf(c), "stack", string(debug.Stack()))
				if !c.Writer.Written() {
					s.fail(c, errs.E(errs.Internal, "panic"))
				}
				c.Abort()
			}
		}()
		c.Next()
	}
}

// securityHeaders sets headers that make the browser refuse what Paved never needs: inline
// scripts, framing, MIME sniffing, and leaking full URLs to other sites.
func (s *Server) securityHeaders() gin.HandlerFunc {
	formAction := "'self'"
	if s.formActionExtra != "" {
		// Sign-out posts to Paved, which redirects to the identity provider; browsers apply
		// form-action to that redirect too.
		formAction += " " + s.formActionExtra
	}
	csp := strings.Join([]string{
		"default-src 'self'",
		"script-src 'self'",
		"style-src 'self'",
		"img-src 'self' data: https:",
		"font-src 'self'",
		"connect-src 'self'",
		"object-src 'none'",
		"base-uri 'self'",
		"form-action " + formAction,
		"frame-ancestors 'none'",
	}, "; ")
	secure := s.cfg.Secure()
	return func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
		if secure {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		c.Next()
	}
}

// bodyLimit refuses bodies over limit: at once when Content-Length says so, and otherwise when
// a handler reads past it (http.MaxBytesReader), which handlers report as 413.
func (s *Server) bodyLimit(general, upload int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		limit := general
		if uploadPaths[c.Request.URL.Path] && upload > general {
			limit = upload
		}
		if c.Request.ContentLength > limit {
			s.fail(c, errs.E(errs.TooLarge, "The request is larger than the %d bytes this server accepts.", limit))
			c.Abort()
			return
		}
		if c.Request.Body != nil {
			c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
		}
		c.Next()
	}
}
