package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"zendesk-oauth-app/internal/zendesk"
	"zendesk-oauth-app/internal/zendesksim"
)

// A session ends SESSION_MAX_AGE after its sign-in, however often its
// tokens were refreshed: no cookie lives longer, and the next view goes
// through Zendesk's authorization and back to the page, without a prompt
// while the grant lives.
func TestSessionMaxAge(t *testing.T) {
	e := newEnv(t, envOptions{vars: map[string]string{"SESSION_MAX_AGE": "2h", "ZENDESK_SCOPES": defaultScopes + " tickets:read"},
		sim: zendesksim.Options{API: []zendesksim.API{ticketsAPI}}})
	e.serve(withRoutes(e.app, route{"GET", "/tickets", e.app.requireSignIn("tickets:read", e.app.handleTickets)}))
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

			b.setCookie("oauth_flow", sealString(e.app.cookies.Codec, "oauth_flow", &flow{State: "s", Verifier: "v", Subdomain: tc.subdomain}, now.Add(time.Hour)))
			if resp := b.get("/zendesk/oauth/callback?code=c&state=s"); resp.StatusCode != http.StatusBadRequest {
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
