package portal

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/pavedhq/paved/internal/errs"
	"github.com/pavedhq/paved/web"
)

// codeMethodNotAllowed is the router's own answer to a known path with another method; no
// domain function returns it.
const codeMethodNotAllowed errs.Code = "method_not_allowed"

// statusOf is the one map from error codes to HTTP status.
var statusOf = map[errs.Code]int{
	errs.Invalid:         http.StatusBadRequest,
	errs.NotFound:        http.StatusNotFound,
	errs.Conflict:        http.StatusConflict,
	errs.Unauthorized:    http.StatusUnauthorized,
	errs.Forbidden:       http.StatusForbidden,
	errs.TooLarge:        http.StatusRequestEntityTooLarge,
	errs.Unavailable:     http.StatusServiceUnavailable,
	errs.Internal:        http.StatusInternalServerError,
	codeMethodNotAllowed: http.StatusMethodNotAllowed,
	codeTooManyRequests:  http.StatusTooManyRequests,
}

// titles are what the error page says for each status.
var titles = map[int]string{
	http.StatusBadRequest:            "That request could not be understood",
	http.StatusNotFound:              "Page not found",
	http.StatusMethodNotAllowed:      "Method not allowed",
	http.StatusTooManyRequests:       "Too many requests",
	http.StatusConflict:              "That change conflicts with another",
	http.StatusUnauthorized:          "Please sign in",
	http.StatusForbidden:             "You do not have access to this page",
	http.StatusRequestEntityTooLarge: "That upload is too large",
	http.StatusServiceUnavailable:    "Paved is temporarily unavailable",
	http.StatusInternalServerError:   "Something went wrong",
}

// APIError is the JSON body of every error answer.
type APIError struct {
	Error APIErrorBody `json:"error"`
}

// APIErrorBody says what went wrong, per field when input was invalid.
type APIErrorBody struct {
	Code      errs.Code         `json:"code"`
	Message   string            `json:"message"`
	Fields    map[string]string `json:"fields,omitempty"`
	RequestID string            `json:"request_id"`
}

// wantsJSON tells API clients (which get JSON errors) from browsers (which get pages).
func wantsJSON(c *gin.Context) bool { return requestWantsJSON(c.Request) }

func requestWantsJSON(r *http.Request) bool {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		return true
	}
	accept := r.Header.Get("Accept")
	return strings.Contains(accept, "application/json") && !strings.Contains(accept, "text/html")
}

// fail answers with err. Only coded errors show their message; anything else is logged with the
// request id and shown as a generic message, so internal details never reach users.
func (s *Server) fail(c *gin.Context, err error) {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		err = errs.Wrap(errs.TooLarge, err, "The request is larger than the %d bytes this server accepts.", mbe.Limit)
	}
	e, ok := errs.As(err)
	if !ok {
		e = &errs.Error{Code: errs.Internal, Err: err}
	}
	status := statusOf[e.Code]
	if status == 0 {
		status = http.StatusInternalServerError
	}
	msg := e.Message
	if status >= 500 {
		s.log.ErrorContext(c.Request.Context(), "request failed", "err", err, "path", c.Request.URL.Path, "request_id", RequestIDOf(c))
		if e.Code == errs.Internal || msg == "" {
			msg = "An unexpected error occurred. It has been logged; please try again, and quote the request id if it persists."
		}
	}
	if wantsJSON(c) {
		c.AbortWithStatusJSON(status, APIError{Error: APIErrorBody{Code: e.Code, Message: msg, Fields: e.Fields, RequestID: RequestIDOf(c)}})
		return
	}
	s.renderStatus(c, status, web.ErrorView{Status: status, Title: titles[status], Message: msg})
	c.Abort()
}

// render writes a full HTML page with the common layout filled in for this request.
func (s *Server) render(c *gin.Context, status int, page, title string, data any) {
	p := s.page(c, title)
	p.Data = data
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Header("Cache-Control", "no-store")
	c.Status(status)
	if err := s.views.Render(c.Writer, page, p); err != nil {
		s.log.ErrorContext(c.Request.Context(), "render page", "page", page, "err", err, "request_id", RequestIDOf(c))
	}
}

func (s *Server) renderStatus(c *gin.Context, status int, v web.ErrorView) {
	if v.Title == "" {
		v.Title = http.StatusText(status)
	}
	s.render(c, status, "error", v.Title, v)
}

// errInvalidField is a one-field validation error.
func errInvalidField(field, message string) error {
	f := errs.Fields{}
	f.Add(field, message)
	return f.Err()
}

// parseLimit reads a page size between 1 and 1000.
func parseLimit(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1000 {
		return 0, errInvalidField("limit", "Use a number from 1 to 1000.")
	}
	return n, nil
}

// statusOfErr is the HTTP status of err, for handlers that re-render a form.
func statusOfErr(err error) int {
	if st := statusOf[errs.CodeOf(err)]; st != 0 {
		return st
	}
	return http.StatusInternalServerError
}
