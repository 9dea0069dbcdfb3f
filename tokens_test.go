package main

import (
	"zendesk-oauth-app/internal/userapi"

	"zendesk-oauth-app/internal/securecookie"

	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"zendesk-oauth-app/internal/zendesk"
	"zendesk-oauth-app/internal/zendesksim"
)

func TestRefreshBeforeExpiry(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	b.signIn()
	before := b.session()

	e.advance(28 * time.Minute)
	b.get("/")
	if n := e.sim.Stats()[zendesksim.Refresh]; n != 0 {
		t.Fatalf("%d refreshes two minutes before expiry, want 0", n)
	}

	// Within a minute of expiry, the token is refreshed before use.
	e.advance(90 * time.Second)
	resp := b.get("/")
	mustContain(t, resp.body, "Hi, John Doe!")
	if n := e.sim.Stats()[zendesksim.Refresh]; n != 1 {
		t.Errorf("%d refreshes, want 1", n)
	}
	if setCookieHeader(resp, "session") == nil {
		t.Error("the new pair was not stored on the same response")
	}
	after := b.session()
	if after.AccessToken == before.AccessToken || after.RefreshToken == before.RefreshToken {
		t.Error("tokens not replaced after refresh")
	}
	if want := e.appClock.Now().Add(zendesk.AccessTokenLifetime); !after.AccessExpiry.Equal(want) {
		t.Errorf("new access expiry %v, want %v", after.AccessExpiry, want)
	}
	sent := e.sim.LastTokenRequest()
	for name, want := range map[string]string{"grant_type": "refresh_token", "refresh_token": before.RefreshToken, "client_id": "test-client", "client_secret": "test-client-secret", "expires_in": "1800", "refresh_token_expires_in": "2592000"} {
		if got := sent.Get(name); got != want {
			t.Errorf("refresh request %s = %q, want %q", name, got, want)
		}
	}
	// No scope: a refresh keeps the grant's (RFC 6749 §6), and asking for
	// ZENDESK_SCOPES would fail the day a team adds one.
	if sent.Has("scope") {
		t.Errorf("the refresh request asks for scope %q", sent.Get("scope"))
	}
	if after.Scope != defaultScopes {
		t.Errorf("the session's scope after a refresh is %q, want the grant's %q", after.Scope, defaultScopes)
	}
}

func TestRefreshAfter401(t *testing.T) {
	e := newEnv(t, envOptions{sim: zendesksim.Options{AccessTokenTTL: 10 * time.Minute}})
	b := e.browser()
	b.signIn()

	// Zendesk's clock runs ahead: it has expired a token the app thinks valid.
	e.simClock.Advance(11 * time.Minute)
	resp := b.get("/")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d\n%s", resp.StatusCode, resp.body)
	}
	mustContain(t, resp.body, "Hi, John Doe!")
	if st := e.sim.Stats(); st[zendesksim.Refresh] != 1 || st[zendesksim.Me] != 3 {
		t.Errorf("stats %+v, want 1 refresh and 3 users/me calls (sign-in, 401, retry)", st)
	}
	if setCookieHeader(resp, "session") == nil {
		t.Error("the new pair was not stored")
	}
}

// Twenty tabs wake up with the same expired session: Zendesk sees one
// refresh, and every tab gets the new pair.
func TestConcurrentRefreshIsShared(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	b.signIn()
	old := b.cookie("session").Value
	e.advance(31 * time.Minute)

	const tabs = 20
	var wg sync.WaitGroup
	statuses := make(chan int, tabs)
	for range tabs {
		wg.Go(func() {
			req, _ := http.NewRequest("GET", e.server.URL+"/", nil)
			req.AddCookie(&http.Cookie{Name: "session", Value: old})
			resp, err := e.server.Client().Do(req)
			if err != nil {
				statuses <- 0
				return
			}
			resp.Body.Close()
			statuses <- resp.StatusCode
		})
	}
	wg.Wait()
	close(statuses)
	for status := range statuses {
		if status != http.StatusOK {
			t.Errorf("a tab got status %d, want 200", status)
		}
	}
	if n := e.sim.Stats()[zendesksim.Refresh]; n != 1 {
		t.Errorf("%d refresh requests at Zendesk, want 1", n)
	}

	// A request that still carries the pre-rotation cookie a little later
	// gets the remembered pair, not invalid_grant.
	e.appClock.Advance(5 * time.Second)
	late := e.browser()
	late.setCookie("session", old)
	if resp := late.get("/"); resp.StatusCode != http.StatusOK {
		t.Errorf("late request with the old cookie: status %d", resp.StatusCode)
	}
	if n := e.sim.Stats()[zendesksim.Refresh]; n != 1 {
		t.Errorf("%d refresh requests, want still 1", n)
	}

	// Only briefly: later, whoever holds the old cookie gets nothing from
	// it. Its refresh token is spent, so the person signs in again.
	e.appClock.Advance(2 * userapi.RememberRefresh)
	stale := e.browser()
	stale.setCookie("session", old)
	if resp := stale.get("/"); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/zendesk/auth?again=1" {
		t.Errorf("the old cookie after %v: status %d to %q, want 303 to /zendesk/auth?again=1", 2*userapi.RememberRefresh, resp.StatusCode, resp.Header.Get("Location"))
	}
	if n := e.sim.Stats()[zendesksim.Refresh]; n != 2 {
		t.Errorf("%d refresh requests, want 2 (the old token's, refused)", n)
	}
}

func TestRefreshRefusedReauthorizes(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	b.signIn()
	old := b.cookie("session").Value
	e.advance(31 * time.Minute)
	b.get("/") // rotates the pair

	// Much later, a stale copy of the old cookie: its refresh token was
	// used, so Zendesk answers invalid_grant.
	e.advance(2 * time.Minute)
	stale := e.browser()
	stale.setCookie("session", old)
	resp := stale.get("/")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/zendesk/auth?again=1" {
		t.Fatalf("status %d to %q, want 303 to /zendesk/auth?again=1", resp.StatusCode, resp.Header.Get("Location"))
	}
	if c := setCookieHeader(resp, "session"); c == nil || c.MaxAge >= 0 {
		t.Error("the dead session was not cleared")
	}
	if !strings.Contains(e.logs.String(), "invalid_grant") {
		t.Error("the log does not say why the session ended")
	}
}

func TestRefreshTokenExpiredAtZendesk(t *testing.T) {
	e := newEnv(t, envOptions{vars: map[string]string{"SESSION_MAX_AGE": "720h"}, sim: zendesksim.Options{RefreshTokenTTL: 8 * 24 * time.Hour}})
	b := e.browser()
	b.signIn()
	// The app's cookie lives as long as Zendesk said the refresh token
	// would; here Zendesk's clock is past that, the app's not quite.
	e.appClock.Advance(8*24*time.Hour - time.Hour)
	e.simClock.Advance(8*24*time.Hour + time.Hour)
	resp := b.get("/")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/zendesk/auth?again=1" {
		t.Fatalf("status %d to %q, want 303 to /zendesk/auth?again=1", resp.StatusCode, resp.Header.Get("Location"))
	}
	// Authorizing again works and signs the person in afresh.
	mustContain(t, b.signIn().body, "Hi, John Doe!")
}

func TestNoRefreshTokenReauthorizes(t *testing.T) {
	e := newEnv(t, envOptions{sim: zendesksim.Options{NoRefreshToken: true, AccessTokenTTL: 10 * time.Minute}})
	b := e.browser()
	b.signIn()
	if s := b.session(); s.RefreshToken != "" {
		t.Fatalf("session has a refresh token %q", s.RefreshToken)
	}
	e.appClock.Advance(9*time.Minute + 30*time.Second)
	resp := b.get("/")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/zendesk/auth?again=1" {
		t.Errorf("status %d to %q, want 303 to /zendesk/auth?again=1", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestRefreshServerErrorKeepsSession(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	b.signIn()
	e.advance(31 * time.Minute)
	e.sim.Inject(zendesksim.Refresh, zendesksim.ServerError, 1)

	resp := b.get("/")
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("status %d, want 502", resp.StatusCode)
	}
	mustContain(t, resp.body, "Zendesk is not available", "request id")
	if c := setCookieHeader(resp, "session"); c != nil {
		t.Errorf("the session cookie was touched: %v", c)
	}
	// The next try succeeds with the same session.
	mustContain(t, b.get("/").body, "Hi, John Doe!")
	if n := e.sim.Stats()[zendesksim.Refresh]; n != 2 {
		t.Errorf("%d refreshes, want 2", n)
	}
}

func TestSignOutWhenRevocationFails(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	b.signIn()
	e.sim.Inject(zendesksim.Revoke, zendesksim.ServerError, 0)
	resp := b.post("/zendesk/logout", nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("status %d, want 303", resp.StatusCode)
	}
	if b.cookie("session") != nil {
		t.Error("the session survived a failed revocation")
	}
	mustContain(t, b.get(resp.Header.Get("Location")).body, "stays valid until it expires")
	if !strings.Contains(e.logs.String(), "revocation=failed") {
		t.Error("the failure was not logged")
	}
}

func TestSignOutAfterExpiryRevokesTheRefreshedToken(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	b.signIn()
	e.advance(31 * time.Minute)
	b.post("/zendesk/logout", nil)
	if st := e.sim.Stats(); st[zendesksim.Refresh] != 1 || st[zendesksim.Revoke] != 1 {
		t.Errorf("stats %+v, want one refresh then one revocation", st)
	}
}

// SESSION_SECRET="new,old": cookies sealed with the old secret still open,
// and are resealed with the new one.
func TestSessionSecretRotation(t *testing.T) {
	const oldSecret, newSecret = testSessionSecret, "the-new-session-secret-0123456789abcd"
	e := newEnv(t, envOptions{})
	b := e.browser()
	b.signIn()
	oldCookie := b.cookie("session").Value

	cfg := *e.app.cfg
	cfg.secrets = [][]byte{[]byte(newSecret), []byte(oldSecret)}
	rotated, err := newApp(&cfg, e.app.log)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/", nil)
	req.AddCookie(&http.Cookie{Name: "session", Value: oldCookie})
	rec := httptest.NewRecorder()
	rotated.handler(rotated.routes()).ServeHTTP(rec, req)
	if !strings.Contains(rec.Body.String(), "Hi, John Doe!") {
		t.Fatalf("the old cookie did not open after rotation:\n%s", rec.Body)
	}
	var resealed string
	for _, c := range rec.Result().Cookies() {
		if c.Name == "session" {
			resealed = c.Value
		}
	}
	if resealed == "" {
		t.Fatal("the old cookie was not resealed")
	}
	onlyNew, _ := securecookie.New([][]byte{[]byte(newSecret)}, "test-client@acme")
	if _, err := onlyNew.Decode("session", resealed, e.appClock.Now(), &session{}); err != nil {
		t.Errorf("the resealed cookie does not open with the new secret alone: %v", err)
	}
	if _, err := onlyNew.Decode("session", oldCookie, e.appClock.Now(), &session{}); err == nil {
		t.Error("the old cookie opens without the old secret")
	}
}
