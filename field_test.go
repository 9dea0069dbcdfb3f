package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"zendesk-oauth-app/internal/zendesksim"
)

// Zendesk in the field: what integrators meet once the sign-in works.

// A Zendesk that keeps refusing fresh tokens with 401 sends the person
// through one new authorization, and then shows a page: never a loop.
func TestSecond401AuthorizesOnceThenStops(t *testing.T) {
	e := newEnv(t, envOptions{})
	var refuse atomic.Bool
	e.intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if refuse.Load() && strings.HasPrefix(r.URL.Path, "/api/v2/users/me") {
			zendesksim.WriteJSON(w, http.StatusUnauthorized, map[string]string{"error": "Couldn't authenticate you"})
			return true
		}
		return false
	})
	b := e.browser()
	b.signIn()
	e.advance(2 * recentSignIn)

	refuse.Store(true)
	resp := b.get("/")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/zendesk/auth?again=1" {
		t.Fatalf("a second 401: status %d to %q, want 303 to /zendesk/auth?again=1", resp.StatusCode, resp.Header.Get("Location"))
	}
	page := b.follow(resp)
	if page.StatusCode != http.StatusBadGateway {
		t.Errorf("after the new authorization: status %d, want 502", page.StatusCode)
	}
	if st := e.sim.Stats(); st[zendesksim.Refresh] != 1 || st[zendesksim.Authorize] != 1 || st[zendesksim.Exchange] != 2 {
		t.Errorf("stats %v: want one refresh, one new authorization and its exchange", st)
	}
	if n := e.sim.Stats()[zendesksim.Revoke]; n != 1 {
		t.Errorf("%d revocations: the tokens of the refused sign-in must be revoked", n)
	}
	if b.cookie("session") != nil {
		t.Error("a session was kept")
	}

	// Right after a sign-in too: one authorization, then a page.
	refuse.Store(false)
	b.signIn()
	refuse.Store(true)
	authorizations := e.sim.Stats()[zendesksim.Authorize]
	if page := b.follow(b.get("/")); page.StatusCode != http.StatusBadGateway {
		t.Errorf("a second 401 right after a sign-in: status %d, want 502", page.StatusCode)
	}
	if n := e.sim.Stats()[zendesksim.Authorize]; n != authorizations+1 {
		t.Errorf("%d new authorizations, want 1", n-authorizations)
	}
}

// Zendesk's 429 without Retry-After: the busy page asks for a minute,
// the length of Zendesk's rate-limit window.
func TestBusyWithoutRetryAfter(t *testing.T) {
	e := newEnv(t, envOptions{})
	var busy atomic.Bool
	e.intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if busy.Load() && strings.HasPrefix(r.URL.Path, "/api/") {
			w.WriteHeader(http.StatusTooManyRequests)
			return true
		}
		return false
	})
	b := e.browser()
	b.signIn()
	busy.Store(true)
	resp := b.get("/")
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "60" {
		t.Errorf("status %d, Retry-After %q: want 503 with 60", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	mustContain(t, resp.body, "Zendesk is busy", "try again in 60 seconds")
}

// The three Marketplace settings, when set, go to Zendesk with every
// request: the sign-in's, a refresh, an API call of a page, a sign-out.
func TestMarketplaceHeaders(t *testing.T) {
	vars := map[string]string{
		"ZENDESK_MARKETPLACE_NAME":            "Acme Helper",
		"ZENDESK_MARKETPLACE_ORGANIZATION_ID": "1234",
		"ZENDESK_MARKETPLACE_APP_ID":          "5678",
	}
	e := newEnv(t, envOptions{vars: vars})
	var mu sync.Mutex
	var without []string
	e.intercept(func(w http.ResponseWriter, r *http.Request) bool {
		fromApp := r.URL.Path == "/oauth/tokens" || strings.HasPrefix(r.URL.Path, "/api/") // not the browser's consent page
		if fromApp && (r.Header.Get("X-Zendesk-Marketplace-Name") != "Acme Helper" || r.Header.Get("X-Zendesk-Marketplace-Organization-Id") != "1234" ||
			r.Header.Get("X-Zendesk-Marketplace-App-Id") != "5678") {
			mu.Lock()
			without = append(without, r.Method+" "+r.URL.Path)
			mu.Unlock()
		}
		return false
	})
	e.serve(withRoutes(e.app, route{"GET", "/tickets", e.app.requireSignIn(func(w http.ResponseWriter, r *http.Request, api *userAPI) error {
		return api.Get("/api/v2/users/me.json", nil)
	})}))

	b := e.browser()
	b.signIn()
	e.advance(31 * time.Minute)
	b.get("/tickets") // a refresh, then the page's call
	b.post("/zendesk/logout", nil)
	if st := e.sim.Stats(); st[zendesksim.Exchange] != 1 || st[zendesksim.Refresh] != 1 || st[zendesksim.Me] != 3 || st[zendesksim.Revoke] != 1 {
		t.Fatalf("stats %v: the journey did not run", st)
	}
	if len(without) > 0 {
		t.Errorf("requests to Zendesk without the Marketplace headers: %q", without)
	}

	// All three or none.
	delete(vars, "ZENDESK_MARKETPLACE_APP_ID")
	vars["ZENDESK_CLIENT_ID"] = "id"
	if _, err := loadConfig(vars, false); err == nil || !strings.Contains(err.Error(), "ZENDESK_MARKETPLACE_APP_ID is not set") {
		t.Errorf("two of three Marketplace settings: %v, want a problem naming the third", err)
	}
}

// invalid_scope at a refresh is no dead end: the person goes through
// Zendesk's authorization, and back to the page.
func TestRefreshInvalidScopeReauthorizes(t *testing.T) {
	e := newEnv(t, envOptions{})
	var refuseNext atomic.Bool // the next token request: the refresh
	e.intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/oauth/tokens" && refuseNext.CompareAndSwap(true, false) {
			zendesksim.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_scope"})
			return true
		}
		return false
	})
	b := e.browser()
	b.signIn()
	e.advance(31 * time.Minute)
	refuseNext.Store(true)
	resp := b.get("/")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/zendesk/auth?again=1" {
		t.Fatalf("status %d to %q, want 303 to /zendesk/auth?again=1", resp.StatusCode, resp.Header.Get("Location"))
	}
	mustContain(t, b.follow(resp).body, "Hi, John Doe!")
}

// Zendesk's reference says the token endpoint answers 201; Zendesk's own
// CLI sees 200. The app signs in and refreshes with either.
func TestTokenEndpointStatus(t *testing.T) {
	for name, ok200 := range map[string]bool{"201": false, "200": true} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, envOptions{sim: zendesksim.Options{TokenStatusOK: ok200}})
			b := e.browser()
			b.signIn()
			e.advance(31 * time.Minute)
			mustContain(t, b.get("/").body, "Hi, John Doe!")
			if st := e.sim.Stats(); st[zendesksim.Exchange] != 1 || st[zendesksim.Refresh] != 1 {
				t.Errorf("stats %v: want one exchange and one refresh", st)
			}
		})
	}
}

// A token Zendesk ends early gets a 401 whatever its body says: RFC
// 6750's invalid_token or "Couldn't authenticate you". Either way one
// refresh and one retry serve the page.
func TestAny401Refreshes(t *testing.T) {
	for name, answer := range map[string]zendesksim.BadTokenAnswer{
		"invalid_token":             zendesksim.InvalidTokenAnswer,
		"Couldn't authenticate you": zendesksim.CouldNotAuthenticateAnswer,
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, envOptions{sim: zendesksim.Options{BadTokenAnswer: answer}})
			b := e.browser()
			b.signIn()
			e.sim.ExpireAccessTokens() // ended at Zendesk, not by the app's clock
			resp := b.get("/")
			mustContain(t, resp.body, "Hi, John Doe!")
			if st := e.sim.Stats(); st[zendesksim.Refresh] != 1 || st[zendesksim.Me] != 3 {
				t.Errorf("stats %v: want one refresh, and Show Self at the sign-in, refused, retried", st)
			}
		})
	}
}

// The reply to a refresh is lost after Zendesk rotated the pair. The app
// asks once more at once, with the same refresh token, and Zendesk's
// invalid_grant says the first try rotated: the person goes through one new
// authorization and back to the page; no dead end, no loop.
func TestLostRefreshReply(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	b.signIn()
	e.advance(31 * time.Minute)
	e.sim.Inject(zendesksim.Refresh, zendesksim.LostReply, 1)
	resp := b.get("/")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/zendesk/auth?again=1" {
		t.Fatalf("status %d to %q, want 303 to /zendesk/auth?again=1", resp.StatusCode, resp.Header.Get("Location"))
	}
	mustContain(t, b.follow(resp).body, "Hi, John Doe!")
	if st := e.sim.Stats(); st[zendesksim.Refresh] != 2 || st[zendesksim.Authorize] != 1 || st[zendesksim.Exchange] != 2 {
		t.Errorf("stats %v: want the lost refresh and its retry, one authorization and its exchange", st)
	}
}

// A connection that breaks before any answer, without a rotation: the
// refresh asked again at once succeeds, and the page shows, with no
// authorization. When it breaks every time, the person gets a page and
// keeps the session, and the next view, once Zendesk is back, needs no
// authorization either.
func TestRefreshConnectionReset(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	b.signIn()
	e.advance(31 * time.Minute)
	e.sim.Inject(zendesksim.Refresh, zendesksim.Reset, 1)
	mustContain(t, b.get("/").body, "Hi, John Doe!")
	if st := e.sim.Stats(); st[zendesksim.Refresh] != 2 || st[zendesksim.Authorize] != 0 {
		t.Errorf("stats %v: want the reset refresh, its retry, and no authorization", st)
	}

	e.advance(31 * time.Minute)
	e.sim.Inject(zendesksim.Refresh, zendesksim.Reset, 0)
	resp := b.get("/")
	if resp.StatusCode != http.StatusBadGateway || setCookieHeader(resp, "session") != nil {
		t.Errorf("status %d, session cookie %v: want the unavailable page, the session kept", resp.StatusCode, setCookieHeader(resp, "session"))
	}
	mustContain(t, resp.body, "Zendesk is not available")
	e.sim.Inject(zendesksim.Refresh, zendesksim.NoFault, 0)
	mustContain(t, b.get("/").body, "Hi, John Doe!")
	if st := e.sim.Stats(); st[zendesksim.Refresh] != 5 || st[zendesksim.Authorize] != 0 {
		t.Errorf("stats %v: want two more refused tries, one that works, and no authorization", st)
	}
}

// Whether Show Self needs users:read or the broad read is not documented.
// When Zendesk says read is missing, the page says to set it.
func TestShowSelfNeedsRead(t *testing.T) {
	e := newEnv(t, envOptions{sim: zendesksim.Options{ShowSelfNeedsRead: true}})
	b := e.browser()
	resp := b.get(b.authorize("/zendesk/auth", "allow"))
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("status %d, want 403", resp.StatusCode)
	}
	mustContain(t, resp.body, "Zendesk says the app lacks the scope read", "add read to ZENDESK_SCOPES")

	e = newEnv(t, envOptions{vars: map[string]string{"ZENDESK_SCOPES": "read"}, sim: zendesksim.Options{ShowSelfNeedsRead: true}})
	mustContain(t, e.browser().signIn().body, "Hi, John Doe!")
}

// Show Self busy right after the exchange: the tokens are kept, and a page
// that needs the person's id learns it from Show Self before its own call.
func TestBusySignInThenAPage(t *testing.T) {
	e := newEnv(t, envOptions{vars: map[string]string{"ZENDESK_SCOPES": defaultScopes + " tickets:read"}, sim: zendesksim.Options{API: []zendesksim.API{requestedTicketsAPI}}})
	e.serve(withRoutes(e.app, route{"GET", "/tickets", e.app.requireSignIn(e.app.handleTickets)}))
	b := e.browser()
	callback := b.authorize("/zendesk/auth", "allow")
	e.sim.Inject(zendesksim.Me, zendesksim.RateLimited, 1)
	if busy := b.get(callback); busy.StatusCode != http.StatusServiceUnavailable || b.session().UserID != 0 {
		t.Fatalf("status %d, user id %d: want the busy page and a session without the user yet", busy.StatusCode, b.session().UserID)
	}
	mustContain(t, b.get("/tickets").body, "#1 The printer is on fire")
	if s := b.session(); s.UserID != 1 {
		t.Errorf("the session's user id is %d, want 1", s.UserID)
	}
	if st := e.sim.Stats(); st[zendesksim.Exchange] != 1 || st[zendesksim.Me] != 2 {
		t.Errorf("stats %v: want one exchange, and Show Self at the callback and before the page", st)
	}
}

// invalid_scope at the code exchange (the client's allowed scopes exclude
// one asked for) is no dead end either: the page names ZENDESK_SCOPES and
// offers to try again.
func TestExchangeInvalidScope(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/oauth/tokens" {
			return false
		}
		zendesksim.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_scope"})
		return true
	})
	b := e.browser()
	resp := b.get(b.authorize("/zendesk/auth", "allow"))
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("status %d, want 502", resp.StatusCode)
	}
	mustContain(t, resp.body, "Zendesk refused the scopes", "ZENDESK_SCOPES (now &#34;"+defaultScopes+"&#34;)", `href="/zendesk/auth">Try again`)
	assertOneLogLine(t, e, resp)
}

// An admin deletes the app's tokens (Admin Center lets admins delete a
// global client's tokens), or suspends the user: the next call is a 401,
// the refresh an invalid_grant, then exactly one authorization, with the
// consent page shown again, and no loop.
func TestAdminEndsTheApp(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	b.signIn()
	e.advance(2 * recentSignIn)
	e.sim.DeleteClientTokens("test-client")
	resp := b.get("/")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/zendesk/auth?again=1" {
		t.Fatalf("status %d to %q, want 303 to authorize", resp.StatusCode, resp.Header.Get("Location"))
	}
	mustContain(t, b.allowAgain(resp).body, "Hi, John Doe!")
	// The grant is gone: Zendesk shows its consent page again.
	if st := e.sim.Stats(); st[zendesksim.Authorize] != 1 || st[zendesksim.Consent] != 1 || st[zendesksim.Refresh] != 1 {
		t.Errorf("stats %v: want the 401's refresh, and one authorization with its consent page", st)
	}

	e.advance(2 * recentSignIn)
	e.sim.SuspendUser(1)
	resp = b.get("/")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("a suspended user: status %d, want 303 to authorize", resp.StatusCode)
	}
	if page := b.follow(resp); page.StatusCode != http.StatusOK || strings.Contains(page.body, "John Doe (admin)") {
		t.Errorf("a suspended user: status %d; the consent page must not offer them\n%s", page.StatusCode, page.body)
	}
}

// Instances are separate accounts: a token of acme's is refused by beta.
// A session that names beta with acme's tokens goes through authorization
// at beta, and never reaches acme's data.
func TestInstancesAreSeparateAccounts(t *testing.T) {
	client := zendesksim.Options{ClientID: "zdg-test-client", ClientSecret: "test-client-secret"}
	e := newEnv(t, envOptions{vars: map[string]string{"ZENDESK_SUBDOMAIN": "", "ZENDESK_CLIENT_ID": "zdg-test-client"}})
	client.RedirectURIs = []string{e.server.URL + callbackPath}
	accounts := zendesksim.NewAccounts(map[string]zendesksim.Options{"acme": client, "beta": client})
	t.Cleanup(accounts.Close)
	e.app.zendesk.BaseURL = func(subdomain string) string { return "http://" + subdomain + ".zendesk.test" }
	e.app.zendesk.HTTPClient = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: accounts.DialContext}}
	b := e.browser()
	b.client.Transport = &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		if strings.HasSuffix(addr, ".zendesk.test:80") {
			return accounts.DialContext(ctx, network, addr)
		}
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}

	mustContain(t, b.get(b.authorize("/zendesk/auth?subdomain=acme", "allow")).body, "Hi, John Doe!")
	acme, beta := accounts.Account("acme"), accounts.Account("beta")
	s := b.session()
	s.Subdomain = "beta" // the same tokens, another Zendesk
	b.setCookie(sessionCookie, sealString(e.app.cookies.Codec, sessionCookie, &s, e.appClock.Now().Add(time.Hour)))
	before := acme.Stats()
	e.advance(2 * recentSignIn)

	resp := b.get("/")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/zendesk/auth?again=1&subdomain=beta" {
		t.Fatalf("status %d to %q, want 303 to authorize at beta", resp.StatusCode, resp.Header.Get("Location"))
	}
	if st := beta.Stats(); st[zendesksim.Me] != 1 || st[zendesksim.Refresh] != 1 {
		t.Errorf("beta saw %v: want the refused Show Self and the refused refresh", st)
	}
	if after := acme.Stats(); zendeskRequests(after) != zendeskRequests(before) {
		t.Errorf("acme was asked with a session that names beta: %v, then %v", before, after)
	}
	consent := b.follow(resp)
	if !strings.HasPrefix(consent.Request.URL.String(), "http://beta.zendesk.test/oauth/authorizations/new") {
		t.Errorf("the authorization went to %s, want beta", consent.Request.URL)
	}
}

// Update User is for agents: an end user changing even their own time
// zone gets Zendesk's role 403, which a trip through Zendesk cannot
// change. The page says so, and the person stays signed in; an admin's
// change goes through.
func TestEndUserMayNotUpdateUsers(t *testing.T) {
	updateUser := zendesksim.API{Pattern: "PUT /api/v2/users/{id}.json", Resource: "users",
		Handler: func(w http.ResponseWriter, r *http.Request, c zendesksim.Caller) {
			id, err := zendesksim.PathID(r, "id")
			if err == nil {
				_, err = c.UpdateUser(id, func(u *zendesksim.User) error { u.TimeZone = "Amsterdam"; return nil })
			}
			if err != nil {
				zendesksim.WriteError(w, err)
				return
			}
			w.WriteHeader(http.StatusOK)
		}}
	e := pageEnv(t, olderScopes+" users:write", []zendesksim.API{updateUser}, func(a *app) []route {
		return []route{{"GET", "/amsterdam", a.requireSignIn(func(w http.ResponseWriter, r *http.Request, api *userAPI) error {
			if err := api.Put(fmt.Sprintf("/api/v2/users/%d.json", api.session.UserID), map[string]any{"user": map[string]string{"time_zone": "Amsterdam"}}, nil); err != nil {
				return err
			}
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return nil
		})}}
	})
	jane := e.browser()
	jane.get(jane.authorizeAs("/zendesk/auth", "allow", 2))
	page := jane.follow(jane.get("/amsterdam"))
	if page.StatusCode != http.StatusForbidden {
		t.Fatalf("an end user: status %d, want 403", page.StatusCode)
	}
	mustContain(t, page.body, "Your Zendesk account may not do this")
	mustContain(t, jane.get("/").body, "Hi, Jane Roe!")
	john := e.browser()
	john.signIn()
	if resp := john.get("/amsterdam"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("an admin: status %d, want 303", resp.StatusCode)
	}
	if st := e.sim.Stats(); st[zendesksim.Authorize] != 0 || st[zendesksim.Exchange] != 2 {
		t.Errorf("stats %v: want the two sign-ins only", st)
	}
	if users := e.sim.Users(); users[0].TimeZone != "Amsterdam" || users[1].TimeZone == "Amsterdam" {
		t.Errorf("time zones: %s, %s", users[0].TimeZone, users[1].TimeZone)
	}
}
