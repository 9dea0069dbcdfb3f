package zendesksim

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// The authorization endpoint, GET and POST /oauth/authorizations/new:
// https://support.zendesk.com/hc/en-us/articles/4408845965210

// authRequest is the part of an authorization request that the code is
// bound to, and the client it names.
type authRequest struct {
	clientID, redirectURI, scope, state, challenge string
	client                                         client
}

// parseAuthRequest validates the query of GET or POST
// /oauth/authorizations/new. On failure it returns a message for the error
// page: like Zendesk, a request with a bad client or redirect_uri never
// redirects, and the simulator shows a page for the other malformed
// requests too.
func (s *Simulator) parseAuthRequest(q url.Values) (authRequest, string) {
	a := authRequest{clientID: q.Get("client_id"), redirectURI: q.Get("redirect_uri"), scope: q.Get("scope"),
		state: q.Get("state"), challenge: q.Get("code_challenge")}
	var known bool
	a.client, known = s.client(a.clientID)
	switch {
	case !known:
		return a, "No such client"
	case !slices.Contains(a.client.redirectURIs, a.redirectURI):
		return a, "The redirect_uri is not registered for this client."
	case q.Get("response_type") != "code":
		return a, "response_type must be code."
	case a.scope == "":
		return a, "scope is required."
	case a.challenge != "" && q.Get("code_challenge_method") != "S256":
		return a, "code_challenge_method must be S256."
	case a.challenge != "" && !validChallenge(a.challenge):
		return a, "code_challenge must be an unpadded base64url SHA-256 hash."
	case a.challenge == "" && a.client.secret == "":
		return a, "This public client must use PKCE: code_challenge is required."
	}
	return a, ""
}

func validChallenge(c string) bool {
	b, err := base64.RawURLEncoding.DecodeString(c)
	return err == nil && len(b) == sha256.Size
}

// authorize serves GET /oauth/authorizations/new. In order: a malformed
// request gets an error page; a person not signed in to Zendesk goes to
// the identity provider; a scope outside the allowed ones goes back with
// invalid_scope; a grant the session's user (see sessionUser) already
// allowed goes back with a code for them; anything else gets the consent
// page, which offers the account's users, that one chosen.
func (s *Simulator) authorize(w http.ResponseWriter, r *http.Request) {
	f := s.begin(Authorize)
	if s.misbehave(w, r, Authorize, f) {
		return
	}
	if f == LostReply {
		defer resetConnection(w) // the connection's own writer, once the request is served
		w = lost()
	}
	a, problem := s.parseAuthRequest(r.URL.Query())
	u, ok := s.sessionUser(r)
	switch {
	case problem != "":
		renderPage(w, http.StatusBadRequest, errorPage, problem)
	case !s.signedIn(r):
		s.toIdentityProvider(w, r, http.StatusFound)
	case !a.client.allows(a.scope):
		redirectBack(w, r, a, invalidScope())
	case !ok:
		renderPage(w, http.StatusForbidden, errorPage, "No user of this account may sign in: every one is suspended.")
	case s.granted(grantOf(a.clientID, u.ID, a.scope)):
		redirectBack(w, r, a, url.Values{"code": {s.issueCode(a, u.ID)}})
	default:
		s.count(Consent)
		renderPage(w, http.StatusOK, consentPage, consentView{
			Client: a.clientID,
			User:   u.Name,
			Users:  choices(s.signInChoices(), u.ID),
			Scopes: strings.Fields(a.scope),
			Action: r.URL.RequestURI(), // same path and query
		})
	}
}

// decide serves POST /oauth/authorizations/new with decision=allow|deny,
// the consent page's buttons, and user, the user chosen (the first user
// if there is no such field): it redirects to redirect_uri with a code or
// an error. Allow signs the browser in as the user chosen and remembers
// the grant.
func (s *Simulator) decide(w http.ResponseWriter, r *http.Request) {
	a, problem := s.parseAuthRequest(r.URL.Query())
	if problem != "" {
		renderPage(w, http.StatusBadRequest, errorPage, problem)
		return
	}
	if !s.signedIn(r) {
		s.toIdentityProvider(w, r, http.StatusSeeOther)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	if err := r.ParseForm(); err != nil {
		renderPage(w, http.StatusBadRequest, errorPage, "The form could not be read.")
		return
	}
	switch r.PostForm.Get("decision") {
	case "allow":
		if !a.client.allows(a.scope) {
			redirectBack(w, r, a, invalidScope())
			return
		}
		u, ok := s.chosenUser(r)
		if !ok {
			renderPage(w, http.StatusBadRequest, errorPage, "The user chosen may not sign in to this account.")
			return
		}
		s.startSession(w, r, u.ID)
		s.remember(grantOf(a.clientID, u.ID, a.scope))
		redirectBack(w, r, a, url.Values{"code": {s.issueCode(a, u.ID)}})
	case "deny":
		redirectBack(w, r, a, url.Values{
			"error":             {"access_denied"},
			"error_description": {"The end-user or authorization server denied the request"},
		})
	default:
		renderPage(w, http.StatusBadRequest, errorPage, "decision must be allow or deny.")
	}
}

// invalidScope is the answer to a request for a scope the client may not
// have (RFC 6749 §4.1.2.1).
func invalidScope() url.Values {
	return url.Values{"error": {"invalid_scope"}, "error_description": {invalidScopeDesc}}
}

// redirectBack sends the browser to the request's registered redirect_uri
// with params and the request's state, keeping any query the registered
// URI already has.
func redirectBack(w http.ResponseWriter, r *http.Request, a authRequest, params url.Values) {
	target, err := url.Parse(a.redirectURI)
	if err != nil {
		renderPage(w, http.StatusBadRequest, errorPage, "The registered redirect_uri is not a valid URL.")
		return
	}
	if a.state != "" {
		params.Set("state", a.state)
	}
	if target.RawQuery != "" {
		target.RawQuery += "&"
	}
	target.RawQuery += params.Encode()
	http.Redirect(w, r, target.String(), http.StatusFound)
}

// issueCode stores a fresh single-use code, valid for 120 seconds, bound to
// a and the user who allowed it.
func (s *Simulator) issueCode(a authRequest, userID int64) string {
	code := randomToken()
	now := s.opts.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, c := range s.codes { // forget expired codes so the map stays small
		if now.After(c.expires) {
			delete(s.codes, k)
		}
	}
	s.codes[code] = &authCode{a.clientID, a.redirectURI, a.scope, a.challenge, userID, now.Add(codeTTL)}
	return code
}
