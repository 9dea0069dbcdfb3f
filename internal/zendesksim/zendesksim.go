// Package zendesksim is a small in-memory simulator of the Zendesk endpoints
// the app uses, so that the app's -demo mode and all its tests run over real
// HTTP without a Zendesk account:
//
//	GET/POST /oauth/authorizations/new        consent page (authorization code + PKCE)
//	POST     /oauth/tokens                    authorization_code and refresh_token grants
//	GET      /api/v2/users/me(.json)          Show Self
//	DELETE   /api/v2/oauth/tokens/current(.json)  revoke the presented token
//
// It copies what real Zendesk is documented or observed to do:
// codes are single use and live 120 seconds, token responses are 201 Created,
// refreshing rotates both tokens, users/me answers 200 with an anonymous user
// when no credentials are sent and 401 invalid_token for a bad bearer token.
// Faults (500s, hangs, TCP resets, broken JSON, ...) can be injected per
// endpoint with Simulator.Inject.
//
// The simulator has one OAuth client and one user, keeps everything in memory
// and is meant for demos and tests only.
package zendesksim

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configures the simulated Zendesk account.
type Options struct {
	// ClientID is the OAuth client's Identifier; default "demo-client".
	ClientID string
	// ClientSecret "" makes a public client: PKCE is required and no secret
	// is checked. A non-empty secret makes a confidential client: the secret
	// must match; PKCE is optional, but when a code_challenge was sent at
	// authorize time the verifier is required and checked.
	ClientSecret string
	// RedirectURIs are the registered redirect URLs, compared byte for byte
	// with redirect_uri.
	RedirectURIs []string
	// User is who signs in; the zero value means
	// User{ID: 1, Name: "John Doe", Email: "john@example.com", Role: "admin"}.
	User User
	// AccessTokenTTL and RefreshTokenTTL are the token lifetimes. Zero means
	// honour the expires_in / refresh_token_expires_in the client sent
	// (validated like Zendesk: 300 < expires_in < 172800 and
	// 604800 < refresh_token_expires_in < 7776000, else 400 invalid_request);
	// if the client sent none, the access token never expires (expires_in:
	// null) and the refresh token lasts 30 days. Non-zero means this lifetime
	// is used whatever the client asked (the client's values are still
	// validated), which lets tests pick short lifetimes.
	AccessTokenTTL, RefreshTokenTTL time.Duration
	// NoRefreshToken makes token responses carry no refresh_token, like some
	// legacy clients.
	NoRefreshToken bool
	// Now is the clock; nil means time.Now. Tests inject a fake clock to
	// expire codes and tokens.
	Now func() time.Time
}

// User is the Zendesk user who signs in on the simulated account.
type User struct {
	ID    int64
	Name  string
	Email string
	Role  string // "end-user", "agent" or "admin"
}

// Stats counts the requests that reached each endpoint, faulted or not,
// successful or not.
type Stats struct {
	AuthorizePages int // GET /oauth/authorizations/new (consent or error page shown)
	Exchanges      int // POST /oauth/tokens with grant_type=authorization_code
	Refreshes      int // POST /oauth/tokens with grant_type=refresh_token
	MeCalls        int // GET /api/v2/users/me(.json)
	Revocations    int // DELETE /api/v2/oauth/tokens/current(.json)
}

const (
	codeTTL           = 120 * time.Second
	defaultRefreshTTL = 30 * 24 * time.Hour
	maxBodyBytes      = 64 << 10
	jsonType          = "application/json; charset=utf-8"
	invalidClientDesc = "The client identifier provided is invalid, the client failed to authenticate, the client did not include its credentials, provided multiple client credentials, or used unsupported credentials type."
	invalidTokenDesc  = "The access token provided is expired, revoked, malformed or invalid for other reasons."
)

// Simulator is an http.Handler serving the simulated Zendesk endpoints.
// Create it with New. Its methods are safe for concurrent use.
type Simulator struct {
	opts Options
	mux  *http.ServeMux
	done chan struct{} // closed by Server.Close so that hung handlers return

	mu        sync.Mutex // guards everything below
	codes     map[string]*authCode
	access    map[string]*accessToken
	refresh   map[string]*refreshToken
	faults    map[Endpoint]*injected
	stats     Stats
	lastToken url.Values
}

// authCode is an authorization code waiting to be exchanged.
type authCode struct {
	clientID, redirectURI, scope, challenge string
	expires                                 time.Time
}

// accessToken is an issued access token. Rotated tokens are deleted; revoked
// ones are kept (with revoked set) so that Revoked can report them.
type accessToken struct {
	scope   string
	expires time.Time // zero: never expires
	refresh string    // the refresh token issued with it, "" if none
	revoked bool
}

// refreshToken is an unused refresh token; it is deleted when used or revoked.
type refreshToken struct {
	scope   string
	expires time.Time
	access  string // the access token issued with it
}

// apiError is a JSON error body; Status is the HTTP status to send it with.
type apiError struct {
	Status      int    `json:"-"`
	Code        string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// tokenResponse is the body of a successful POST /oauth/tokens.
type tokenResponse struct {
	AccessToken           string `json:"access_token"`
	TokenType             string `json:"token_type"`
	Scope                 string `json:"scope"`
	RefreshToken          string `json:"refresh_token,omitempty"`
	ExpiresIn             *int64 `json:"expires_in"` // null: never expires
	RefreshTokenExpiresIn *int64 `json:"refresh_token_expires_in,omitempty"`
}

// New returns a simulator configured by opts. Serve it with
// httptest.NewServer, httptest.NewUnstartedServer + StartTLS, or use
// NewServer.
func New(opts Options) *Simulator {
	if opts.ClientID == "" {
		opts.ClientID = "demo-client"
	}
	if opts.User == (User{}) {
		opts.User = User{ID: 1, Name: "John Doe", Email: "john@example.com", Role: "admin"}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	opts.RedirectURIs = slices.Clone(opts.RedirectURIs)
	s := &Simulator{
		opts:    opts,
		done:    make(chan struct{}),
		codes:   map[string]*authCode{},
		access:  map[string]*accessToken{},
		refresh: map[string]*refreshToken{},
		faults:  map[Endpoint]*injected{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /oauth/authorizations/new", s.authorizePage)
	mux.HandleFunc("POST /oauth/authorizations/new", s.authorizeDecision)
	mux.HandleFunc("POST /oauth/tokens", s.tokens)
	mux.HandleFunc("GET /api/v2/users/me", s.me)
	mux.HandleFunc("GET /api/v2/users/me.json", s.me)
	mux.HandleFunc("DELETE /api/v2/oauth/tokens/current", s.revoke)
	mux.HandleFunc("DELETE /api/v2/oauth/tokens/current.json", s.revoke)
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusNotFound, apiError{Code: "InvalidEndpoint"})
	})
	s.mux = mux
	return s
}

// ServeHTTP serves the simulated Zendesk endpoints.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

// Stats returns the request counters.
func (s *Simulator) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Revoked reports whether accessToken was revoked via
// DELETE /api/v2/oauth/tokens/current.json.
func (s *Simulator) Revoked(accessToken string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.access[accessToken]
	return t != nil && t.revoked
}

// ExpireAccessTokens makes every access token issued so far expire now, as
// if its lifetime had passed: the next API call with one of them gets 401
// invalid_token. Tests that drive the app as a separate process, whose clock
// they cannot move, use it to make the app refresh.
func (s *Simulator) ExpireAccessTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	past := s.opts.Now().Add(-time.Second)
	for _, t := range s.access {
		t.expires = past
	}
}

// LastTokenRequest returns the decoded parameters of the most recent
// POST /oauth/tokens, whether it was sent as JSON or as a form (JSON numbers
// are formatted as decimal), or nil if there was none. Tests use it to check
// what the app sent (code_verifier, expires_in, client_secret, ...).
func (s *Simulator) LastTokenRequest() url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lastToken == nil {
		return nil
	}
	v := url.Values{}
	for k, vs := range s.lastToken {
		v[k] = slices.Clone(vs)
	}
	return v
}

// tokens serves POST /oauth/tokens.
func (s *Simulator) tokens(w http.ResponseWriter, r *http.Request) {
	p, readErr := readTokenParams(w, r)
	s.mu.Lock()
	s.lastToken = p
	s.mu.Unlock()

	var ep Endpoint
	switch p.Get("grant_type") {
	case "authorization_code":
		ep = Exchange
	case "refresh_token":
		ep = Refresh
	}
	if ep != "" && s.misbehave(w, r, ep, s.begin(ep)) {
		return
	}

	var resp tokenResponse
	var e *apiError
	switch {
	case readErr != nil:
		e = &apiError{http.StatusBadRequest, "invalid_request", readErr.Error()}
	case !s.clientOK(p):
		e = &apiError{http.StatusUnauthorized, "invalid_client", invalidClientDesc}
	case p.Get("grant_type") == "":
		e = missing("grant_type")
	case ep == "":
		e = &apiError{http.StatusBadRequest, "unsupported_grant_type", "The authorization grant type is not supported by the authorization server."}
	default:
		accessTTL, refreshTTL, err := s.lifetimes(p)
		if err != nil {
			e = &apiError{http.StatusBadRequest, "invalid_request", err.Error()}
		} else if ep == Exchange {
			resp, e = s.exchange(p, accessTTL, refreshTTL)
		} else {
			resp, e = s.rotate(p, accessTTL, refreshTTL)
		}
	}
	if e != nil {
		writeJSON(w, e.Status, e)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, resp)
}

// readTokenParams reads a token request body, JSON or form-encoded, into
// url.Values. On error it returns the (possibly empty) values and the reason,
// which is sent to the client as error_description.
func readTokenParams(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		return url.Values{}, errors.New("The request body is too large or could not be read.")
	}
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mediaType {
	case "application/json":
		return decodeJSONParams(body)
	case "application/x-www-form-urlencoded", "":
		v, err := url.ParseQuery(string(body))
		if err != nil {
			return v, errors.New("The request body is not valid form data.")
		}
		return v, nil
	}
	return url.Values{}, errors.New("Unsupported Content-Type: send application/json or application/x-www-form-urlencoded.")
}

// decodeJSONParams turns a JSON object into url.Values: strings as they are,
// numbers in decimal, other values as their JSON text; null means absent.
func decodeJSONParams(body []byte) (url.Values, error) {
	v := url.Values{}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return v, errors.New("The request body is not a JSON object.")
	}
	if _, err := dec.Token(); err != io.EOF {
		return v, errors.New("The request body has data after the JSON object.")
	}
	for key, val := range m {
		switch val := val.(type) {
		case nil:
		case string:
			v.Set(key, val)
		case json.Number:
			if i, err := val.Int64(); err == nil {
				v.Set(key, strconv.FormatInt(i, 10))
			} else if f, err := val.Float64(); err == nil {
				v.Set(key, strconv.FormatFloat(f, 'f', -1, 64))
			} else {
				v.Set(key, val.String())
			}
		default:
			b, _ := json.Marshal(val)
			v.Set(key, string(b))
		}
	}
	return v, nil
}

// clientOK checks client_id and, for a confidential client, client_secret.
func (s *Simulator) clientOK(p url.Values) bool {
	if p.Get("client_id") != s.opts.ClientID {
		return false
	}
	return s.opts.ClientSecret == "" ||
		subtle.ConstantTimeCompare([]byte(p.Get("client_secret")), []byte(s.opts.ClientSecret)) == 1
}

// lifetimes returns the access and refresh token lifetimes for a token
// request; an access lifetime of 0 means the token never expires.
func (s *Simulator) lifetimes(p url.Values) (accessTTL, refreshTTL time.Duration, err error) {
	refreshTTL = defaultRefreshTTL
	// The two ranges do not overlap, so expires_in < refresh_token_expires_in
	// always holds once both are in range.
	if v := p.Get("expires_in"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 300 || n >= 172800 {
			return 0, 0, errors.New("expires_in must be an integer more than 300 and less than 172800.")
		}
		accessTTL = time.Duration(n) * time.Second
	}
	if v := p.Get("refresh_token_expires_in"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 604800 || n >= 7776000 {
			return 0, 0, errors.New("refresh_token_expires_in must be an integer more than 604800 and less than 7776000.")
		}
		refreshTTL = time.Duration(n) * time.Second
	}
	if s.opts.AccessTokenTTL != 0 {
		accessTTL = s.opts.AccessTokenTTL
	}
	if s.opts.RefreshTokenTTL != 0 {
		refreshTTL = s.opts.RefreshTokenTTL
	}
	return accessTTL, refreshTTL, nil
}

// exchange handles grant_type=authorization_code.
func (s *Simulator) exchange(p url.Values, accessTTL, refreshTTL time.Duration) (tokenResponse, *apiError) {
	code, redirectURI := p.Get("code"), p.Get("redirect_uri")
	if code == "" || redirectURI == "" {
		return tokenResponse{}, missing("code and redirect_uri")
	}
	now := s.opts.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.codes[code]
	if c == nil {
		return tokenResponse{}, invalidGrant()
	}
	delete(s.codes, code) // single use: consumed even if a check below fails
	if now.After(c.expires) || c.clientID != p.Get("client_id") || c.redirectURI != redirectURI ||
		!pkceOK(c.challenge, p.Get("code_verifier")) {
		return tokenResponse{}, invalidGrant()
	}
	return s.issueLocked(c.scope, accessTTL, refreshTTL, now), nil
}

// pkceOK checks an RFC 7636 S256 code_verifier against the code's challenge.
// A code issued without a challenge needs no verifier.
func pkceOK(challenge, verifier string) bool {
	if challenge == "" {
		return true
	}
	if len(verifier) < 43 || len(verifier) > 128 {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	got := base64.RawURLEncoding.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(got), []byte(challenge)) == 1
}

// rotate handles grant_type=refresh_token: the refresh token and the access
// token issued with it stop working and a new pair is issued.
func (s *Simulator) rotate(p url.Values, accessTTL, refreshTTL time.Duration) (tokenResponse, *apiError) {
	old := p.Get("refresh_token")
	if old == "" {
		return tokenResponse{}, missing("refresh_token")
	}
	now := s.opts.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	rt := s.refresh[old]
	if rt == nil {
		return tokenResponse{}, invalidGrant()
	}
	delete(s.refresh, old)
	delete(s.access, rt.access)
	if now.After(rt.expires) {
		return tokenResponse{}, invalidGrant()
	}
	return s.issueLocked(rt.scope, accessTTL, refreshTTL, now), nil
}

// issueLocked creates a new access token (and refresh token unless
// NoRefreshToken). s.mu must be held.
func (s *Simulator) issueLocked(scope string, accessTTL, refreshTTL time.Duration, now time.Time) tokenResponse {
	resp := tokenResponse{AccessToken: randomToken(), TokenType: "bearer", Scope: scope}
	at := &accessToken{scope: scope}
	if accessTTL != 0 {
		at.expires = now.Add(accessTTL)
		resp.ExpiresIn = seconds(accessTTL)
	}
	if !s.opts.NoRefreshToken {
		at.refresh = randomToken()
		s.refresh[at.refresh] = &refreshToken{scope: scope, expires: now.Add(refreshTTL), access: resp.AccessToken}
		resp.RefreshToken = at.refresh
		resp.RefreshTokenExpiresIn = seconds(refreshTTL)
	}
	s.access[resp.AccessToken] = at
	return resp
}

// me serves GET /api/v2/users/me(.json) (Show Self).
func (s *Simulator) me(w http.ResponseWriter, r *http.Request) {
	if s.misbehave(w, r, Me, s.begin(Me)) {
		return
	}
	token, ok := bearer(r)
	if !ok { // Zendesk answers anonymous callers with 200 and an anonymous user
		writeJSON(w, http.StatusOK, map[string]any{
			"user":               map[string]any{"id": nil, "name": "Anonymous user", "email": "invalid@example.com", "role": "end-user"},
			"authenticity_token": randomToken(),
		})
		return
	}
	s.mu.Lock()
	t := s.validLocked(token)
	s.mu.Unlock()
	switch {
	case t == nil:
		writeJSON(w, http.StatusUnauthorized, apiError{Code: "invalid_token", Description: invalidTokenDesc})
	case !slices.ContainsFunc(strings.Fields(t.scope), func(sc string) bool { return sc == "read" || sc == "users:read" }):
		writeJSON(w, http.StatusForbidden, apiError{Code: "Forbidden"})
	default:
		writeJSON(w, http.StatusOK, s.userBody())
	}
}

// userBody is the Show Self body for Options.User.
func (s *Simulator) userBody() map[string]any {
	u := s.opts.User
	return map[string]any{
		"user": map[string]any{
			"id": u.ID, "name": u.Name, "email": u.Email, "role": u.Role,
			"role_type": nil, "locale": "en-US", "time_zone": "Copenhagen",
		},
		"authenticity_token": randomToken(),
	}
}

// revoke serves DELETE /api/v2/oauth/tokens/current(.json): it revokes the
// presented access token and the refresh token issued with it.
func (s *Simulator) revoke(w http.ResponseWriter, r *http.Request) {
	if s.misbehave(w, r, Revoke, s.begin(Revoke)) {
		return
	}
	token, _ := bearer(r)
	s.mu.Lock()
	t := s.validLocked(token)
	if t != nil {
		t.revoked = true
		delete(s.refresh, t.refresh)
	}
	s.mu.Unlock()
	if t == nil {
		writeJSON(w, http.StatusUnauthorized, apiError{Code: "invalid_token", Description: invalidTokenDesc})
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// validLocked returns the access token if it exists and is neither revoked
// nor expired, else nil. s.mu must be held.
func (s *Simulator) validLocked(token string) *accessToken {
	t := s.access[token]
	if t == nil || t.revoked || (!t.expires.IsZero() && s.opts.Now().After(t.expires)) {
		return nil
	}
	return t
}

// bearer returns the token of an "Authorization: Bearer" header; ok is false
// when there is no bearer credential (no header, or another scheme).
func bearer(r *http.Request) (token string, ok bool) {
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(token), true
}

func missing(what string) *apiError {
	return &apiError{http.StatusBadRequest, "invalid_request", "Missing required parameter: " + what + "."}
}

func invalidGrant() *apiError {
	return &apiError{http.StatusBadRequest, "invalid_grant", "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client."}
}

// seconds converts a lifetime to whole seconds for expires_in, rounding up.
func seconds(d time.Duration) *int64 {
	n := int64((d + time.Second - 1) / time.Second)
	return &n
}

// randomToken returns 32 random bytes, base64url-encoded without padding.
func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (Go 1.24+ crashes the program instead)
	return base64.RawURLEncoding.EncodeToString(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"error":"InternalError"}`)
	}
	writeRaw(w, status, jsonType, body)
}

func writeRaw(w http.ResponseWriter, status int, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	w.Write(body)
}
