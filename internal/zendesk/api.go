package zendesk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxResponseBytes caps every body read from Zendesk, so a broken or
// hostile upstream cannot make the app buffer without limit.
const maxResponseBytes = 1 << 20

// Request is one request to a Zendesk instance.
type Request struct {
	Method    string
	Subdomain string // which instance
	Path      string // with its query, e.g. "/api/v2/users/me.json"
	// Token, when set, goes in the Authorization header: the only place an
	// access token is sent (RFC 6750 §2.1, never a URL).
	Token string
	Body  any // sent as JSON when not nil
	// IdempotencyKey, when set, makes a create safe to repeat: Zendesk
	// answers a repeat with the same key with the first result
	// (https://developer.zendesk.com/api-reference/ticketing/introduction/#idempotency).
	IdempotencyKey string
}

// Do makes one request and decodes a 2xx JSON reply into out (nil: ignore
// the body). Every failure at Zendesk's end is an *Error. An error of any
// other type is the caller's own: a body JSON cannot encode, a path or a
// header that no request can carry. Such a request never leaves.
func (c *Config) Do(ctx context.Context, req Request, out any) error {
	path, _, _ := strings.Cut(req.Path, "?")
	return c.do(ctx, req.Method+" "+path, req, out)
}

// do is Do, naming the request op in errors.
func (c *Config) do(ctx context.Context, op string, req Request, out any) error {
	httpReq, err := c.newRequest(ctx, req)
	if err != nil {
		return fmt.Errorf("zendesk: %s: %w", op, err)
	}
	resp, err := c.httpClient().Do(httpReq)
	if err != nil {
		return &Error{Op: op, Kind: transportKind(err), Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return &Error{Op: op, Kind: transportKind(err), Status: resp.StatusCode, Err: err}
	}
	if len(body) > maxResponseBytes {
		return &Error{Op: op, Kind: BadAnswer, Status: resp.StatusCode, Err: errors.New("reply larger than 1 MiB")}
	}

	// Zendesk's error shape is RFC 6749 §5.2's, or the API's own with a
	// description and field details; a 2xx carrying an error is still an
	// error.
	var zErr errorBody
	isJSON := hasJSONContentType(resp.Header)
	if isJSON {
		_ = json.Unmarshal(body, &zErr) // best effort: a non-object body is checked below
	}
	code, _ := zErr.Error.(string)
	ok := resp.StatusCode >= 200 && resp.StatusCode < 300
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return &Error{Op: op, Kind: RateLimited, Status: resp.StatusCode, Code: code, RetryAfter: retryAfter(resp.Header, c.now())}
	case resp.StatusCode >= 500:
		return &Error{Op: op, Kind: Unavailable, Status: resp.StatusCode, Code: code}
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return &Error{Op: op, Kind: BadAnswer, Status: resp.StatusCode, Err: errors.New("unexpected redirect")}
	case !ok:
		e := &Error{Op: op, Kind: Rejected, Status: resp.StatusCode, Code: code}
		zErr.describe(e)
		return e
	case zErr.Error != nil:
		// A success status with an error body contradicts itself: trust
		// neither half.
		return &Error{Op: op, Kind: BadAnswer, Status: resp.StatusCode, Code: code, Err: errors.New("success status with an error body")}
	case out == nil:
		return nil
	case !isJSON:
		return &Error{Op: op, Kind: BadAnswer, Status: resp.StatusCode, Err: fmt.Errorf("content type %q is not JSON", clip(resp.Header.Get("Content-Type"), 64))}
	}
	if err := json.Unmarshal(body, out); err != nil {
		return &Error{Op: op, Kind: BadAnswer, Status: resp.StatusCode, Err: fmt.Errorf("invalid JSON: %w", err)}
	}
	return nil
}

// newRequest builds req. It refuses what would otherwise fail on the way
// out and read as Zendesk's fault: a body that does not encode, a header
// value net/http would not send.
func (c *Config) newRequest(ctx context.Context, req Request) (*http.Request, error) {
	var body io.Reader
	if req.Body != nil {
		b, err := json.Marshal(req.Body)
		if err != nil {
			return nil, fmt.Errorf("encoding the request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	httpReq, err := http.NewRequestWithContext(ctx, req.Method, c.baseURL(req.Subdomain)+req.Path, body)
	if err != nil {
		return nil, fmt.Errorf("building the request: %w", err)
	}
	for name, values := range c.Header {
		httpReq.Header[name] = values
	}
	httpReq.Header.Set("Accept", "application/json")
	if req.Body != nil {
		httpReq.Header.Set("Content-Type", "application/json")
	}
	if req.Token != "" {
		httpReq.Header.Set("Authorization", "Bearer "+req.Token)
	}
	if req.IdempotencyKey != "" {
		httpReq.Header.Set("Idempotency-Key", req.IdempotencyKey)
	}
	for name, values := range httpReq.Header {
		for _, v := range values {
			if !ValidHeaderValue(v) {
				return nil, fmt.Errorf("the %s header is not a valid header value", name) // not the value: it may be a token
			}
		}
	}
	return httpReq, nil
}

// ValidHeaderValue reports whether v can be sent as a header value:
// printable ASCII and spaces, as the settings that become headers must be.
// (RFC 9110 §5.5 allows more bytes, but no Zendesk header needs them.)
func ValidHeaderValue(v string) bool {
	for i := range len(v) {
		if v[i] < ' ' || v[i] > '~' {
			return false
		}
	}
	return true
}

// errorBody is what Zendesk says of a refused request. OAuth endpoints
// answer {"error", "error_description"}; the API answers {"error",
// "description", "details"}, where details name the fields a record failed
// on, e.g. a 422 RecordInvalid:
// {"details": {"subject": [{"description": "Subject: cannot be blank"}]}}.
// Types are loose: a part of another shape is left out, not an error.
type errorBody struct {
	Error            any                        `json:"error"`
	Description      any                        `json:"description"`
	ErrorDescription any                        `json:"error_description"`
	Details          map[string]json.RawMessage `json:"details"`
}

// How much of Zendesk's own words an error keeps: enough to show a form's
// mistakes, never an unbounded body.
const (
	maxErrorFields   = 20
	maxFieldMessages = 5
	maxMessageBytes  = 200
)

// missingScopesPrefix starts Zendesk's 403 description for a token that
// lacks a scope (support.zendesk.com community post 4485954843162).
const missingScopesPrefix = "You are missing the following required scopes: "

// describe copies Zendesk's description and field messages into e.
func (b *errorBody) describe(e *Error) {
	description, _ := b.Description.(string)
	if description == "" {
		description, _ = b.ErrorDescription.(string)
	}
	e.Description = clip(description, maxMessageBytes)
	if scopes, ok := strings.CutPrefix(description, missingScopesPrefix); ok {
		e.MissingScope = clip(strings.Join(strings.Fields(scopes), " "), 100)
	}
	for field, raw := range b.Details {
		var messages []struct {
			Description string `json:"description"`
		}
		if len(e.Fields) == maxErrorFields || json.Unmarshal(raw, &messages) != nil {
			continue
		}
		for _, m := range messages[:min(len(messages), maxFieldMessages)] {
			if e.Fields == nil {
				e.Fields = map[string][]string{}
			}
			key := clip(field, 64)
			e.Fields[key] = append(e.Fields[key], clip(m.Description, maxMessageBytes))
		}
	}
}

// hasJSONContentType reports whether the reply's media type is
// application/json.
func hasJSONContentType(h http.Header) bool {
	mediaType, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	return err == nil && mediaType == "application/json"
}

// transportKind tells a request that never left (no connection) from one
// whose answer did not come, in time or at all: Zendesk may have carried
// that one out.
func transportKind(err error) Kind {
	var netErr net.Error
	var opErr *net.OpError
	switch {
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()):
		return TimedOut
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return Unreachable
	}
	return NoAnswer
}

// retryAfter reads a Retry-After header given in seconds or as an HTTP date,
// capped at an hour; zero when absent or unreadable.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := h.Get("Retry-After")
	if s, err := strconv.Atoi(v); err == nil && s > 0 {
		return time.Duration(min(s, 3600)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now).Round(time.Second), time.Hour)
	}
	return 0
}
