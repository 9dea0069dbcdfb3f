package zendesk

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// Kind sorts Zendesk's failures by what a person should be told.
type Kind int

const (
	Rejected    Kind = iota + 1 // Zendesk said no: invalid_grant, invalid_client, a 401, 403, 404, 422...
	Unavailable                 // Zendesk answered 5xx
	Unreachable                 // no connection: refused, DNS; nothing was sent
	NoAnswer                    // the connection broke before the answer: reset, closed
	TimedOut                    // no answer in time
	RateLimited                 // 429
	BadAnswer                   // an answer that cannot be used
)

// Error is every failure of a call to Zendesk. Its message never contains
// a response body, a token or a secret, so it is safe to log.
type Error struct {
	Op         string // OpExchange, OpRefresh, or "METHOD path" of an API call
	Kind       Kind
	Status     int    // Zendesk's HTTP status; 0 when there was none
	Code       string // Zendesk's "error" field, e.g. "invalid_grant"
	RetryAfter time.Duration
	Err        error

	// Zendesk's own words about a refused request, shortened, for a page
	// to show (never in Error()): its description, the scopes a 403 says
	// are missing, and what is wrong with each field of a record.
	Description  string
	MissingScope string
	Fields       map[string][]string
}

func (e *Error) Error() string {
	msg := "zendesk: " + e.Op
	if e.Status != 0 {
		msg += fmt.Sprintf(": status %d", e.Status)
	}
	if e.Code != "" {
		msg += ": " + clip(e.Code, 64)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Transient reports whether err is Zendesk failing for now, not refusing:
// busy, unavailable, unreachable or late. A caller that gave up (its
// context canceled) is not.
func Transient(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind != Rejected && e.Kind != BadAnswer && !errors.Is(err, context.Canceled)
}

// Unauthorized reports whether err is Zendesk's 401, whatever its body
// says: RFC 6750's invalid_token, or "Couldn't authenticate you".
func Unauthorized(err error) bool {
	return HasStatus(err, http.StatusUnauthorized)
}

// HasStatus reports whether err is Zendesk refusing with that status.
func HasStatus(err error, status int) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == Rejected && e.Status == status
}

// HasCode reports whether err is Zendesk refusing with that error code,
// e.g. "invalid_grant".
func HasCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == Rejected && e.Code == code
}

// clip cuts s to at most n bytes of valid UTF-8, for Zendesk's words in
// errors and pages.
func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
