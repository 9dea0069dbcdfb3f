package main

import (
	"zendesk-oauth-app/internal/userapi"

	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"zendesk-oauth-app/internal/zendesksim"
)

// What the real Zendesk of 2026 does that a polite simulator would not,
// and how the app holds up: JWT tokens of kilobytes, revocations that are
// refused or do not revoke, 403s, allowed scopes, remembered grants.

// Sign-in, reload, two refreshes and sign-out with tokens of 2 and 4 KB:
// every cookie fits what a browser keeps, all of them fit one 16 KB header
// line (deploy/nginx.conf), and each rotated pair is stored.
func TestLargeTokens(t *testing.T) {
	for _, size := range []int{2048, 4096} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			e := newEnv(t, envOptions{tls: true, sim: zendesksim.Options{TokenBytes: size}})
			b := e.browser()
			page := b.signIn()
			checkCookieSizes(t, page)
			s := b.session()
			if len(s.AccessToken) != size || len(s.RefreshToken) != size {
				t.Fatalf("tokens of %d and %d bytes, want %d", len(s.AccessToken), len(s.RefreshToken), size)
			}
			mustContain(t, b.get("/").body, "Hi, John Doe!")

			for i := range 2 {
				e.advance(31 * time.Minute)
				resp := b.get("/")
				mustContain(t, resp.body, "Hi, John Doe!")
				checkCookieSizes(t, resp)
				if next := b.session(); next.RefreshToken == s.RefreshToken || next.AccessToken == s.AccessToken {
					t.Fatalf("refresh %d: the rotated pair was not stored", i+1)
				} else {
					s = next
				}
			}
			if n := e.sim.Stats()[zendesksim.Refresh]; n != 2 {
				t.Errorf("%d refreshes, want 2", n)
			}

			u, _ := url.Parse(e.server.URL)
			header := 0
			for _, c := range b.client.Jar.Cookies(u) {
				header += len(c.Name) + 1 + len(c.Value) + 2
			}
			if header > 16<<10 {
				t.Errorf("the Cookie header takes %d bytes, more than nginx's 16 KB line", header)
			}

			out := b.post("/zendesk/logout", nil)
			if !e.sim.Revoked(s.AccessToken) || out.Header.Get("Location") != "/?signed_out=revoked" {
				t.Errorf("sign-out: token revoked %v, sent to %q", e.sim.Revoked(s.AccessToken), out.Header.Get("Location"))
			}
			if b.cookie("__Host-session") != nil || b.cookie("__Host-session.1") != nil {
				t.Error("parts of the session survived sign-out")
			}
		})
	}
}

func checkCookieSizes(t *testing.T, resp *response) {
	t.Helper()
	for _, c := range resp.Cookies() {
		if n := len(c.Name) + 1 + len(c.Value); n > 4096 {
			t.Errorf("Set-Cookie %s has %d bytes of name=value, more than a browser keeps", c.Name, n)
		}
	}
}

// Tokens too large to keep, even over several cookies, are revoked at
// Zendesk before the error page: no valid token is left that no one holds.
func TestTokensTooLargeToKeep(t *testing.T) {
	e := newEnv(t, envOptions{sim: zendesksim.Options{TokenBytes: 8000}})
	b := e.browser()
	resp := b.get(b.authorize("/zendesk/auth", "allow"))
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("status %d, want 502", resp.StatusCode)
	}
	mustContain(t, resp.body, "too large", "asked Zendesk to revoke them")
	if n := e.sim.Stats()[zendesksim.Revoke]; n != 1 {
		t.Errorf("%d revocations, want the unkept token revoked", n)
	}
	if b.cookie("session") != nil {
		t.Error("a session was kept")
	}
	assertOneLogLine(t, e, resp)
}

// A refresh whose new pair cannot be kept never loses it in silence: the
// new access token is revoked, the person is told, the session ends.
func TestRefreshTooLargeToKeep(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	b.signIn()
	huge := strings.Repeat("A", 8000)
	revoked := make(chan string, 1)
	e.intercept(func(w http.ResponseWriter, r *http.Request) bool {
		switch {
		case r.URL.Path == "/oauth/tokens":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusCreated)
			json.NewEncoder(w).Encode(map[string]any{"access_token": huge, "refresh_token": huge, "token_type": "bearer", "expires_in": 1800})
		case r.Method == "DELETE":
			revoked <- strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
			w.WriteHeader(http.StatusNoContent)
		default:
			return false
		}
		return true
	})

	e.advance(31 * time.Minute)
	resp := b.get("/")
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("status %d, want 502\n%s", resp.StatusCode, resp.body)
	}
	mustContain(t, resp.body, "too large")
	select {
	case token := <-revoked:
		if token != huge {
			t.Error("another token than the new one was revoked")
		}
	default:
		t.Error("the new pair was not revoked")
	}
	if c := setCookieHeader(resp, "session"); c == nil || c.MaxAge >= 0 {
		t.Error("the session was not ended")
	}
	assertOneLogLine(t, e, resp)
}

// Sign-out says what Zendesk did: revoked, refused (403), or 204 while the
// token still works (found with one Show Self call). The person is signed
// out of the app in every case.
func TestSignOutTellsTheTruth(t *testing.T) {
	for _, tc := range []struct {
		revocation zendesksim.Revocation
		outcome    string
		notice     string
		revoked    bool
	}{
		{zendesksim.Revokes, "revoked", "access to your Zendesk account is revoked", true},
		{zendesksim.RefusesRevocation, "refused", "Zendesk refused to revoke", false},
		{zendesksim.PretendsToRevoke, "kept", "but the token still works", false},
		// Field reports: 204 while a token without the write scope kept
		// working; the app's token has users:read only.
		{zendesksim.NeedsWriteToRevoke, "kept", "but the token still works", false},
	} {
		t.Run(fmt.Sprintf("%s-%d", tc.outcome, tc.revocation), func(t *testing.T) {
			e := newEnv(t, envOptions{vars: map[string]string{"ZENDESK_SCOPES": olderScopes}, sim: zendesksim.Options{Revocation: tc.revocation}})
			b := e.browser()
			b.signIn()
			token := b.session().AccessToken
			resp := b.post("/zendesk/logout", nil)
			if want := "/?signed_out=" + tc.outcome; resp.Header.Get("Location") != want {
				t.Errorf("sent to %q, want %q", resp.Header.Get("Location"), want)
			}
			if e.sim.Revoked(token) != tc.revoked {
				t.Errorf("revoked at Zendesk: %v, want %v", e.sim.Revoked(token), tc.revoked)
			}
			if b.cookie("session") != nil {
				t.Error("still signed in to the app")
			}
			mustContain(t, b.get(resp.Header.Get("Location")).body, tc.notice, "Sign in to Zendesk")
			if n := strings.Count(e.logs.String(), `msg="signed out"`); n != 1 {
				t.Errorf("%d log lines for the sign-out, want 1", n)
			}
			if st := e.sim.Stats(); st[zendesksim.Revoke] != 1 || st[zendesksim.Me] != 1+map[bool]int{true: 1}[tc.revocation != zendesksim.RefusesRevocation] {
				t.Errorf("stats %v: want one revocation, and one Show Self after a 204", st)
			}
		})
	}
}

// A 403 that names no scope is the person's account refusing (a role, a
// restricted agent): a new authorization cannot help. The page says so,
// with a way back; nothing goes through Zendesk's authorization, and the
// person stays signed in.
func TestRoleRefusalIsAPage(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	b.signIn()
	e.advance(2 * recentSignIn)

	e.sim.Inject(zendesksim.Me, zendesksim.Forbidden, 1)
	resp := b.get("/")
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("after a role 403: status %d to %q, want the 403 page", resp.StatusCode, resp.Header.Get("Location"))
	}
	mustContain(t, resp.body, "Your Zendesk account may not do this", "You are still signed in", `href="/"`)
	assertOneLogLine(t, e, resp)
	if c := setCookieHeader(resp, "session"); c != nil {
		t.Errorf("the session cookie was touched: %v", c)
	}
	mustContain(t, b.get("/").body, "Hi, John Doe!")
	if st := e.sim.Stats(); st[zendesksim.Authorize] != 0 || st[zendesksim.Exchange] != 1 {
		t.Errorf("stats %v: want no new authorization", st)
	}
}

// A client limited to other scopes: Zendesk sends the browser back with
// invalid_scope, and the page quotes it for whoever runs the app.
func TestScopeNotAllowedForTheClient(t *testing.T) {
	e := newEnv(t, envOptions{sim: zendesksim.Options{AllowedScopes: []string{"tickets:read"}}})
	b := e.browser()
	page := b.follow(b.get("/zendesk/auth"))
	if page.StatusCode != http.StatusBadGateway {
		t.Fatalf("status %d, want 502\n%s", page.StatusCode, page.body)
	}
	mustContain(t, page.body, "Sign-in failed", "Zendesk said", "invalid_scope")
	if n := e.sim.Stats()[zendesksim.Exchange]; n != 0 {
		t.Errorf("%d token requests, want none", n)
	}
}

// When a refresh is refused (here: the old cookie of a session another
// tab refreshed long ago), the person goes through Zendesk again, and
// Zendesk sends them straight back: docs/tokens.md's "returns at once, without
// a prompt", shown.
func TestRefusedRefreshReturnsWithoutPrompt(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	b.signIn()
	old := b.session()
	oldCookies := b.client.Jar.Cookies(mustParse(e.server.URL))
	e.advance(31 * time.Minute)
	b.get("/") // refreshes
	e.advance(2 * userapi.RememberRefresh)

	stale := e.browser()
	stale.client.Jar.SetCookies(mustParse(e.server.URL), oldCookies)
	page := stale.follow(stale.get("/"))
	mustContain(t, page.body, "Hi, John Doe!")
	// The test's sign-in answered the consent form directly; the second
	// authorization request showed no consent page.
	if st := e.sim.Stats(); st[zendesksim.Consent] != 0 || st[zendesksim.Authorize] != 1 {
		t.Errorf("stats %v: want one authorization request and no consent page", st)
	}
	if stale.session().RefreshToken == old.RefreshToken {
		t.Error("the stale browser kept the spent tokens")
	}
}

func mustParse(raw string) *url.URL {
	u, err := url.Parse(raw)
	if err != nil {
		panic(err)
	}
	return u
}
