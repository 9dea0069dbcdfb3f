package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// maxResponseBytes caps every body read from Zendesk, so a broken or hostile
// upstream cannot make the app buffer without limit.
const maxResponseBytes = 1 << 20

// Zendesk's default lifetimes
// (https://developer.zendesk.com/api-reference/ticketing/oauth/grant_type_tokens/).
// The app asks for them explicitly so that older OAuth clients, whose tokens
// would otherwise never expire and come without a refresh token, get
// refreshable tokens too.
const (
	accessTokenLifetime  = 30 * time.Minute
	refreshTokenLifetime = 30 * 24 * time.Hour
)

// zendeskClient talks to Zendesk's OAuth endpoints and the Support API. It
// knows nothing about handlers or cookies: every call names the Zendesk
// (subdomain) it goes to, because in the many-instances mode each person
// may use a different one.
type zendeskClient struct {
	http         *http.Client
	clientID     string
	clientSecret string // empty for a public client, which relies on PKCE alone
	scopes       string // space-separated, e.g. "users:read"
	redirectURI  string
	// instanceURL maps a validated subdomain to the Zendesk's origin:
	// https://{subdomain}.zendesk.com, or ZENDESK_BASE_URL when set.
	instanceURL func(subdomain string) string
	// header goes with every request: a Marketplace app's
	// X-Zendesk-Marketplace-* headers, when it is one
	// (https://developer.zendesk.com/documentation/marketplace/building-a-marketplace-app/request-header-requirements-for-marketplace-apps).
	header http.Header
	now    func() time.Time
}

// maxConnsPerZendesk bounds the connections to one Zendesk. Its rate
// limits (200 to 2,500 requests a minute per account) make more concurrent
// calls pointless: a burst waits for a connection instead of opening
// hundreds.
const maxConnsPerZendesk = 50

// newHTTPClient returns the one client used for every Zendesk call: Go's
// default transport (proxy from the environment, HTTP/2, dial and TLS
// timeouts), with two changes.
func newHTTPClient(timeout time.Duration) *http.Client {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxConnsPerHost = maxConnsPerZendesk
	// Many people sign in at once: keep those connections open between
	// calls, not the default two, so that most calls skip a new TCP and TLS
	// handshake.
	transport.MaxIdleConnsPerHost = maxConnsPerZendesk
	return &http.Client{
		Transport: transport,
		Timeout:   timeout, // the deadline for one whole request, headers and body
		// Zendesk's API does not redirect; following one could send a token
		// to another host, so a redirect is treated as a bad answer.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// tokens is what the token endpoint returns. A zero expiry means Zendesk
// gave none: the token has no known end. The session keeps them as they
// are.
type tokens struct {
	AccessToken   string
	RefreshToken  string
	Scope         string // what Zendesk granted, space-separated: its reply's scope, else what the app asked for
	AccessExpiry  time.Time
	RefreshExpiry time.Time
}

// user is the part of Show Self the app uses.
type user struct {
	ID   int64
	Name string
	Role string
}

// authorizeURL builds the link to Zendesk's consent page. state binds the
// answer to this browser (RFC 6749 §10.12) and the S256 challenge binds the
// code to this app's verifier (RFC 7636).
func (c *zendeskClient) authorizeURL(subdomain, state, verifier string) string {
	return c.instanceURL(subdomain) + "/oauth/authorizations/new?" + url.Values{
		"response_type":         {"code"},
		"client_id":             {c.clientID},
		"redirect_uri":          {c.redirectURI},
		"scope":                 {c.scopes},
		"state":                 {state},
		"code_challenge":        {pkceChallenge(verifier)},
		"code_challenge_method": {"S256"},
	}.Encode()
}

// tokenParams is the body of a request to /oauth/tokens.
type tokenParams struct {
	GrantType             string `json:"grant_type"`
	Code                  string `json:"code,omitempty"`
	RedirectURI           string `json:"redirect_uri,omitempty"`
	CodeVerifier          string `json:"code_verifier,omitempty"`
	RefreshToken          string `json:"refresh_token,omitempty"`
	ClientID              string `json:"client_id"`
	ClientSecret          string `json:"client_secret,omitempty"`
	Scope                 string `json:"scope,omitempty"`
	ExpiresIn             int    `json:"expires_in"`
	RefreshTokenExpiresIn int    `json:"refresh_token_expires_in"`
}

// The operations on the token endpoint, as zendeskError.Op names them.
const (
	opExchange = "token exchange"
	opRefresh  = "token refresh"
)

// exchange trades an authorization code for tokens.
func (c *zendeskClient) exchange(ctx context.Context, subdomain, code, verifier string) (*tokens, error) {
	return c.tokenRequest(ctx, subdomain, opExchange, tokenParams{
		GrantType:    "authorization_code",
		Code:         code,
		RedirectURI:  c.redirectURI, // byte-identical to the authorize step
		CodeVerifier: verifier,
		Scope:        c.scopes,
	})
}

// refresh trades a refresh token for a new pair. Zendesk rotates: the old
// pair stops working once this succeeds. It sends no scope, as Zendesk's
// own clients do: the new pair has the grant's scopes, and asking for a
// scope the grant lacks is invalid_scope (RFC 6749 §6), which ZENDESK_SCOPES
// would do the day a team adds one.
func (c *zendeskClient) refresh(ctx context.Context, subdomain, refreshToken string) (*tokens, error) {
	return c.tokenRequest(ctx, subdomain, opRefresh, tokenParams{
		GrantType:    "refresh_token",
		RefreshToken: refreshToken,
	})
}

// tokenRequest posts to /oauth/tokens as JSON, the format Zendesk's
// reference documents, and parses the reply.
func (c *zendeskClient) tokenRequest(ctx context.Context, subdomain, op string, params tokenParams) (*tokens, error) {
	params.ClientID, params.ClientSecret = c.clientID, c.clientSecret
	params.ExpiresIn = int(accessTokenLifetime.Seconds())
	params.RefreshTokenExpiresIn = int(refreshTokenLifetime.Seconds())
	var reply struct {
		AccessToken           string  `json:"access_token"`
		TokenType             string  `json:"token_type"`
		RefreshToken          string  `json:"refresh_token"`
		Scope                 string  `json:"scope"`
		ExpiresIn             seconds `json:"expires_in"`
		RefreshTokenExpiresIn seconds `json:"refresh_token_expires_in"`
	}
	req := apiRequest{op: op, method: "POST", subdomain: subdomain, path: "/oauth/tokens", body: params}
	if err := c.do(ctx, req, &reply); err != nil {
		return nil, err
	}
	switch {
	case reply.AccessToken == "":
		return nil, &zendeskError{Op: op, Kind: badAnswer, Err: errors.New("no access_token in the reply")}
	case reply.TokenType != "" && !strings.EqualFold(reply.TokenType, "bearer"):
		return nil, &zendeskError{Op: op, Kind: badAnswer, Err: fmt.Errorf("token_type %q is not bearer", shorten(reply.TokenType, 32))}
	}
	now := c.now()
	return &tokens{
		AccessToken:   reply.AccessToken,
		RefreshToken:  reply.RefreshToken,
		Scope:         strings.Join(strings.Fields(cmp.Or(reply.Scope, params.Scope)), " "),
		AccessExpiry:  reply.ExpiresIn.after(now),
		RefreshExpiry: reply.RefreshTokenExpiresIn.after(now),
	}, nil
}

// Show Self (https://developer.zendesk.com/api-reference/ticketing/users/users/#show-self)
// and revocation of the token presented
// (https://developer.zendesk.com/documentation/api-basics/authentication/revoking-oauth-token/).
const (
	mePath     = "/api/v2/users/me.json"
	revokePath = "/api/v2/oauth/tokens/current.json"
	// showSelfScope covers Show Self, Zendesk's reference does not say
	// which scope it needs: users:read works on the accounts reported, and
	// a 403 naming the broad read says to use that instead.
	showSelfScope = "users:read"
)

// meReply is the part of Show Self's reply the app uses.
type meReply struct {
	User *struct {
		ID   *int64 `json:"id"`
		Name string `json:"name"`
		Role string `json:"role"`
	} `json:"user"`
}

// user checks the reply. Zendesk answers 200 with an anonymous user (id
// null) when it does not accept the credentials, so that is an error here.
func (m *meReply) user() (*user, error) {
	switch {
	case m.User == nil:
		return nil, &zendeskError{Op: "GET " + mePath, Kind: badAnswer, Err: errors.New("no user in the reply")}
	case m.User.ID == nil:
		return nil, &zendeskError{Op: "GET " + mePath, Kind: badAnswer, Err: errors.New("zendesk answered with the anonymous user")}
	}
	return &user{ID: *m.User.ID, Name: m.User.Name, Role: m.User.Role}, nil
}

// me calls Show Self with an access token, as is: no refresh, no retry.
// Handlers call Zendesk through userAPI instead.
func (c *zendeskClient) me(ctx context.Context, subdomain, accessToken string) (*user, error) {
	var reply meReply
	if err := c.do(ctx, apiRequest{method: "GET", subdomain: subdomain, path: mePath, token: accessToken}, &reply); err != nil {
		return nil, err
	}
	return reply.user()
}

// revoke revokes the access token presented, as is: no refresh, no
// retry. Signing out goes through userAPI, to revoke a fresh token.
func (c *zendeskClient) revoke(ctx context.Context, subdomain, accessToken string) error {
	return c.do(ctx, apiRequest{method: "DELETE", subdomain: subdomain, path: revokePath, token: accessToken}, nil)
}

// apiRequest is one request to a Zendesk instance.
type apiRequest struct {
	method    string
	subdomain string // which instance: in the many-instances mode each person may use another
	path      string // with its query, e.g. "/api/v2/users/me.json"
	// token, when set, goes in the Authorization header: the only place the
	// app sends an access token (RFC 6750 §2.1, never a URL).
	token string
	body  any    // sent as JSON when not nil
	op    string // names the request in errors; default "METHOD path"
	// idempotencyKey, when set, makes a create safe to repeat: Zendesk
	// answers a repeat with the same key with the first result
	// (https://developer.zendesk.com/api-reference/ticketing/introduction/#idempotency).
	idempotencyKey string
}

// do makes one request and decodes a 2xx JSON reply into out (nil: ignore
// the body). Every failure at Zendesk's end becomes a *zendeskError; an
// error of any other type is the app's own bug.
func (c *zendeskClient) do(ctx context.Context, req apiRequest, out any) error {
	op := req.op
	if op == "" {
		path, _, _ := strings.Cut(req.path, "?")
		op = req.method + " " + path
	}
	var reqBody io.Reader
	if req.body != nil {
		b, err := json.Marshal(req.body)
		if err != nil {
			return fmt.Errorf("zendesk: %s: encoding the request: %w", op, err)
		}
		reqBody = bytes.NewReader(b)
	}
	httpReq, err := http.NewRequestWithContext(ctx, req.method, c.instanceURL(req.subdomain)+req.path, reqBody)
	if err != nil {
		return fmt.Errorf("zendesk: %s: building the request: %w", op, err)
	}
	for name, values := range c.header {
		httpReq.Header[name] = values
	}
	httpReq.Header.Set("Accept", "application/json")
	if req.body != nil {
		httpReq.Header.Set("Content-Type", "application/json")
	}
	if req.token != "" {
		httpReq.Header.Set("Authorization", "Bearer "+req.token)
	}
	if req.idempotencyKey != "" {
		httpReq.Header.Set("Idempotency-Key", req.idempotencyKey)
	}
	resp, err := c.http.Do(httpReq)
	if err != nil {
		return &zendeskError{Op: op, Kind: transportKind(err), Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return &zendeskError{Op: op, Kind: transportKind(err), Status: resp.StatusCode, Err: err}
	}
	if len(body) > maxResponseBytes {
		return &zendeskError{Op: op, Kind: badAnswer, Status: resp.StatusCode, Err: errors.New("reply larger than 1 MiB")}
	}

	// Zendesk's error shape is RFC 6749 §5.2's, or the API's own with a
	// description and field details; a 2xx carrying an error is still an
	// error.
	var zErr zendeskErrorBody
	isJSON := hasJSONContentType(resp.Header)
	if isJSON {
		_ = json.Unmarshal(body, &zErr) // best effort: a non-object body is checked below
	}
	code, _ := zErr.Error.(string)
	ok := resp.StatusCode >= 200 && resp.StatusCode < 300
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return &zendeskError{Op: op, Kind: rateLimited, Status: resp.StatusCode, RetryAfter: retryAfter(resp.Header, c.now())}
	case resp.StatusCode >= 500:
		return &zendeskError{Op: op, Kind: unavailable, Status: resp.StatusCode, Code: code}
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return &zendeskError{Op: op, Kind: badAnswer, Status: resp.StatusCode, Err: errors.New("unexpected redirect")}
	case !ok:
		ze := &zendeskError{Op: op, Kind: rejected, Status: resp.StatusCode, Code: code}
		zErr.describe(ze)
		return ze
	case zErr.Error != nil:
		// A success status with an error body contradicts itself: trust
		// neither half (a refresh "rejected" this way keeps the session).
		return &zendeskError{Op: op, Kind: badAnswer, Status: resp.StatusCode, Code: code, Err: errors.New("success status with an error body")}
	case out == nil:
		return nil
	case !isJSON:
		return &zendeskError{Op: op, Kind: badAnswer, Status: resp.StatusCode, Err: fmt.Errorf("content type %q is not JSON", shorten(resp.Header.Get("Content-Type"), 64))}
	}
	if err := json.Unmarshal(body, out); err != nil {
		return &zendeskError{Op: op, Kind: badAnswer, Status: resp.StatusCode, Err: fmt.Errorf("invalid JSON: %w", err)}
	}
	return nil
}

// zendeskErrorBody is what Zendesk says of a refused request. OAuth
// endpoints answer {"error", "error_description"}; the API answers
// {"error", "description", "details"}, where details name the fields a
// record failed on, e.g. a 422 RecordInvalid:
// {"details": {"subject": [{"description": "Subject: cannot be blank"}]}}.
// Types are loose: a part of another shape is left out, not an error.
type zendeskErrorBody struct {
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

// describe copies Zendesk's description and field messages into ze.
func (b *zendeskErrorBody) describe(ze *zendeskError) {
	description, _ := b.Description.(string)
	if description == "" {
		description, _ = b.ErrorDescription.(string)
	}
	ze.Description = shorten(description, maxMessageBytes)
	if scopes, ok := strings.CutPrefix(description, missingScopesPrefix); ok {
		ze.MissingScope = shorten(strings.Join(strings.Fields(scopes), " "), 100)
	}
	for field, raw := range b.Details {
		var messages []struct {
			Description string `json:"description"`
		}
		if len(ze.Fields) == maxErrorFields || json.Unmarshal(raw, &messages) != nil {
			continue
		}
		for _, m := range messages[:min(len(messages), maxFieldMessages)] {
			if ze.Fields == nil {
				ze.Fields = map[string][]string{}
			}
			key := shorten(field, 64)
			ze.Fields[key] = append(ze.Fields[key], shorten(m.Description, maxMessageBytes))
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
func transportKind(err error) errorKind {
	var netErr net.Error
	var opErr *net.OpError
	switch {
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()):
		return timedOut
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return unreachable
	}
	return noAnswer
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

// seconds is a lifetime in seconds as Zendesk sends it: a number, a numeric
// string, or null (no expiry). Values beyond Zendesk's 90-day maximum are
// capped, so no reply can make a cookie outlive its token by much.
type seconds int64

const maxLifetime = 90 * 24 * 60 * 60

func (s *seconds) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*s = 0
		return nil
	}
	n, err := strconv.ParseInt(strings.Trim(string(b), `"`), 10, 64)
	if err != nil || n < 0 {
		return errors.New("invalid lifetime") // not the value: it came from outside
	}
	*s = seconds(min(n, maxLifetime))
	return nil
}

func (s seconds) after(now time.Time) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return now.Add(time.Duration(s) * time.Second)
}

// errorKind sorts Zendesk failures by what the person should be told.
type errorKind int

const (
	rejected    errorKind = iota + 1 // Zendesk said no: invalid_grant, invalid_client, invalid_token...
	unavailable                      // Zendesk answered 5xx
	unreachable                      // no connection: refused, DNS; nothing was sent
	noAnswer                         // the connection broke before the answer: reset, closed
	timedOut                         // no answer in time
	rateLimited                      // 429
	badAnswer                        // an answer the app cannot use
)

// zendeskError is every failure of a call to Zendesk. Its message never
// contains a response body, a token or a secret, so it is safe to log.
type zendeskError struct {
	Op         string // opExchange, opRefresh, or "METHOD path" of an API call
	Kind       errorKind
	Status     int    // Zendesk's HTTP status; 0 when there was none
	Code       string // Zendesk's "error" field, e.g. "invalid_grant"
	RetryAfter time.Duration
	Err        error

	// Zendesk's own words about a refused request, shortened, for a page
	// to show (never in Error): its description, the scope a 403 says is
	// missing, and what is wrong with each field of a record.
	Description  string
	MissingScope string
	Fields       map[string][]string
}

func (e *zendeskError) Error() string {
	msg := "zendesk: " + e.Op
	if e.Status != 0 {
		msg += fmt.Sprintf(": status %d", e.Status)
	}
	if e.Code != "" {
		msg += ": " + shorten(e.Code, 64)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *zendeskError) Unwrap() error { return e.Err }

// transient reports whether err is Zendesk failing for now, not refusing:
// busy, unavailable, unreachable or late. A browser that left is not.
func transient(err error) bool {
	var ze *zendeskError
	return errors.As(err, &ze) && ze.Kind != rejected && ze.Kind != badAnswer && !errors.Is(err, context.Canceled)
}

// isUnauthorized reports whether err is Zendesk's 401, whatever its body
// says: RFC 6750's invalid_token, or "Couldn't authenticate you".
func isUnauthorized(err error) bool {
	var ze *zendeskError
	return errors.As(err, &ze) && ze.Kind == rejected && ze.Status == http.StatusUnauthorized
}

// isZendeskCode reports whether err is Zendesk's answer with the given
// OAuth error code.
func isZendeskCode(err error, code string) bool {
	var ze *zendeskError
	return errors.As(err, &ze) && ze.Kind == rejected && ze.Code == code
}

// pkceChallenge is the S256 code challenge for a verifier:
// BASE64URL(SHA256(verifier)) without padding (RFC 7636 §4.2).
func pkceChallenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// shorten cuts s to at most n bytes of valid UTF-8, for text that came from
// outside and is logged or shown.
func shorten(s string, n int) string {
	s = strings.ToValidUTF8(s, "")
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}
