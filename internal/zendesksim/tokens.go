package zendesksim

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The token endpoint, POST /oauth/tokens:
// https://developer.zendesk.com/api-reference/ticketing/oauth/grant_type_tokens/

const (
	codeTTL = 120 * time.Second
	// Zendesk's default lifetimes, enforced for new clients since 2026:
	// https://support.zendesk.com/hc/en-us/articles/9182123625370
	defaultAccessTTL  = 30 * time.Minute
	defaultRefreshTTL = 30 * 24 * time.Hour
	maxBodyBytes      = 64 << 10
)

// authCode is an authorization code waiting to be exchanged, for the
// user who allowed it.
type authCode struct {
	clientID, redirectURI, scope, challenge string
	userID                                  int64
	expires                                 time.Time
}

// accessToken is an issued access token, bound to the user of its grant.
// Rotated tokens are deleted; revoked ones are kept (with revoked set) so
// that Revoked can report them.
type accessToken struct {
	grant   grant  // what the person allowed, which revoking forgets
	scope   string // the token's own scope: the grant's, or narrower after a refresh
	expires time.Time
	refresh string // the refresh token issued with it, "" if none
	revoked bool
}

// refreshToken is an unused refresh token; it is deleted when used or revoked.
type refreshToken struct {
	grant   grant
	scope   string // the most a refresh with it may ask for
	expires time.Time
	access  string // the access token issued with it
}

// tokenResponse is the body of a successful POST /oauth/tokens.
type tokenResponse struct {
	AccessToken           string `json:"access_token"`
	TokenType             string `json:"token_type"`
	Scope                 string `json:"scope"`
	RefreshToken          string `json:"refresh_token,omitempty"`
	ExpiresIn             *int64 `json:"expires_in,omitempty"`
	RefreshTokenExpiresIn *int64 `json:"refresh_token_expires_in,omitempty"`
}

// lifetimes are the lifetimes of the tokens a request gets. Zendesk's reply
// has a top-level expires_in only when the request sent one, though the
// token expires all the same: https://github.com/NangoHQ/nango/issues/6775
type lifetimes struct {
	access, refresh time.Duration
	sayExpiresIn    bool
}

// tokens serves POST /oauth/tokens.
func (s *Simulator) tokens(w http.ResponseWriter, r *http.Request) {
	p, readProblem := readTokenParams(w, r)
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
	var f Fault
	if ep != "" {
		f = s.begin(ep)
	}
	if s.misbehave(w, r, ep, f) {
		return
	}
	if f == LostReply {
		defer resetConnection(w) // the connection's own writer, once the request is served
		w = lost()
	}

	var resp tokenResponse
	var e *apiError
	switch {
	case readProblem != "":
		e = &apiError{http.StatusBadRequest, "invalid_request", readProblem}
	case !s.clientOK(p):
		e = &apiError{http.StatusUnauthorized, "invalid_client", invalidClientDesc}
	case p.Get("grant_type") == "":
		e = missing("grant_type")
	case ep == "":
		e = &apiError{http.StatusBadRequest, "unsupported_grant_type", "The authorization grant type is not supported by the authorization server."}
	case !s.clients[p.Get("client_id")].allows(p.Get("scope")): // the client is known by now
		e = &apiError{http.StatusBadRequest, "invalid_scope", invalidScopeDesc}
	default:
		lt, problem := s.lifetimes(p)
		switch {
		case problem != "":
			e = &apiError{http.StatusBadRequest, "invalid_request", problem}
		case ep == Exchange:
			resp, e = s.exchange(p, lt, origin(r))
		default:
			resp, e = s.rotate(p, lt, origin(r))
		}
	}
	if e != nil {
		WriteJSON(w, e.Status, e)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	WriteJSON(w, s.tokenStatus(), resp)
}

// tokenStatus is the status of a successful token response: 201 Created,
// as the reference says, or 200 with Options.TokenStatusOK.
func (s *Simulator) tokenStatus() int {
	if s.opts.TokenStatusOK {
		return http.StatusOK
	}
	return http.StatusCreated
}

// readTokenParams reads a token request body, JSON or form-encoded, into
// url.Values. On failure it returns the (possibly empty) values and an
// error_description for the client.
func readTokenParams(w http.ResponseWriter, r *http.Request) (url.Values, string) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		return url.Values{}, "The request body is too large or could not be read."
	}
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mediaType {
	case "application/json":
		return decodeJSONParams(body)
	case "application/x-www-form-urlencoded", "":
		v, err := url.ParseQuery(string(body))
		if err != nil {
			return v, "The request body is not valid form data."
		}
		return v, ""
	}
	return url.Values{}, "Unsupported Content-Type: send application/json or application/x-www-form-urlencoded."
}

// decodeJSONParams turns a JSON object into url.Values: strings as they are,
// numbers in decimal, other values as their JSON text; null means absent.
func decodeJSONParams(body []byte) (url.Values, string) {
	v := url.Values{}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return v, "The request body is not a JSON object."
	}
	if _, err := dec.Token(); err != io.EOF {
		return v, "The request body has data after the JSON object."
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
	return v, ""
}

// clientOK checks client_id and, for a confidential client, client_secret.
func (s *Simulator) clientOK(p url.Values) bool {
	c, ok := s.client(p.Get("client_id"))
	return ok && c.authenticates(p.Get("client_secret"))
}

// lifetimes returns the token lifetimes for a token request, or an
// error_description when the request's values are out of Zendesk's ranges.
func (s *Simulator) lifetimes(p url.Values) (lifetimes, string) {
	lt := lifetimes{access: defaultAccessTTL, refresh: defaultRefreshTTL}
	// The two ranges do not overlap, so expires_in < refresh_token_expires_in
	// always holds once both are in range.
	if v := p.Get("expires_in"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 300 || n >= 172800 {
			return lt, "expires_in must be an integer more than 300 and less than 172800."
		}
		lt.access, lt.sayExpiresIn = time.Duration(n)*time.Second, true
	}
	// The reference says refresh_token_expires_in must be "more than
	// 604,800", yet its own example sends exactly 604800; the simulator
	// accepts the example:
	// https://developer.zendesk.com/api-reference/ticketing/oauth/grant_type_tokens/
	if v := p.Get("refresh_token_expires_in"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 604800 || n >= 7776000 {
			return lt, "refresh_token_expires_in must be an integer of at least 604800 and less than 7776000."
		}
		lt.refresh = time.Duration(n) * time.Second
	}
	if s.opts.AccessTokenTTL != 0 {
		lt.access = s.opts.AccessTokenTTL
	}
	if s.opts.RefreshTokenTTL != 0 {
		lt.refresh = s.opts.RefreshTokenTTL
	}
	return lt, ""
}

// exchange handles grant_type=authorization_code.
func (s *Simulator) exchange(p url.Values, lt lifetimes, issuer string) (tokenResponse, *apiError) {
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
	u, ok := s.store.user(c.userID)
	if now.After(c.expires) || c.clientID != p.Get("client_id") || c.redirectURI != redirectURI ||
		!pkceOK(c.challenge, p.Get("code_verifier")) || !ok || u.Suspended {
		return tokenResponse{}, invalidGrant()
	}
	return s.issueLocked(issuer, grantOf(c.clientID, c.userID, c.scope), c.scope, lt, now), nil
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
//
// A refresh may not widen the grant (RFC 6749 §6): without scope the new
// pair carries the refresh token's scope; a scope naming anything that
// scope lacks gets 400 invalid_scope and rotates nothing, so the refresh
// token still works; a narrower scope is what the new pair carries.
// RFC 6749 §6 keeps the new refresh token's scope identical to the old
// one's; Zendesk does not say, and the simulator takes the stricter
// reading: the new refresh token is narrowed too, so a session that
// narrows its scope must authorize again to widen it.
func (s *Simulator) rotate(p url.Values, lt lifetimes, issuer string) (tokenResponse, *apiError) {
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
	if u, ok := s.store.user(rt.grant.userID); now.After(rt.expires) || !ok || u.Suspended {
		delete(s.refresh, old)
		delete(s.access, rt.access)
		return tokenResponse{}, invalidGrant()
	}
	scope := rt.scope
	if asked := strings.Fields(p.Get("scope")); len(asked) > 0 {
		if !scopesWithin(asked, rt.scope) {
			return tokenResponse{}, &apiError{http.StatusBadRequest, "invalid_scope", invalidScopeDesc}
		}
		scope = strings.Join(asked, " ")
	}
	delete(s.refresh, old)
	delete(s.access, rt.access)
	return s.issueLocked(issuer, rt.grant, scope, lt, now), nil
}

// issueLocked creates a new access token (and refresh token unless
// NoRefreshToken) of grant g, for its user, with scope. s.mu must be held.
func (s *Simulator) issueLocked(issuer string, g grant, scope string, lt lifetimes, now time.Time) tokenResponse {
	at := &accessToken{grant: g, scope: scope, expires: now.Add(lt.access)}
	resp := tokenResponse{
		AccessToken: newAccessToken(issuer, g.userID, g.clientID, scope, now, at.expires, s.opts.TokenBytes),
		TokenType:   "bearer",
		Scope:       scope,
	}
	if lt.sayExpiresIn {
		resp.ExpiresIn = seconds(lt.access)
	}
	if !s.opts.NoRefreshToken {
		at.refresh = newRefreshToken(len(resp.AccessToken))
		s.refresh[at.refresh] = &refreshToken{grant: g, scope: scope, expires: now.Add(lt.refresh), access: resp.AccessToken}
		resp.RefreshToken = at.refresh
		resp.RefreshTokenExpiresIn = seconds(lt.refresh)
	}
	s.access[resp.AccessToken] = at
	return resp
}

// seconds converts a lifetime to whole seconds for expires_in, rounding up.
func seconds(d time.Duration) *int64 {
	n := int64((d + time.Second - 1) / time.Second)
	return &n
}

// origin is the scheme and host the request reached the simulator at,
// e.g. "http://127.0.0.1:8081": the account's URL, as tokens name it.
func origin(r *http.Request) string {
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}
