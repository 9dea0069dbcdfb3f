package main

import (
	"crypto/rand"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"zendesk-oauth-app/internal/userapi"
	"zendesk-oauth-app/internal/zendesk"
	"zendesk-oauth-app/internal/zendesksim"
)

// A session ends SESSION_MAX_AGE after its sign-in, however often its
// tokens were refreshed: no cookie lives longer, and the next view goes
// through Zendesk's authorization and back to the page, without a prompt
// while the grant lives.
func TestSessionMaxAge(t *testing.T) {
	e := newEnv(t, envOptions{vars: map[string]string{"SESSION_MAX_AGE": "2h", "ZENDESK_SCOPES": defaultScopes + " tickets:read"},
		sim: zendesksim.Options{API: []zendesksim.API{requestedTicketsAPI}}})
	e.serve(withRoutes(e.app, route{"GET", "/tickets", e.app.requireSignIn(e.app.handleTickets)}))
	b := e.browser()
	page := b.get(b.authorize("/zendesk/auth", "allow"))
	if c := setCookieHeader(page, "session"); c == nil || c.MaxAge != int((2*time.Hour).Seconds()) {
		t.Fatalf("session cookie at sign-in: %v, want Max-Age of 2 hours", c)
	}

	e.advance(31 * time.Minute)
	refreshed := b.get("/tickets")
	if e.sim.Stats()[zendesksim.Refresh] != 1 {
		t.Fatal("the tokens were not refreshed")
	}
	if c := setCookieHeader(refreshed, "session"); c == nil || c.MaxAge != int((2*time.Hour-31*time.Minute).Seconds()) {
		t.Errorf("session cookie after a refresh: %v, want what is left of the 2 hours", c)
	}

	e.advance(90 * time.Minute) // two hours since the sign-in
	resp := b.get("/tickets")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/zendesk/auth?return=%2Ftickets" {
		t.Fatalf("after 2 hours: status %d to %q, want 303 to authorize and come back", resp.StatusCode, resp.Header.Get("Location"))
	}
	mustContain(t, b.follow(resp).body, "Your recent tickets")
	if st := e.sim.Stats(); st[zendesksim.Authorize] != 1 || st[zendesksim.Consent] != 0 {
		t.Errorf("stats %v: want one authorization, without a consent page", st)
	}
}

// Lowering SESSION_MAX_AGE ends the sessions already issued: the age is
// checked when a session is opened, not only when it is sealed.
func TestLoweredSessionMaxAgeEndsOlderSessions(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	b.signIn()
	e.advance(3 * time.Hour)
	mustContain(t, b.get("/").body, "Hi, John Doe!") // a week by default

	cfg := *e.app.cfg
	cfg.sessionMaxAge = 2 * time.Hour // the app restarts with SESSION_MAX_AGE=2h
	a, err := newApp(&cfg, e.app.log)
	if err != nil {
		t.Fatal(err)
	}
	e.serve(a.handler(a.routes()))
	resp := b.get("/")
	mustContain(t, resp.body, "Sign in to Zendesk")
	if c := setCookieHeader(resp, "session"); c == nil || c.MaxAge >= 0 {
		t.Errorf("the old session cookie was not cleared: %v", c)
	}
	if !strings.Contains(e.logs.String(), "older than SESSION_MAX_AGE") {
		t.Error("the refusal is not logged")
	}
}

func TestSessionMaxAgeSetting(t *testing.T) {
	for _, s := range settings {
		if d, err := time.ParseDuration(s.fallback); s.name == "SESSION_MAX_AGE" && (err != nil || d != defaultSessionMaxAge) {
			t.Errorf("-help says SESSION_MAX_AGE defaults to %q, not %v", s.fallback, defaultSessionMaxAge)
		}
	}
	for value, want := range map[string]time.Duration{"": defaultSessionMaxAge, "90s": 90 * time.Second, "12h": 12 * time.Hour} {
		cfg, err := loadConfig(map[string]string{"ZENDESK_CLIENT_ID": "id", "SESSION_MAX_AGE": value}, false)
		if err != nil || cfg.sessionMaxAge != want {
			t.Errorf("SESSION_MAX_AGE=%q: %v (%v), want %v", value, cfg.sessionMaxAge, err, want)
		}
	}
	for _, bad := range []string{"0", "-1h", "a week", "168"} {
		_, err := loadConfig(map[string]string{"ZENDESK_CLIENT_ID": "id", "SESSION_MAX_AGE": bad}, false)
		if err == nil || !strings.Contains(err.Error(), "SESSION_MAX_AGE") {
			t.Errorf("SESSION_MAX_AGE=%q: %v, want a problem naming it", bad, err)
		}
	}
}

// A cookie that opens (whoever holds SESSION_SECRET can seal one) names
// only a Zendesk the app would sign in to: one DNS label, and the
// configured one in the single-instance mode. Anything else is no session,
// and the app calls no host with it.
func TestCookiesNameOnlyValidZendesks(t *testing.T) {
	for _, tc := range []struct {
		mode      string
		subdomain string
	}{
		{"acme", "127.0.0.1:9443/#"},
		{"acme", "evilcorp"},
		{"", "127.0.0.1:9443/#"},
		{"", "evil.example.com"},
		{"", "ACME"},
	} {
		t.Run(tc.mode+"/"+tc.subdomain, func(t *testing.T) {
			e := newEnv(t, envOptions{vars: map[string]string{"ZENDESK_SUBDOMAIN": tc.mode}})
			now := e.appClock.Now()
			b := e.browser()
			b.setCookie("session", sealString(e.app.cookies.Codec, "session",
				&session{Subdomain: tc.subdomain, UserID: 1, SignedInAt: now, Token: zendesk.Token{AccessToken: "a", RefreshToken: "r"}}, now.Add(time.Hour)))
			resp := b.get("/")
			mustContain(t, resp.body, "Sign in to Zendesk")
			if c := setCookieHeader(resp, "session"); c == nil || c.MaxAge >= 0 {
				t.Error("the session cookie was not cleared")
			}

			state := rand.Text()
			b.setCookie(flowCookie+state, sealString(e.app.cookies.Codec, flowCookie+state, &flow{Verifier: zendesk.GenerateVerifier(), Subdomain: tc.subdomain}, now.Add(time.Hour)))
			if resp := b.get("/zendesk/oauth/callback?code=c&state=" + state); resp.StatusCode != http.StatusBadRequest {
				t.Errorf("callback: status %d, want 400", resp.StatusCode)
			}
			if st := e.sim.Stats(); len(st) != 0 {
				t.Errorf("the app called Zendesk: %v", st)
			}
		})
	}
}

// In the many-instances mode a link may not pick the person's Zendesk: a
// request from another site gets the form, filled in, so the person sees
// where they are going. The app's own pages and a typed address go on.
func TestInstanceLinks(t *testing.T) {
	e := globalEnv(t)
	for _, tc := range []struct {
		name            string
		site, origin    string
		toZendeskAtOnce bool
	}{
		{"cross-site", "cross-site", "", false},
		{"same-site", "same-site", "", false},
		{"same-origin", "same-origin", "", true},
		{"typed", "none", "", true},
		{"no Fetch Metadata", "", "", true},
		{"no Fetch Metadata, another origin", "", "https://evil.example", false},
		{"no Fetch Metadata, the app's origin", "", "APP", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", e.server.URL+"/zendesk/auth?subdomain=attacker&return=%2Ftickets", nil)
			if tc.site != "" {
				req.Header.Set("Sec-Fetch-Site", tc.site)
			}
			if tc.origin != "" {
				req.Header.Set("Origin", strings.Replace(tc.origin, "APP", e.server.URL, 1))
			}
			resp := e.browser().do(req)
			if tc.toZendeskAtOnce {
				if loc, _ := url.Parse(resp.Header.Get("Location")); resp.StatusCode != http.StatusFound || loc.Path != "/oauth/authorizations/new" {
					t.Errorf("status %d to %q, want 302 to Zendesk", resp.StatusCode, resp.Header.Get("Location"))
				}
				return
			}
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Location") != "" || len(resp.Cookies()) != 0 {
				t.Errorf("status %d to %q, cookies %v: want the form, and no sign-in started", resp.StatusCode, resp.Header.Get("Location"), resp.Cookies())
			}
			mustContain(t, resp.body, `name="subdomain" value="attacker"`, `<input type="hidden" name="return" value="/tickets">`)
		})
	}
}

// zendeskRequests counts the requests Zendesk received: every endpoint's,
// but the consent pages, which are authorization requests already counted.
func zendeskRequests(st zendesksim.Stats) int {
	n := 0
	for endpoint, count := range st {
		if endpoint != zendesksim.Consent {
			n += count
		}
	}
	return n
}

// A session cookie replayed after its sign-out costs Zendesk nothing: the
// app remembers the tokens it revoked, and a script cannot spend the
// account's rate limit, which every user of that Zendesk shares.
func TestReplayedSignedOutCookieIsCheap(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	b.signIn()
	cookies := b.client.Jar.Cookies(mustParse(e.server.URL))
	if resp := b.post("/zendesk/logout", nil); resp.Header.Get("Location") != "/?signed_out=revoked" {
		t.Fatalf("sign-out: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	e.advance(2 * recentSignIn)
	before := zendeskRequests(e.sim.Stats())
	for range 100 {
		replay := e.browser()
		replay.client.Jar.SetCookies(mustParse(e.server.URL), cookies)
		if resp := replay.get("/"); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/zendesk/auth?again=1" {
			t.Fatalf("a replay: status %d to %q, want 303 to authorize", resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	if n := zendeskRequests(e.sim.Stats()) - before; n > 2 {
		t.Errorf("100 replays cost Zendesk %d requests, want at most 2: %v", n, e.sim.Stats())
	}
}

// A copy of a cookie whose refresh token Zendesk refused (it was rotated
// elsewhere) costs at most one refusal: later copies cost nothing.
func TestRefusedRefreshTokenIsRemembered(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	b.signIn()
	old := b.client.Jar.Cookies(mustParse(e.server.URL))
	e.advance(31 * time.Minute)
	mustContain(t, b.get("/").body, "Hi, John Doe!") // refreshes: the old cookie's pair is dead
	e.advance(2 * userapi.RememberRefresh)
	before := zendeskRequests(e.sim.Stats())
	for range 20 {
		replay := e.browser()
		replay.client.Jar.SetCookies(mustParse(e.server.URL), old)
		if resp := replay.get("/"); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("a replay: status %d, want 303 to authorize", resp.StatusCode)
		}
	}
	if n := zendeskRequests(e.sim.Stats()) - before; n != 1 {
		t.Errorf("20 replays cost Zendesk %d requests, want the one refused refresh: %v", n, e.sim.Stats())
	}
}
