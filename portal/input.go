package portal

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/pavedhq/paved/internal/errs"
	"github.com/pavedhq/paved/internal/input"
)

// checkPath answers 404 for a path holding a control character or a direction override: such a
// path names nothing, and must not reach a database that would choke on it.
func (s *Server) checkPath() gin.HandlerFunc {
	return func(c *gin.Context) {
		if !input.PathOK(c.Request.URL.Path) {
			s.fail(c, errs.E(errs.NotFound, "There is nothing at this address. It may have moved, or the link may be mistyped."))
			return
		}
		c.Next()
	}
}

// checkInput refuses, with a field error, any query, form or JSON value that holds a character
// Paved never accepts or is longer than any field allows (input.Check). It runs on every route
// after the access check, so each handler and domain function only sees clean text and both
// databases answer alike. Uploads are read as streams by their importers and are not buffered
// here.
func (s *Server) checkInput(c *gin.Context) {
	f := errs.Fields{}
	for k, vs := range c.Request.URL.Query() {
		input.Check(f, k, k, false)
		for _, v := range vs {
			input.Check(f, k, v, false)
		}
	}
	if err := s.checkBody(c, f); err != nil {
		s.fail(c, err)
		return
	}
	if err := f.Err(); err != nil {
		e, _ := errs.As(err)
		names := make([]string, 0, len(f))
		for k := range f {
			names = append(names, k)
		}
		sort.Strings(names)
		e.Message = "Some fields hold text Paved does not accept: " + strings.Join(names, ", ") + "."
		s.fail(c, e)
		return
	}
	c.Next()
}

func (s *Server) checkBody(c *gin.Context, f errs.Fields) error {
	r := c.Request
	if r.Body == nil || r.Body == http.NoBody || uploadPaths[r.URL.Path] {
		return nil
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case ct == "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return bodyError(err)
		}
		checkValues(f, r.PostForm)
	case ct == "multipart/form-data":
		if err := r.ParseMultipartForm(s.cfg.MaxBodyBytes); err != nil {
			return bodyError(err)
		}
		checkValues(f, r.MultipartForm.Value)
	case ct == "application/json" || strings.HasPrefix(r.URL.Path, "/api/"):
		raw, err := io.ReadAll(r.Body)
		if err != nil {
			return bodyError(err)
		}
		r.Body = io.NopCloser(bytes.NewReader(raw))
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var v any
		// Malformed JSON is left to the handler, which says what is wrong with it.
		if dec.Decode(&v) == nil {
			checkJSON(f, "", v)
		}
	}
	return nil
}

func bodyError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return err
	}
	return errs.Wrap(errs.Invalid, err, "The request body could not be read as a form.")
}

func checkValues(f errs.Fields, vals map[string][]string) {
	for k, vs := range vals {
		input.Check(f, k, k, false)
		for _, v := range vs {
			input.Check(f, k, v, true)
		}
	}
}

// checkJSON walks a decoded JSON value; field names are dotted paths ("pledge.cost_centre",
// "tags.2").
func checkJSON(f errs.Fields, path string, v any) {
	switch x := v.(type) {
	case string:
		input.Check(f, fieldName(path), x, true)
	case map[string]any:
		for k, e := range x {
			p := k
			if path != "" {
				p = path + "." + k
			}
			input.Check(f, fieldName(p), k, false)
			checkJSON(f, p, e)
		}
	case []any:
		for i, e := range x {
			checkJSON(f, path+"."+strconv.Itoa(i), e)
		}
	}
}

func fieldName(path string) string {
	if path == "" {
		return "body"
	}
	if strings.HasPrefix(path, ".") {
		return "body" + path
	}
	return path
}
