package main

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"zendesk-oauth-app/internal/zendesksim"
)

// Every road into a new authorization goes through reauthorize, and none
// loops: a session that a re-authorization made less than a minute ago
// gets a page instead of another trip (the audit saw 40 in a row). Each
// test follows the whole journey, as a browser would, with the grant
// remembered (no consent page), and counts the authorizations. The pair a
// new authorization replaces is revoked once the new one is saved.

// wantGuardPage checks that a journey ended on the guard's page after one
// authorization.
func wantGuardPage(t *testing.T, e *env, page *response) {
	t.Helper()
	if page.StatusCode != http.StatusBadGateway {
		t.Fatalf("the journey ended with status %d, want the 502 page\n%s", page.StatusCode, page.body)
	}
	mustContain(t, page.body, "Zendesk refused the new sign-in", "request id")
	if n := strings.Count(e.logs.String(), `msg="Zendesk refused the new sign-in"`); n != 1 {
		t.Errorf("%d log lines for the page, want 1", n)
	}
	if n := e.sim.Stats()[zendesksim.Authorize]; n != 1 {
		t.Errorf("%d authorization requests, want 1", n)
	}
}

// refuseRefreshes makes Zendesk refuse every refresh with invalid_grant.
func refuseRefreshes(e *env) {
	e.intercept(func(w http.ResponseWriter, r *http.Request) bool {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if r.URL.Path != "/oauth/tokens" || !bytes.Contains(body, []byte(`"grant_type":"refresh_token"`)) {
			return false
		}
		zendesksim.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant"})
		return true
	})
}

// A refresh Zendesk refuses every time, with tokens so short-lived that
// every view refreshes.
func TestNoLoopOnARefusedRefresh(t *testing.T) {
	e := newEnv(t, envOptions{sim: zendesksim.Options{AccessTokenTTL: 40 * time.Second}})
	refuseRefreshes(e)
	b := e.browser()
	b.signIn()
	e.advance(5 * time.Second)
	mustContain(t, b.follow(b.get("/")).body, "Hi, John Doe!") // one authorization, and the callback shows the profile
	e.advance(5 * time.Second)
	wantGuardPage(t, e, b.follow(b.get("/")))
}

// A page whose endpoint answers 401 every time: a refresh, a 401 again,
// one authorization, then the page.
func TestNoLoopOnA401AfterARefresh(t *testing.T) {
	e := newEnv(t, envOptions{vars: map[string]string{"ZENDESK_SCOPES": olderScopes + " tickets:read"}, sim: zendesksim.Options{API: []zendesksim.API{requestedTicketsAPI}}})
	e.intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.Contains(r.URL.Path, "/tickets/") {
			return false
		}
		zendesksim.WriteJSON(w, http.StatusUnauthorized, map[string]string{"error": "Couldn't authenticate you"})
		return true
	})
	e.serve(withRoutes(e.app, route{"GET", "/tickets", e.app.requireSignIn(e.app.handleTickets)}))
	b := e.browser()
	b.signIn()
	wantGuardPage(t, e, b.follow(b.get("/tickets")))
	if n := e.sim.Stats()[zendesksim.Refresh]; n != 2 {
		t.Errorf("%d refreshes, want one after each 401", n)
	}
}

// A 403 naming a scope that ZENDESK_SCOPES asks for and the grant lacks:
// one authorization asks for it, and the page works. A Zendesk that goes on
// refusing a grant that has it gets a page, not a second trip.
func TestNoLoopOnA403(t *testing.T) {
	e := newEnv(t, envOptions{vars: map[string]string{"ZENDESK_SCOPES": olderScopes}, sim: zendesksim.Options{API: []zendesksim.API{requestedTicketsAPI}}})
	b := e.browser()
	b.signIn() // the default scopes: no tickets:read
	a := withScopes(t, e, olderScopes+" tickets:read")
	e.serve(withRoutes(a, route{"GET", "/tickets", a.requireSignIn(a.handleTickets)}))
	consent := b.follow(b.get("/tickets")) // within a minute: no scope check, the 403
	mustContain(t, consent.body, "tickets:read")
	callback := b.post(consent.Request.URL.String(), url.Values{"decision": {"allow"}}).Header.Get("Location")
	mustContain(t, b.follow(b.get(callback)).body, "Your recent tickets")

	e.sim.Inject(zendesksim.Endpoint(requestedTicketsAPI.Pattern), zendesksim.Forbidden, 0) // no scope named
	if page := b.follow(b.get("/tickets")); page.StatusCode != http.StatusForbidden {
		t.Errorf("a 403 naming no scope: status %d, want the 403 page", page.StatusCode)
	}
	if n := e.sim.Stats()[zendesksim.Authorize]; n != 1 {
		t.Errorf("%d authorization requests, want 1", n)
	}
}

// The scope check right after a sign-in whose grant lacks a configured
// scope: the page is served as it is (a trip through Zendesk could not
// change what it just granted); a minute on, one authorization asks for
// the scope.
func TestNoLoopOnTheScopeCheck(t *testing.T) {
	e := newEnv(t, envOptions{vars: map[string]string{"ZENDESK_SCOPES": olderScopes}})
	b := e.browser()
	b.signIn()
	a := withScopes(t, e, olderScopes+" tickets:read")
	e.serve(a.handler(a.routes()))
	mustContain(t, b.get("/").body, "Hi, John Doe!")
	if n := e.sim.Stats()[zendesksim.Authorize]; n != 0 {
		t.Errorf("%d authorization requests within the minute, want none", n)
	}
	e.advance(2 * recentSignIn)
	if resp := b.get("/"); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/zendesk/auth?again=1" {
		t.Errorf("a minute on: status %d to %q, want 303 to authorize", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// The pair a new authorization replaces is revoked once the new one is
// saved: the first cookie no longer signs anyone in.
func TestReplacedPairIsRevoked(t *testing.T) {
	e := newEnv(t, envOptions{vars: map[string]string{"ZENDESK_SCOPES": olderScopes}})
	b := e.browser()
	b.signIn()
	first := b.session()
	firstCookies := b.client.Jar.Cookies(mustParse(e.server.URL))
	e.advance(2 * recentSignIn)
	a := withScopes(t, e, olderScopes+" tickets:read")
	e.serve(a.handler(a.routes()))

	consent := b.follow(b.get("/")) // the scope check: Zendesk asks for the new scope
	mustContain(t, consent.body, "tickets:read")
	callback := b.post(consent.Request.URL.String(), url.Values{"decision": {"allow"}}).Header.Get("Location")
	mustContain(t, b.get(callback).body, "Hi, John Doe!")
	if !e.sim.Revoked(first.AccessToken) {
		t.Error("the replaced pair was not revoked")
	}
	if !strings.Contains(e.logs.String(), "replaced_session=revoked") {
		t.Error("the sign-in's log line does not say the replaced pair was revoked")
	}
	stale := e.browser()
	stale.client.Jar.SetCookies(mustParse(e.server.URL), firstCookies)
	if resp := stale.get("/"); resp.StatusCode == http.StatusOK {
		t.Error("the first cookie still signs in")
	}
}
