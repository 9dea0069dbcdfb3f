// Package zendesksim simulates the Zendesk endpoints the app uses, so that
// the app's -demo mode and all its tests run over real HTTP without a
// Zendesk account. By default it behaves like the real Zendesk of 2026,
// including the parts a polite simulator would smooth over: it is never
// kinder than Zendesk to make a test pass. Where Zendesk documents
// nothing, the comments say that the simulator's answer is a guess.
//
// Endpoints:
//
//	GET    /oauth/authorizations/new            authorization request (code + PKCE): consent page,
//	                                            or straight back to redirect_uri for a remembered grant
//	POST   /oauth/authorizations/new            the consent page's Allow or Deny, and whom to sign in as
//	POST   /oauth/tokens                        authorization_code and refresh_token grants
//	GET    /api/v2/users/me(.json)              Show Self
//	DELETE /api/v2/oauth/tokens/current(.json)  revoke the presented access token
//	GET    /simulated-idp/login                 Options.IdentityProvider only: the identity provider's
//	POST   /simulated-idp/login                 sign-in page and its Sign in button, on the other loopback name
//	GET    /access/jwt                          Options.IdentityProvider only: back from the identity
//	                                            provider, sets the Zendesk session cookie
//	(Options.API)                               the extra API endpoints a test or the -demo mode lists,
//	                                            e.g. "PUT /api/v2/tickets/{id}.json"; see API
//
// # The account
//
// An account has users and tickets, kept in a store: Options.Users and
// Options.Tickets seed it (by default John Doe, an admin, who signs in
// unless told otherwise, Jane Roe, an end user, and a few tickets), and
// Users and Tickets show it. The store applies the rules Zendesk applies:
// agents and admins see every ticket, an end user only the ones they
// requested; a ticket the caller may not see is 404 RecordNotFound, as if
// it did not exist; a closed ticket refuses updates with 422
// RecordInvalid on status; a ticket needs a description; a user's time
// zone is one of Zendesk's names (TimeZones), and who may change whom
// follows the roles. Tokens, codes and remembered grants belong to the
// user who authorized, and Show Self reads that user from the store, so
// what an endpoint changes shows there. The simulated consent page asks
// whom to sign in as, so that a demo or a test can be an end user as well
// as an admin.
//
// # Endpoints a team adds
//
// Options.API lists the Zendesk endpoints the app's pages call, one API
// entry each: a pattern as Zendesk's reference writes it
// ("GET /api/v2/tickets/{id}.json"; the path answers with and without
// .json), the scope resource that covers it, whether it is Public (needs
// no token, like List Time Zones), and a handler. Before the handler runs
// the request is counted, takes its injected fault, and passes Zendesk's
// checks: a valid token whose scopes cover the endpoint, and, on the
// Tickets API, an agent. The handler gets a Caller: the user, the
// token's scopes, and the store as that user may see and change it. The
// Caller's errors, and those of ReadJSON, PathID, NotFound and Invalid,
// are written by WriteError as Zendesk would; the Example shows a
// handler. Entries keep no state of their own, so one list serves any
// number of simulators, each with its own store.
//
// # What it copies from Zendesk
//
//   - Codes are single use and live 120 seconds; PKCE S256 is required of a
//     public client (no secret). A bad client or redirect_uri gets an error
//     page, never a redirect.
//     https://support.zendesk.com/hc/en-us/articles/4408845965210
//   - Token responses are 201 Created, as the reference says, or 200 with
//     Options.TokenStatusOK, which is what Zendesk's CLI, zcli, requires.
//     Access tokens are RS256 JWTs of about a kilobyte, refresh tokens
//     opaque strings as long (Options.TokenBytes). Expiry is enforced: an
//     access token lives 30 minutes unless the request asks otherwise, and
//     the reply has a top-level expires_in only when the request sent one;
//     a refresh_token_expires_in of exactly 604800, which the reference's
//     example sends, is accepted. Refreshing rotates both tokens; an old
//     refresh token gets invalid_grant.
//     https://developer.zendesk.com/api-reference/ticketing/oauth/grant_type_tokens/
//     https://support.zendesk.com/hc/en-us/articles/9182123625370
//     https://github.com/NangoHQ/nango/issues/6775
//     https://github.com/zendesk/zcli
//   - A refresh may not widen the grant (RFC 6749 §6): without scope the
//     new tokens carry the refresh token's scope; asking for any scope it
//     lacks gets 400 invalid_scope and rotates nothing; a narrower scope is
//     what the new tokens, refresh token included, carry.
//   - A client may be limited to allowed scopes (Options.AllowedScopes):
//     asking for another is invalid_scope.
//     https://support.zendesk.com/hc/en-us/articles/11093380955674
//   - A person who already allowed a client the same scopes is sent back
//     without a consent page; a real revocation forgets that grant. Allow
//     remembers whom the person signed in as in the simulator's Zendesk
//     session cookie, _zendesk_session, and a remembered grant goes
//     straight back as that user.
//     https://developer.zendesk.com/documentation/ticketing/working-with-oauth/using-oauth-to-authenticate-zendesk-api-requests-in-a-web-app/
//   - API calls need a bearer token whose scopes cover the endpoint (read
//     or <resource>:read for GET, write or <resource>:write otherwise),
//     else 403 "You are missing the following required scopes:
//     <resource>:read" (or :write). That is not the role-based 403, "You
//     do not have access to this page...", which an end user gets from the
//     Tickets API ("Tickets always require agent authentication"; end
//     users have the Requests API) and the Forbidden fault sends.
//     With Options.ShowSelfNeedsRead, Show Self accepts only the broad read
//     scope, as field reports show; Zendesk does not say which it needs.
//     https://developer.zendesk.com/api-reference/ticketing/oauth/grant_type_tokens/#scope
//     https://support.zendesk.com/hc/en-us/community/posts/4485954843162
//     https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/
//     https://developer.zendesk.com/api-reference/ticketing/tickets/ticket-requests/
//   - A bad, expired or revoked token, or one whose user is suspended, gets
//     401 with RFC 6750's invalid_token body, or Zendesk's other 401 body,
//     "Couldn't authenticate you" (Options.BadTokenAnswer); a request
//     without a bearer token gets the latter, except on a public endpoint.
//     Show Self is public: it answers 200 with an anonymous user when no
//     credentials are sent.
//     https://developer.zendesk.com/api-reference/ticketing/users/users/#show-self
//   - Create Ticket (an endpoint listed as POST /api/v2/tickets(.json))
//     runs once per Idempotency-Key: a repeat within two hours gets the
//     first answer with x-idempotency-lookup: hit, the same key with other
//     parameters 400 IdempotentRequestError (idempotency.go says what the
//     simulator chose where Zendesk is silent). Updates are PUTs, which
//     take no key and run every time.
//     https://developer.zendesk.com/api-reference/ticketing/introduction/#idempotency
//   - Revocation answers 204 and the token and its refresh token stop
//     working, or, as a test chooses (Options.Revocation), 403, or 204
//     while the token keeps working, as community posts report, or 204
//     that revokes only a token with the write scope.
//     https://developer.zendesk.com/documentation/api-basics/authentication/revoking-oauth-token/
//   - An admin may delete a client's tokens or suspend a user
//     (DeleteClientTokens, SuspendUser): the next API call is 401, the
//     next refresh invalid_grant, and the person must authorize again, on
//     a consent page.
//     https://support.zendesk.com/hc/en-us/articles/9447118302362
//   - Accounts are separate: a client made in one is "No such client" at
//     another's authorization page, which never redirects back; a global
//     client (an identifier that begins with zdg-) works on every account;
//     a token of one account is 401 at another. Accounts serves several on
//     one listener, routed by the first label of the Host
//     (acme.zendesk.test is account acme).
//     https://developer.zendesk.com/documentation/apps/publish-your-app-or-theme/global_oauth_intro/
//   - With Options.IdentityProvider, a person not signed in to Zendesk is
//     sent from the authorization request to a single sign-on page on
//     another origin, and back.
//     https://support.zendesk.com/hc/en-us/articles/4408845838874
//
// # For tests
//
// Stats counts the requests per Endpoint; Inject makes an endpoint fail
// (500s, the three kinds of 429 Zendesk sends, the role-based 403, hangs,
// TCP resets, broken JSON, ...), or lose its reply (LostReply: the
// request is carried out, a refresh rotates the pair, then the connection
// is reset, as when a reply is lost on the way); LastTokenRequest shows
// what the client sent; Revoked and ExpireAccessTokens look at and move
// the tokens' state. DeleteClientTokens and SuspendUser are an admin's
// actions, which an app meets only by their effects; CreateToken issues a
// user's token without a browser, as Zendesk's OAuth Tokens API does.
//
// The simulator keeps everything in memory and is meant for demos and
// tests only.
package zendesksim

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"
)

// Simulator is an http.Handler serving one simulated Zendesk account.
// Create it with New, or let NewServer or NewAccounts create and serve
// it. Its methods are safe for concurrent use.
type Simulator struct {
	opts    Options
	clients map[string]client // the OAuth clients the account knows, by identifier
	store   *store
	mux     *http.ServeMux
	routes  map[string]string // API routes (patterns without .json) to the patterns listed
	done    chan struct{}     // closed when its Server or Accounts closes, so that hung handlers return

	mu         sync.Mutex // guards everything below
	codes      map[string]*authCode
	access     map[string]*accessToken
	refresh    map[string]*refreshToken
	grants     map[grant]bool
	sessions   map[string]int64     // Zendesk session cookie values to their user (0: none yet)
	ssoTickets map[string]time.Time // identity provider sign-ins not yet redeemed, by expiry
	faults     map[Endpoint]*injected
	once       map[onceKey]*onceAnswer // Create Ticket answers by Idempotency-Key
	stats      Stats
	lastToken  url.Values
}

// New returns a simulator configured by opts. Serve it with
// httptest.NewServer, httptest.NewUnstartedServer + StartTLS, or use
// NewServer.
func New(opts Options) *Simulator {
	return newSimulator(opts, nil)
}

// newSimulator returns a simulator configured by opts that also knows the
// clients others (Accounts' global clients) besides its own.
func newSimulator(opts Options, others map[string]client) *Simulator {
	if opts.ClientID == "" {
		opts.ClientID = "demo-client"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Users == nil {
		opts.Users = DefaultUsers()
		if opts.Tickets == nil {
			opts.Tickets = DefaultTickets()
		}
	}
	if opts.TokenBytes <= 0 {
		opts.TokenBytes = defaultTokenBytes
	}
	opts.API = slices.Clone(opts.API) // clientOf and newStore copy the rest
	s := &Simulator{
		opts:       opts,
		clients:    maps.Clone(others),
		store:      newStore(opts.Users, opts.Tickets, opts.Now),
		mux:        http.NewServeMux(),
		done:       make(chan struct{}),
		codes:      map[string]*authCode{},
		access:     map[string]*accessToken{},
		refresh:    map[string]*refreshToken{},
		grants:     map[grant]bool{},
		sessions:   map[string]int64{},
		ssoTickets: map[string]time.Time{},
		faults:     map[Endpoint]*injected{},
		once:       map[onceKey]*onceAnswer{},
		routes:     map[string]string{},
		stats:      Stats{},
	}
	if s.clients == nil {
		s.clients = map[string]client{}
	}
	s.clients[opts.ClientID] = clientOf(opts)

	// Every route. API endpoints go through handleAPI, which checks the
	// token and its scopes; Options.API adds more.
	s.mux.HandleFunc("GET /oauth/authorizations/new", s.authorize)
	s.mux.HandleFunc("POST /oauth/authorizations/new", s.decide)
	s.mux.HandleFunc("POST /oauth/tokens", s.tokens)
	s.handleAPI(apiEndpoint{name: Me, resource: "users", broadOnly: opts.ShowSelfNeedsRead, public: true, serve: s.me},
		"GET /api/v2/users/me.json")
	s.handleAPI(apiEndpoint{name: Revoke, serve: s.revoke}, "DELETE /api/v2/oauth/tokens/current.json")
	for _, a := range opts.API {
		s.addAPI(a)
	}
	if opts.IdentityProvider {
		s.mux.HandleFunc("GET "+idpPath, s.idpPage)
		s.mux.HandleFunc("POST "+idpPath, s.idpSignIn)
		s.mux.HandleFunc("GET "+ssoReturnPath, s.ssoReturn)
	}
	s.mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	s.mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		WriteJSON(w, http.StatusNotFound, apiError{Code: "InvalidEndpoint"})
	})
	return s
}

// ServeHTTP serves the simulated Zendesk endpoints.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, routed(r))
}

// Stats returns a copy of the request counters.
func (s *Simulator) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.stats)
}

// Users returns the account's users as they are now, in Options order.
func (s *Simulator) Users() []User {
	return s.store.allUsers()
}

// Tickets returns every ticket of the account as it is now, by id.
func (s *Simulator) Tickets() []Ticket {
	return s.store.allTickets()
}

// Revoked reports whether accessToken was really revoked via
// DELETE /api/v2/oauth/tokens/current.json: never under RefusesRevocation
// or PretendsToRevoke, nor for a token without the write scope under
// NeedsWriteToRevoke.
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
