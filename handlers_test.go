package main

import (
	"bufio"
	"crypto/rand"

	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"zendesk-oauth-app/internal/zendesk"
	"zendesk-oauth-app/internal/zendesksim"
)

func TestSignIn(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()

	start := b.get("/")
	mustContain(t, start.body, `href="/zendesk/auth"`, "Sign in to Zendesk")

	page := b.signIn()
	mustContain(t, page.body, "👋 Hi, John Doe!", "Your Zendesk Support user role is <code>admin</code>.", "Signed in to acme.zendesk.com", `action="/zendesk/logout"`)
	if st := e.sim.Stats(); st[zendesksim.Exchange] != 1 || st[zendesksim.Me] != 1 || st[zendesksim.Refresh] != 0 {
		t.Errorf("one sign-in cost %+v at Zendesk, want one token request and one users/me", st)
	}
	if b.flowCookie() != nil {
		t.Error("the flow cookie outlived the sign-in")
	}
	s := b.session()
	if s.Subdomain != "acme" || s.UserID != 1 || s.AccessToken == "" || s.RefreshToken == "" {
		t.Errorf("session = %+v", s)
	}
	if want := e.appClock.Now().Add(zendesk.AccessTokenLifetime); !s.AccessExpiry.Equal(want) {
		t.Errorf("access expiry = %v, want %v", s.AccessExpiry, want)
	}

	// Signed in: / calls Show Self with the stored token.
	again := b.get("/")
	mustContain(t, again.body, "👋 Hi, John Doe!")
	if got := again.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("profile Cache-Control = %q, want no-store", got)
	}
	if got := e.sim.Stats()[zendesksim.Me]; got != 2 {
		t.Errorf("users/me calls = %d, want 2", got)
	}
	// Every line the requests wrote names its request.
	for _, line := range strings.Split(strings.TrimSpace(e.logs.String()), "\n") {
		if !strings.Contains(line, " request_id=") {
			t.Errorf("a log line without its request id: %s", line)
		}
	}
}

func TestAuthorizeRedirect(t *testing.T) {
	e := newEnv(t, envOptions{vars: map[string]string{"ZENDESK_SCOPES": defaultScopes + "  tickets:read"}})
	b := e.browser()
	resp := b.get("/zendesk/auth")
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("status %d, want 302", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := loc.Scheme+"://"+loc.Host+loc.Path, e.sim.URL+"/oauth/authorizations/new"; got != want {
		t.Errorf("redirect to %s, want %s", got, want)
	}
	q := loc.Query()
	for name, want := range map[string]string{
		"response_type":         "code",
		"client_id":             "test-client",
		"redirect_uri":          e.server.URL + "/zendesk/oauth/callback",
		"scope":                 defaultScopes + " tickets:read",
		"code_challenge_method": "S256",
	} {
		if got := q.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	// state: at least 128 random bits (rand.Text's 26 base32 characters).
	if len(q.Get("state")) < 26 || len(q.Get("code_challenge")) != 43 {
		t.Errorf("state %q or code_challenge %q too short", q.Get("state"), q.Get("code_challenge"))
	}
	if q.Has("client_secret") || strings.Contains(resp.Header.Get("Location"), "test-client-secret") {
		t.Error("the client secret is in the authorize URL")
	}

	// Each sign-in gets a fresh state and verifier.
	other, _ := url.Parse(e.browser().get("/zendesk/auth").Header.Get("Location"))
	if other.Query().Get("state") == q.Get("state") || other.Query().Get("code_challenge") == q.Get("code_challenge") {
		t.Error("state or code challenge repeated across sign-ins")
	}

	flowCk := setCookieHeader(resp, flowCookie+q.Get("state"))
	if flowCk == nil {
		t.Fatal("no flow cookie")
	}
	if !flowCk.HttpOnly || flowCk.SameSite != http.SameSiteLaxMode || flowCk.Path != "/" || flowCk.MaxAge != 600 {
		t.Errorf("flow cookie attributes: %+v", flowCk)
	}
	if strings.Contains(flowCk.Value, q.Get("state")) {
		t.Error("the flow cookie shows the state in clear text")
	}
}

func TestPKCEVerifierSent(t *testing.T) {
	// A public client: no secret, so PKCE alone protects the code.
	e := newEnv(t, envOptions{vars: map[string]string{"ZENDESK_CLIENT_SECRET": ""}})
	b := e.browser()
	start := b.get("/zendesk/auth")
	loc, _ := url.Parse(start.Header.Get("Location"))
	challenge := loc.Query().Get("code_challenge")
	consent := b.post(loc.String(), url.Values{"decision": {"allow"}})
	page := b.get(consent.Header.Get("Location"))
	if page.StatusCode != http.StatusOK {
		t.Fatalf("status %d\n%s", page.StatusCode, page.body)
	}
	sent := e.sim.LastTokenRequest()
	if zendesk.S256Challenge(sent.Get("code_verifier")) != challenge {
		t.Errorf("code_verifier %q does not match the challenge %q", sent.Get("code_verifier"), challenge)
	}
	if sent.Has("client_secret") {
		t.Error("a public client sent client_secret")
	}
	for name, want := range map[string]string{"grant_type": "authorization_code", "expires_in": "1800", "refresh_token_expires_in": "2592000", "scope": defaultScopes} {
		if got := sent.Get(name); got != want {
			t.Errorf("token request %s = %q, want %q", name, got, want)
		}
	}
}

func TestCallbackRefusesBadState(t *testing.T) {
	for _, tc := range []struct {
		name  string
		query func(callback url.Values) url.Values
	}{
		{"missing state", func(q url.Values) url.Values { q.Del("state"); return q }},
		{"forged state", func(q url.Values) url.Values { q.Set("state", "forged"); return q }},
		{"state of another sign-in", func(q url.Values) url.Values { q.Set("state", rand.Text()); return q }},
		{"repeated state", func(q url.Values) url.Values { q.Add("state", q.Get("state")); return q }},
		{"missing code", func(q url.Values) url.Values { q.Del("code"); return q }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			b := e.browser()
			callback, _ := url.Parse(b.authorize("/zendesk/auth", "allow"))
			callback.RawQuery = tc.query(callback.Query()).Encode()
			resp := b.get(callback.String())
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("status %d, want 400", resp.StatusCode)
			}
			mustContain(t, resp.body, "Sign-in failed", `href="/"`, "request id")
			if n := e.sim.Stats()[zendesksim.Exchange]; n != 0 {
				t.Errorf("%d token requests, want none", n)
			}
		})
	}
}

func TestCallbackWithoutFlow(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	callback := b.authorize("/zendesk/auth", "allow")

	// Another browser, or the same one under another address: no flow cookie.
	stranger := e.browser().get(callback)
	if stranger.StatusCode != http.StatusBadRequest {
		t.Errorf("status %d, want 400", stranger.StatusCode)
	}
	mustContain(t, stranger.body, "Sign-in expired", "another address")

	// Signed in, a reload of the callback goes home instead of failing.
	b.get(callback)
	reload := b.get(callback)
	if reload.StatusCode != http.StatusSeeOther || reload.Header.Get("Location") != "/" {
		t.Errorf("reload: status %d to %q, want 303 to /", reload.StatusCode, reload.Header.Get("Location"))
	}
	if n := e.sim.Stats()[zendesksim.Exchange]; n != 1 {
		t.Errorf("%d token requests, want 1", n)
	}
}

func TestAccessDenied(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	resp := b.get(b.authorize("/zendesk/auth", "deny"))
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("status %d, want 403", resp.StatusCode)
	}
	mustContain(t, resp.body, "Access denied", `href="/zendesk/auth"`, "Try again")
	if n := e.sim.Stats()[zendesksim.Exchange]; n != 0 {
		t.Errorf("%d token requests, want none", n)
	}
	// The flow stays usable: Try again starts a new one that succeeds.
	mustContain(t, b.signIn().body, "Hi, John Doe!")
}

func TestCallbackErrorDescription(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	loc, _ := url.Parse(b.get("/zendesk/auth").Header.Get("Location"))
	long := strings.Repeat("x", 5000)
	query := "error=invalid_scope&error_description=" + url.QueryEscape(`<script>alert(1)</script>`+long)

	// Zendesk's own answer (this browser's state) is quoted, escaped and shortened.
	resp := b.get("/zendesk/oauth/callback?" + query + "&state=" + loc.Query().Get("state"))
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("status %d, want 502", resp.StatusCode)
	}
	if strings.Contains(resp.body, "<script>") || strings.Contains(resp.body, long) {
		t.Error("error_description shown unescaped or in full")
	}
	mustContain(t, resp.body, "Sign-in failed", "Zendesk said", "invalid_scope: &lt;script&gt;")

	// Anyone can write such a link: without this browser's state, the page
	// keeps to its own words, and the log has no error to raise alarms.
	errorsBefore := strings.Count(e.logs.String(), "level=ERROR")
	forged := e.browser().get("/zendesk/oauth/callback?" + query)
	if n := strings.Count(e.logs.String(), "level=ERROR") - errorsBefore; n != 0 {
		t.Errorf("a forged error link logged %d errors, want an INFO line only", n)
	}
	if forged.StatusCode != http.StatusBadRequest || strings.Contains(forged.body, "alert(1)") || strings.Contains(forged.body, "invalid_scope") {
		t.Errorf("a forged error link put its words on the page (status %d):\n%s", forged.StatusCode, forged.body)
	}
	if n := e.sim.Stats()[zendesksim.Exchange]; n != 0 {
		t.Errorf("%d token requests, want none", n)
	}
}

// A callback is used once. A copy of the callback URL and the flow cookie
// gets nothing: the app that completed the sign-in remembers the flow as
// spent and never calls Zendesk again for it; another replica does not
// know that, but Zendesk accepts each code once.
func TestReplayedCallbackIsRefused(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	callback := b.authorize("/zendesk/auth", "allow")
	flowCk := b.flowCookie()
	b.get(callback)

	thief := e.browser()
	thief.setCookie(flowCk.Name, flowCk.Value)
	resp := thief.get(callback)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status %d, want 400", resp.StatusCode)
	}
	mustContain(t, resp.body, "was already completed")
	if n := e.sim.Stats()[zendesksim.Exchange]; n != 1 {
		t.Errorf("%d token requests, want 1: the replay reached Zendesk", n)
	}

	replica, err := newApp(e.app.cfg, e.app.log)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", callback, nil)
	req.AddCookie(flowCk)
	replica.handler(replica.routes()).ServeHTTP(rec, req)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "code expired or was already used") {
		t.Errorf("another replica: status %d\n%s", rec.Code, rec.Body)
	}
	if thief.cookie("session") != nil || setCookieHeader(&response{Response: rec.Result()}, "session") != nil {
		t.Error("the replay created a session")
	}
}

// Junk callbacks that carry a copy of a real flow cookie reach Zendesk
// once at most, whatever code they carry.
func TestFlowIsUsedOnce(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	loc, _ := url.Parse(b.get("/zendesk/auth").Header.Get("Location"))
	state, flowCk := loc.Query().Get("state"), b.flowCookie()
	for i := range 10 {
		junk := e.browser()
		junk.setCookie(flowCk.Name, flowCk.Value)
		resp := junk.get(fmt.Sprintf("/zendesk/oauth/callback?code=junk%d&state=%s", i, state))
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("callback %d: status %d, want 400", i, resp.StatusCode)
		}
	}
	if n := e.sim.Stats()[zendesksim.Exchange]; n != 1 {
		t.Errorf("10 callbacks with one flow made %d token requests, want 1", n)
	}

	// A callback without a code spends nothing: copies of a flow cookie
	// cannot fill the memory of spent flows for free.
	b = e.browser()
	callback := b.authorize("/zendesk/auth", "allow")
	flowCk = b.flowCookie()
	noCode := e.browser()
	noCode.setCookie(flowCk.Name, flowCk.Value)
	if resp := noCode.get("/zendesk/oauth/callback?state=" + url.Values(mustParse(callback).Query()).Get("state")); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a callback without a code: status %d, want 400", resp.StatusCode)
	}
	mustContain(t, b.get(callback).body, "Hi, John Doe!")
	// The memory expires with the flow.
	e.advance(2 * flowLifetime)
	if !e.app.flows.Use(state) {
		t.Error("a spent state outlived its flow")
	}
}

func TestUserNameIsEscaped(t *testing.T) {
	e := newEnv(t, envOptions{sim: zendesksim.Options{Users: []zendesksim.User{{ID: 7, Name: `<img src=x onerror=alert(1)>`, Role: "agent"}}}})
	page := e.browser().signIn()
	if strings.Contains(page.body, "<img") {
		t.Error("user name rendered as HTML")
	}
	mustContain(t, page.body, "Hi, &lt;img src=x onerror=alert(1)&gt;!", "<code>agent</code>")
}

func TestSessionCookieAttributes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tls    bool
		cookie string
	}{
		{"http on localhost", false, "session"},
		{"https", true, "__Host-session"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOptions{tls: tc.tls})
			b := e.browser()
			callback := b.authorize("/zendesk/auth", "allow")
			resp := b.get(callback)
			c := setCookieHeader(resp, tc.cookie)
			if c == nil {
				t.Fatalf("no %s cookie set; got %v", tc.cookie, resp.Header["Set-Cookie"])
			}
			if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Secure != tc.tls || c.Domain != "" {
				t.Errorf("cookie attributes: %+v", c)
			}
			if want := int(min(zendesk.RefreshTokenLifetime, defaultSessionMaxAge).Seconds()); c.MaxAge != want {
				t.Errorf("MaxAge %d, want %d (the refresh token's lifetime, or SESSION_MAX_AGE if shorter)", c.MaxAge, want)
			}
			if got := resp.Header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", got)
			}
			if hsts := resp.Header.Get("Strict-Transport-Security"); (hsts != "") != tc.tls {
				t.Errorf("Strict-Transport-Security %q with https=%v", hsts, tc.tls)
			}
		})
	}
}

// A cookie about to expire is deleted, never turned into one that lasts
// for the browser's whole session (Max-Age 0 means "none").
func TestCookieAboutToExpire(t *testing.T) {
	e := newEnv(t, envOptions{})
	rec := httptest.NewRecorder()
	if err := e.app.cookies.Set(rec, httptest.NewRequest("GET", "/", nil), sessionCookie, &session{}, e.appClock.Now().Add(500*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if c := rec.Result().Cookies()[0]; c.MaxAge != -1 {
		t.Errorf("MaxAge %d, want -1 (delete)", c.MaxAge)
	}
}

func TestBadSessionCookieMeansSignedOut(t *testing.T) {
	e := newEnv(t, envOptions{})
	signedIn := e.browser()
	signedIn.signIn()
	good := signedIn.cookie("session").Value

	foreign := newEnv(t, envOptions{vars: map[string]string{"SESSION_SECRET": "another-secret-another-secret-0123456789"}}).browser()
	foreign.signIn()

	for name, value := range map[string]string{
		"tampered":       good[:20] + string(rune(good[20]^1)) + good[21:],
		"truncated":      good[:len(good)/2],
		"not base64":     "%%%not-base64%%%",
		"empty":          "",
		"oversized":      strings.Repeat("A", 5000),
		"foreign secret": foreign.cookie("session").Value,
	} {
		t.Run(name, func(t *testing.T) {
			b := e.browser()
			b.setCookie("session", value)
			resp := b.get("/")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d, want 200", resp.StatusCode)
			}
			mustContain(t, resp.body, "Sign in to Zendesk")
			if strings.Contains(resp.body, "Hi,") {
				t.Error("a bad cookie signed someone in")
			}
			if value != "" {
				if c := setCookieHeader(resp, "session"); c == nil || c.MaxAge >= 0 {
					t.Errorf("the bad cookie was not cleared: %v", resp.Header["Set-Cookie"])
				}
			}
		})
	}

	// An expired session (its sealed expiry passed) is signed out too.
	e.appClock.Advance(zendesk.RefreshTokenLifetime + time.Second)
	mustContain(t, signedIn.get("/").body, "Sign in to Zendesk")
}

func TestSignOut(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	b.signIn()
	token := b.session().AccessToken

	resp := b.post("/zendesk/logout", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/?signed_out=revoked" {
		t.Fatalf("status %d to %q, want 303 to /?signed_out=revoked", resp.StatusCode, resp.Header.Get("Location"))
	}
	if !e.sim.Revoked(token) {
		t.Error("the access token was not revoked at Zendesk")
	}
	if b.cookie("session") != nil {
		t.Error("the session cookie survived sign-out")
	}
	home := b.get(resp.Header.Get("Location"))
	mustContain(t, home.body, "Sign in to Zendesk", "You are signed out, and the app&#39;s access to your Zendesk account is revoked.")
	if strings.Contains(home.body, "Hi,") {
		t.Error("still signed in after sign-out")
	}
}

func TestSignOutRefusesCrossSite(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	b.signIn()
	req, _ := http.NewRequest("POST", e.server.URL+"/zendesk/logout", nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp := b.do(req)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("status %d, want 403", resp.StatusCode)
	}
	if n := e.sim.Stats()[zendesksim.Revoke]; n != 0 {
		t.Errorf("a cross-site request revoked the token (%d revocations)", n)
	}
	mustContain(t, b.get("/").body, "Hi, John Doe!")
}

func TestRoutesAndHeaders(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	for _, tc := range []struct {
		method, path string
		status       int
		contains     string
	}{
		{"GET", "/healthz", 200, "ok"},
		{"GET", "/static/style.css", 200, "font"},
		{"GET", "/favicon.ico", 204, ""},
		{"GET", "/nope", 404, "Page not found"},
		{"GET", "/zendesk", 404, "Page not found"},
		{"POST", "/nope", 404, "Page not found"},
		{"POST", "/", 405, "GET, HEAD"},
		{"DELETE", "/zendesk/auth", 405, "GET, HEAD"},
		{"GET", "/zendesk/logout", 405, "POST"},
		{"PUT", "/healthz", 405, "GET, HEAD"},
	} {
		req, _ := http.NewRequest(tc.method, e.server.URL+tc.path, nil)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		resp := b.do(req)
		got := resp.body
		if tc.status == 405 {
			got = resp.Header.Get("Allow")
			mustContain(t, resp.body, "Method not allowed", "request id", `href="/"`)
		}
		if resp.StatusCode != tc.status || !strings.Contains(got, tc.contains) {
			t.Errorf("%s %s: status %d, want %d with %q", tc.method, tc.path, resp.StatusCode, tc.status, tc.contains)
		}
		h := resp.Header
		if !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") || h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" || h.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s %s: security headers missing: %v", tc.method, tc.path, h)
		}
	}
	csp := b.get("/").Header.Get("Content-Security-Policy")
	for _, want := range []string{"frame-ancestors 'none'", "base-uri 'none'", "object-src 'none'", "form-action 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP allows inline code: %q", csp)
	}
}

func TestWrongSubdomainParameterRefused(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	if resp := b.get("/zendesk/auth?subdomain=evil"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("subdomain=evil: status %d, want 400", resp.StatusCode)
	}
	if resp := b.get("/zendesk/auth?subdomain=ACME"); resp.StatusCode != http.StatusFound {
		t.Errorf("subdomain=ACME: status %d, want 302", resp.StatusCode)
	}
}

// A person who opens the app under another loopback name than APP_URL's
// is sent to APP_URL's before any cookie is set: to the browser they are
// different sites, and the sign-in would come back without its cookie.
func TestOneLoopbackName(t *testing.T) {
	e := newEnv(t, envOptions{}) // APP_URL is http://127.0.0.1:PORT
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(e.server.URL, "http://"))
	b := e.browser()
	for _, host := range []string{"localhost:" + port, "[::1]:" + port} {
		req, _ := http.NewRequest("GET", e.server.URL+"/zendesk/auth?x=1", nil)
		req.Host = host
		resp := b.do(req)
		if resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != e.server.URL+"/zendesk/auth?x=1" {
			t.Errorf("Host %s: status %d to %q, want 307 to APP_URL's address", host, resp.StatusCode, resp.Header.Get("Location"))
		}
		if len(resp.Cookies()) != 0 {
			t.Errorf("Host %s: cookies set before the redirect", host)
		}
	}
	// The redirect is APP_URL and the path: a request line no browser
	// sends cannot splice another host into it.
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.server.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET http:@evil.example HTTP/1.1\r\nHost: localhost:%s\r\nConnection: close\r\n\r\n", port)
	raw, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	raw.Body.Close()
	if loc := raw.Header.Get("Location"); raw.StatusCode != http.StatusTemporaryRedirect || loc != e.server.URL+"/" {
		t.Errorf("GET http:@evil.example: 307 to %q, want %q", loc, e.server.URL+"/")
	}

	// Another port is another server's business (a proxy in front).
	req, _ := http.NewRequest("GET", e.server.URL+"/healthz", nil)
	req.Host = "localhost:1"
	if resp := b.do(req); resp.StatusCode != http.StatusOK {
		t.Errorf("Host localhost:1: status %d, want 200", resp.StatusCode)
	}
}

// Deny while signed in (a second tab, an old link): the page says the
// person is still signed in, and they are.
func TestAccessDeniedWhileSignedIn(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	b.signIn()
	resp := b.get(b.authorize("/zendesk/auth", "deny"))
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("status %d, want 403", resp.StatusCode)
	}
	mustContain(t, resp.body, "You are still signed in as before.", `href="/"`, "Back to the app")
	mustContain(t, b.get("/").body, "Hi, John Doe!")
}

// Scopes that do not cover Show Self: Zendesk answers 403 right after the
// authorization, and the page names the scopes to check, with no loop.
func TestScopesWithoutShowSelf(t *testing.T) {
	e := newEnv(t, envOptions{vars: map[string]string{"ZENDESK_SCOPES": "tickets:read"}})
	b := e.browser()
	resp := b.get(b.authorize("/zendesk/auth", "allow"))
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("status %d, want 403\n%s", resp.StatusCode, resp.body)
	}
	mustContain(t, resp.body, "Zendesk refused access", "Zendesk says the app lacks the scope "+showSelfScope, "ZENDESK_SCOPES (now &#34;tickets:read&#34;)")
	if b.cookie("session") != nil {
		t.Error("a session was kept")
	}
	assertOneLogLine(t, e, resp)
}

// TestForgedHostChangesNothing: the app takes its address from APP_URL
// alone, so headers a client or a misconfigured proxy sends cannot change
// the redirect_uri nor the cookies.
func TestForgedHostChangesNothing(t *testing.T) {
	e := newEnv(t, envOptions{tls: true})
	normal := e.browser().get("/zendesk/auth")
	req, err := http.NewRequest("GET", e.server.URL+"/zendesk/auth", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "evil.example"
	req.Header.Set("X-Forwarded-Host", "evil.example")
	req.Header.Set("X-Forwarded-Proto", "http")
	req.Header.Set("X-Forwarded-For", "203.0.113.7")
	req.Header.Set("Forwarded", "for=203.0.113.7;host=evil.example;proto=http")
	forged := e.browser().do(req)

	for _, resp := range []*response{normal, forged} {
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("GET /zendesk/auth: status %d, want 302\n%s", resp.StatusCode, resp.body)
		}
		for name, values := range resp.Header {
			if strings.Contains(strings.Join(values, " "), "evil.example") {
				t.Errorf("header %s carries the forged host: %q", name, values)
			}
		}
		if strings.Contains(resp.body, "evil.example") {
			t.Errorf("body carries the forged host:\n%s", resp.body)
		}
	}

	// The authorize URL: the same but for the per-sign-in random values.
	want, err := url.Parse(normal.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := url.Parse(forged.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if redirectURI := want.Query().Get("redirect_uri"); redirectURI != e.app.cfg.appURL+"/zendesk/oauth/callback" || !strings.HasPrefix(redirectURI, "https://") {
		t.Errorf("redirect_uri %q, want %q", redirectURI, e.app.cfg.appURL+"/zendesk/oauth/callback")
	}
	wantQuery, gotQuery := want.Query(), got.Query()
	for _, random := range []string{"state", "code_challenge"} {
		wantQuery.Del(random)
		gotQuery.Del(random)
	}
	if got.Scheme != want.Scheme || got.Host != want.Host || got.Path != want.Path || gotQuery.Encode() != wantQuery.Encode() {
		t.Errorf("authorize URL with forged headers:\n  %s\nwithout:\n  %s", got, want)
	}

	// The cookies: the same names and attributes.
	attributes := func(resp *response) []string {
		var out []string
		for _, c := range resp.Cookies() {
			sameSite := map[http.SameSite]string{http.SameSiteLaxMode: "Lax", http.SameSiteStrictMode: "Strict", http.SameSiteNoneMode: "None"}[c.SameSite]
			name, _, _ := strings.Cut(c.Name, flowCookie) // the flow cookie's name holds its state
			out = append(out, fmt.Sprintf("%s Path=%s Domain=%q MaxAge=%d Secure=%v HttpOnly=%v SameSite=%s",
				name, c.Path, c.Domain, c.MaxAge, c.Secure, c.HttpOnly, sameSite))
		}
		slices.Sort(out)
		return out
	}
	if a, b := attributes(forged), attributes(normal); !slices.Equal(a, b) || len(b) == 0 {
		t.Errorf("cookies with forged headers:\n  %q\nwithout:\n  %q", a, b)
	}
	if a := attributes(normal); len(a) == 0 || !strings.HasPrefix(a[0], "__Host- Path=/ Domain=\"\"") || !strings.HasSuffix(a[0], "Secure=true HttpOnly=true SameSite=Lax") {
		t.Errorf("flow cookie: %q", a)
	}
	for _, h := range []string{"Strict-Transport-Security", "Content-Security-Policy", "Cache-Control"} {
		if forged.Header.Get(h) != normal.Header.Get(h) || normal.Header.Get(h) == "" {
			t.Errorf("%s: %q with forged headers, %q without", h, forged.Header.Get(h), normal.Header.Get(h))
		}
	}
}

// The page to come back to after a sign-in is a path on this app, never
// another site (RFC 9700 §4.11.1), however the browser would read it.
func TestReturnStaysOnTheApp(t *testing.T) {
	for p, want := range map[string]string{
		"/tickets?sort=new": "/tickets?sort=new", "/": "/",
		"//evil.example": "", "/\\evil.example": "", "/\t/evil.example": "", "/\n/evil.example": "",
		"/\x7f": "", "https://evil.example/": "", "evil.example": "", "": "",
	} {
		if got := localPath(p); got != want {
			t.Errorf("localPath(%q) = %q, want %q", p, got, want)
		}
	}
	e := newEnv(t, envOptions{})
	b := e.browser()
	page := b.get(b.authorize("/zendesk/auth?return="+url.QueryEscape("/\t/evil.example"), "allow"))
	if page.StatusCode != http.StatusOK || page.Header.Get("Location") != "" {
		t.Errorf("after a sign-in with a crafted return: status %d to %q, want the profile", page.StatusCode, page.Header.Get("Location"))
	}
}

// A page whose template does not exist stops the program where the page
// is declared, at start-up, never a request later.
func TestMissingPageFailsAtStart(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("parsePage of a missing template did not panic")
		}
	}()
	parsePage("no-such-page")
}

// A sign-in started in one tab is not cancelled by one started in another,
// nor by a link from another site to /zendesk/auth: each has its own
// cookie, named by its state. A browser holds a few at most.
func TestTwoTabs(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	first := b.authorize("/zendesk/auth", "allow")
	second := b.authorize("/zendesk/auth", "allow")
	link, _ := http.NewRequest("GET", e.server.URL+"/zendesk/auth", nil)
	link.Header.Set("Sec-Fetch-Site", "cross-site")
	b.do(link)
	mustContain(t, b.get(first).body, "Hi, John Doe!")
	mustContain(t, b.get(second).body, "Hi, John Doe!")

	for range 2 * maxPendingFlows {
		b.get("/zendesk/auth")
	}
	var flows int
	for _, c := range b.client.Jar.Cookies(mustParse(e.server.URL)) {
		if strings.HasPrefix(c.Name, flowCookie) {
			flows++
		}
	}
	if flows != maxPendingFlows {
		t.Errorf("the browser holds %d sign-ins in progress, want %d", flows, maxPendingFlows)
	}
	mustContain(t, b.get(b.authorize("/zendesk/auth", "allow")).body, "Hi, John Doe!")
}
