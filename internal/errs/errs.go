// Package errs is Paved's one error vocabulary: domain functions return an *Error with a code,
// a message safe to show to the user and optional field errors; the portal maps codes to HTTP
// status in one place. Any other error is internal and its text is never shown to users.
package errs

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Code classifies an error for callers and for the HTTP status it maps to.
type Code string

// The codes. Keep the set small: each one has to mean something different to a caller.
const (
	Invalid      Code = "invalid"      // bad input; Fields says which
	NotFound     Code = "not_found"    // the object does not exist (or is not visible to the caller)
	Conflict     Code = "conflict"     // a uniqueness or state rule refused the change
	Unauthorized Code = "unauthorized" // not signed in, or the credential is not valid
	Forbidden    Code = "forbidden"    // signed in but not allowed
	TooLarge     Code = "too_large"    // the request body is over the limit
	Unavailable  Code = "unavailable"  // a dependency (database, index, provider) is down
	Internal     Code = "internal"     // anything else; the message is not shown to users
)

// Error is a coded error. Message is written for the person who caused it.
type Error struct {
	Code    Code
	Message string
	// Fields maps a form or JSON field name to what is wrong with it.
	Fields map[string]string
	// Err is the underlying cause, kept for logs and errors.Is; never shown to users.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(string(e.Code))
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if len(e.Fields) > 0 {
		keys := make([]string, 0, len(e.Fields))
		for k := range e.Fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "; %s: %s", k, e.Fields[k])
		}
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// E builds a coded error with a formatted message.
func E(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap builds a coded error that keeps err as its cause.
func Wrap(code Code, err error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// Fields collects field errors while validating input; Err returns nil when there were none.
type Fields map[string]string

// Add records a problem with field unless one is already recorded for it.
func (f Fields) Add(field, message string) {
	if _, ok := f[field]; !ok {
		f[field] = message
	}
}

// Err returns an Invalid error carrying the field errors, or nil when there are none.
func (f Fields) Err() error {
	if len(f) == 0 {
		return nil
	}
	return &Error{Code: Invalid, Message: "Please correct the highlighted fields.", Fields: f}
}

// Merge joins the field errors of several validations into one Invalid error, so a form
// shows every mistake at once; nil errors are skipped. Any error that is not Invalid wins.
func Merge(list ...error) error {
	f := Fields{}
	for _, err := range list {
		if err == nil {
			continue
		}
		e, ok := As(err)
		if !ok || e.Code != Invalid {
			return err
		}
		for k, v := range e.Fields {
			f.Add(k, v)
		}
		if len(e.Fields) == 0 {
			return err
		}
	}
	return f.Err()
}

// CodeOf returns the code of the first *Error in err's chain, or Internal.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// As returns the first *Error in err's chain.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// Is reports whether err carries code.
func Is(err error, code Code) bool { return err != nil && CodeOf(err) == code }
