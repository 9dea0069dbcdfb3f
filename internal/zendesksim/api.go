package zendesksim

import (
	"net/http"
	"strings"
)

// API is an extra API endpoint, listed in Options.API: the one place a
// test or the -demo mode adds the Zendesk endpoints its pages call.
//
// Pattern is a method and a path as Zendesk's reference writes them, e.g.
// "GET /api/v2/tickets/{id}.json" or
// "GET /api/v2/users/{id}/tickets/requested.json": a ServeMux pattern,
// except that a wildcard may end in .json. The endpoint answers its path
// with and without the final .json, as Zendesk does, and r.PathValue
// gives a wildcard's value without it (see patterns.go). The handler sees
// the request's URL as it was sent, and r.Pattern as listed.
//
// Resource is the Zendesk scope resource that covers the endpoint, e.g.
// "tickets". Before Handler runs, the request goes through what every
// Zendesk API endpoint does: it is counted in Stats as Endpoint(Pattern),
// takes the faults injected under that name, must carry a valid bearer
// token (else 401), and that token's scopes must cover the request (else
// 403 naming the missing scope): a GET needs read or <Resource>:read,
// other methods write or <Resource>:write
// (https://developer.zendesk.com/api-reference/ticketing/oauth/grant_type_tokens/#scope).
// An end user calling a path under /api/v2/tickets, or a user's or an
// organization's tickets, gets the role-based 403 before the handler
// runs: Zendesk's Tickets API is for agents. A
// request without a bearer token gets Zendesk's 401 "Couldn't
// authenticate you", unless the endpoint is Public. An endpoint listed as
// "POST /api/v2/tickets.json" or "POST /api/v2/tickets" is Create Ticket,
// and honours an Idempotency-Key header (see idempotency.go).
//
// Public marks an endpoint that needs no authentication, such as List
// Time Zones: a request without a bearer token reaches Handler with a
// Caller that has no user (Caller.SignedIn is false), and Resource may be
// "". A request with a bearer token is checked as on any endpoint: a bad
// token is 401, and the scopes must cover Resource if there is one.
// Zendesk documents that only for Show Self, which answers anonymous
// callers but refuses a bad token; that every public endpoint refuses a
// bad token rather than ignoring it is a guess, the strict one:
// https://developer.zendesk.com/api-reference/ticketing/users/users/#show-self
type API struct {
	Pattern  string
	Resource string
	Public   bool
	Handler  func(w http.ResponseWriter, r *http.Request, c Caller)
}

// addAPI registers a. It panics, like ServeMux.Handle, if a.Pattern is not
// a method and a path or conflicts with another endpoint (the same path
// with and without .json included), or if a.Resource or a.Handler is
// missing: a broken list fails at start-up, not in a test run's middle.
func (s *Simulator) addAPI(a API) {
	method, path, _ := strings.Cut(a.Pattern, " ")
	if method == "" || method != strings.ToUpper(method) || !strings.HasPrefix(path, "/") {
		panic("zendesksim: API pattern must be a method and a path, e.g. \"GET /api/v2/...\": " + a.Pattern)
	}
	if a.Resource == "" && !a.Public {
		panic("zendesksim: API needs the scope resource of " + a.Pattern)
	}
	if a.Handler == nil {
		panic("zendesksim: API has no Handler for " + a.Pattern)
	}
	s.handleAPI(apiEndpoint{name: Endpoint(a.Pattern), resource: a.Resource, public: a.Public, serve: a.Handler}, a.Pattern)
}

// apiEndpoint is an API endpoint as handleAPI serves it.
type apiEndpoint struct {
	name     Endpoint
	resource string // "" : any valid token may call it
	// broadOnly: only the broad read or write scope covers it, not
	// <resource>:read or :write.
	broadOnly bool
	// public: a request without a bearer token is served, with a Caller
	// that has no user; without it, such a request is 401.
	public bool
	serve  func(w http.ResponseWriter, r *http.Request, c Caller)
	// createsTicket: the endpoint is Create Ticket, which honours an
	// Idempotency-Key header.
	createsTicket bool
}

// handleAPI registers e under pattern, routed without its .json: one path
// for faults, counting, the token, the scope rule and idempotency,
// whatever the endpoint. It panics if another endpoint has the same route.
func (s *Simulator) handleAPI(e apiEndpoint, pattern string) {
	rt := route(pattern)
	if other, ok := s.routes[rt]; ok {
		panic("zendesksim: API patterns " + other + " and " + pattern + " are the same endpoint: Zendesk answers a path with and without .json alike")
	}
	s.routes[rt] = pattern
	e.createsTicket = createsTicket(rt)
	s.mux.HandleFunc(rt, func(w http.ResponseWriter, r *http.Request) { s.serveAPI(w, sentAs(r, pattern), e) })
}

// serveAPI serves a request to API endpoint e: the injected fault first,
// then the bearer token (none needed on a public endpoint), the scopes,
// the caller's role, and the endpoint itself, once per Idempotency-Key
// for Create Ticket.
func (s *Simulator) serveAPI(w http.ResponseWriter, r *http.Request, e apiEndpoint) {
	f := s.begin(e.name)
	if s.misbehave(w, r, e.name, f) {
		return
	}
	if f == LostReply {
		defer resetConnection(w) // the connection's own writer, once the request is served
		w = lost()
	}
	token, ok := bearer(r)
	if !ok && !e.public {
		writeCouldNotAuthenticate(w)
		return
	}
	c := Caller{sim: s} // no user: a public endpoint called without a token
	if ok {
		if c, ok = s.caller(token); !ok {
			s.writeBadToken(w)
			return
		}
	}
	if e.resource != "" && c.SignedIn() {
		if missing := missingScope(c.Scopes, e.resource, r.Method, e.broadOnly); missing != "" {
			writeMissingScope(w, missing)
			return
		}
	}
	// "Tickets always require agent authentication": an end user calling
	// the Tickets API gets the role-based 403, whatever the token's scopes
	// (end users have the Requests API). Zendesk does not say whether the
	// scope or the role is checked first; the simulator checks the scope
	// first, as a token is read before its user's role.
	// https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/
	// https://developer.zendesk.com/api-reference/ticketing/tickets/ticket-requests/
	if c.User.Role == roleEndUser && underTickets(r.URL.Path) {
		writeForbidden(w)
		return
	}
	if e.createsTicket {
		s.serveOnce(w, r, c, e.serve)
		return
	}
	e.serve(w, r, c)
}

// caller returns who presents the access token: its user, read from the
// store, and its scopes. ok is false if the token is unknown, expired or
// revoked, or its user is gone or suspended.
func (s *Simulator) caller(token string) (c Caller, ok bool) {
	s.mu.Lock()
	t := s.validLocked(token)
	var scope string
	var g grant
	if t != nil {
		scope, g = t.scope, t.grant
	}
	s.mu.Unlock()
	if t == nil {
		return Caller{}, false
	}
	u, found := s.store.user(g.userID)
	if !found || u.Suspended {
		return Caller{}, false
	}
	return Caller{User: u, Scopes: strings.Fields(scope), token: token, clientID: g.clientID, sim: s}, true
}

// writeBadToken answers a bearer token that is not valid, as
// Options.BadTokenAnswer says.
func (s *Simulator) writeBadToken(w http.ResponseWriter) {
	if s.opts.BadTokenAnswer == CouldNotAuthenticateAnswer {
		writeCouldNotAuthenticate(w)
		return
	}
	WriteJSON(w, http.StatusUnauthorized, apiError{Code: "invalid_token", Description: invalidTokenDesc})
}

// writeCouldNotAuthenticate writes Zendesk's 401 for a request without
// valid credentials.
func writeCouldNotAuthenticate(w http.ResponseWriter) {
	WriteJSON(w, http.StatusUnauthorized, map[string]string{"error": "Couldn't authenticate you"})
}

// validLocked returns the access token if it exists and is neither revoked
// nor expired, else nil. s.mu must be held.
func (s *Simulator) validLocked(token string) *accessToken {
	t := s.access[token]
	if t == nil || t.revoked || s.opts.Now().After(t.expires) {
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
