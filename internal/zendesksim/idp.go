package zendesksim

import (
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Single sign-on (Options.IdentityProvider). Many Zendesk accounts send a
// person who is not signed in to their identity provider, on another
// origin, which sends them back to Zendesk's /access/jwt with a signed
// assertion and the page to return to:
// https://support.zendesk.com/hc/en-us/articles/4408845838874
//
// The detour matters to an app because browsers apply the CSP form-action
// of the page whose form started a navigation to every redirect after it
// (https://github.com/w3c/webappsec-csp/issues/8): a sign-in form that
// submits to the app, which redirects to Zendesk, which redirects to the
// identity provider, is blocked unless the app's policy allows all three.
//
// The simulator plays the identity provider itself, on the other loopback
// name of the same server: reached as 127.0.0.1:PORT, its identity provider
// is at localhost:PORT, and the other way round. Different hosts make
// different origins (and sites), so cookies and CSP treat them as two
// parties. Its assertion is an opaque one-time ticket standing in for the
// signed JWT.

const (
	idpPath       = "/simulated-idp/login"
	ssoReturnPath = "/access/jwt"
	ticketTTL     = 2 * time.Minute
)

// signedIn reports whether the request comes from a person signed in to
// Zendesk: one with a Zendesk session (see session.go). Without an
// identity provider everyone is.
func (s *Simulator) signedIn(r *http.Request) bool {
	if !s.opts.IdentityProvider {
		return true
	}
	_, _, ok := s.session(r)
	return ok
}

// toIdentityProvider sends the browser to the identity provider's sign-in
// page, which will return it to this request's path and query.
func (s *Simulator) toIdentityProvider(w http.ResponseWriter, r *http.Request, status int) {
	idp, ok := otherOrigin(r)
	if !ok {
		renderPage(w, http.StatusBadRequest, errorPage,
			"The simulated identity provider needs the simulator reached as 127.0.0.1 or localhost.")
		return
	}
	http.Redirect(w, r, idp+idpPath+"?"+url.Values{"return_to": {r.URL.RequestURI()}}.Encode(), status)
}

// idpPage serves GET /simulated-idp/login: the identity provider's page
// with its Sign in button.
func (s *Simulator) idpPage(w http.ResponseWriter, r *http.Request) {
	returnTo := r.URL.Query().Get("return_to")
	if !isLocalPath(returnTo) {
		renderPage(w, http.StatusBadRequest, errorPage, "return_to must be a path on the simulated Zendesk.")
		return
	}
	renderPage(w, http.StatusOK, idpSignInPage, idpView{Action: idpPath, ReturnTo: returnTo})
}

// idpSignIn serves POST /simulated-idp/login, the Sign in button: it sends
// the browser back to the simulated Zendesk's /access/jwt with a one-time
// ticket.
func (s *Simulator) idpSignIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	if err := r.ParseForm(); err != nil {
		renderPage(w, http.StatusBadRequest, errorPage, "The form could not be read.")
		return
	}
	returnTo := r.PostForm.Get("return_to")
	zendesk, ok := otherOrigin(r)
	if !ok || !isLocalPath(returnTo) {
		renderPage(w, http.StatusBadRequest, errorPage, "return_to must be a path on the simulated Zendesk.")
		return
	}
	ticket := randomToken()
	s.mu.Lock()
	s.ssoTickets[ticket] = s.opts.Now().Add(ticketTTL)
	s.mu.Unlock()
	http.Redirect(w, r, zendesk+ssoReturnPath+"?"+url.Values{"jwt": {ticket}, "return_to": {returnTo}}.Encode(), http.StatusSeeOther)
}

// ssoReturn serves GET /access/jwt: it redeems the identity provider's
// ticket, signs the person in to Zendesk with a session cookie and sends
// them on to return_to, a path on the simulator and nothing else.
func (s *Simulator) ssoReturn(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	returnTo := q.Get("return_to")
	if !isLocalPath(returnTo) {
		renderPage(w, http.StatusBadRequest, errorPage, "return_to must be a path on the simulated Zendesk.")
		return
	}
	now := s.opts.Now()
	session := randomToken()
	s.mu.Lock()
	expires, found := s.ssoTickets[q.Get("jwt")]
	delete(s.ssoTickets, q.Get("jwt")) // single use
	for t, exp := range s.ssoTickets { // forget expired tickets so the map stays small
		if now.After(exp) {
			delete(s.ssoTickets, t)
		}
	}
	valid := found && !now.After(expires)
	if valid {
		s.sessions[session] = 0 // signed in; the consent page says as whom
	}
	s.mu.Unlock()
	if !valid {
		renderPage(w, http.StatusBadRequest, errorPage, "The sign-in from the identity provider is invalid, expired or was already used.")
		return
	}
	setSessionCookie(w, r, session)
	http.Redirect(w, r, returnTo, http.StatusFound)
}

// otherOrigin is the request's origin under the other loopback name, same
// scheme and port: 127.0.0.1 and ::1 become localhost, localhost becomes
// 127.0.0.1. ok is false for any other host.
func otherOrigin(r *http.Request) (string, bool) {
	host, port, err := net.SplitHostPort(r.Host)
	if err != nil {
		host, port = r.Host, ""
	}
	switch strings.ToLower(host) {
	case "127.0.0.1", "::1", "[::1]":
		host = "localhost"
	case "localhost":
		host = "127.0.0.1"
	default:
		return "", false
	}
	if port != "" {
		host = net.JoinHostPort(host, port)
	}
	scheme := "http://"
	if r.TLS != nil {
		scheme = "https://"
	}
	return scheme + host, true
}

// isLocalPath reports whether p is a path on this server: it starts with
// one slash, and no browser could read it as another host ("//evil",
// "/\evil") or a scheme.
func isLocalPath(p string) bool {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.ContainsAny(p, "\\\r\n\t") {
		return false
	}
	u, err := url.Parse(p)
	return err == nil && u.Scheme == "" && u.Host == "" && u.Opaque == "" && u.User == nil
}
