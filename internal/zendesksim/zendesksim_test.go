package zendesksim

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	callback = "http://127.0.0.1:8080/callback"
	verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk" // RFC 7636 appendix B
	tokensP  = "/oauth/tokens"
	meP      = "/api/v2/users/me.json"
	revokeP  = "/api/v2/oauth/tokens/current.json"
)

var challenge = func() string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}()

// fakeClock is a settable clock for Options.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is a simulator behind httptest plus a client that does not follow redirects.
type env struct {
	t      *testing.T
	sim    *Simulator
	url    string
	client *http.Client
}

func newEnv(t *testing.T, opts Options) *env {
	t.Helper()
	if opts.RedirectURIs == nil {
		opts.RedirectURIs = []string{callback}
	}
	sim := New(opts)
	ts := httptest.NewServer(sim)
	t.Cleanup(ts.Close)
	client := &http.Client{
		Timeout:       5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &env{t, sim, ts.URL, client}
}

// do sends a request; hdr holds header name/value pairs.
func (e *env) do(method, path string, body io.Reader, hdr ...string) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1]
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, b
}

// authQuery is a valid authorization query; set values override, "" deletes.
func authQuery(set ...string) url.Values {
	q := url.Values{"response_type": {"code"}, "client_id": {"demo-client"}, "redirect_uri": {callback},
		"scope": {"users:read"}, "state": {"st&ate"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	for i := 0; i+1 < len(set); i += 2 {
		if set[i+1] == "" {
			q.Del(set[i])
		} else {
			q.Set(set[i], set[i+1])
		}
	}
	return q
}

// decide posts decision to the authorize URL with query q.
func (e *env) decide(q url.Values, decision string) *http.Response {
	e.t.Helper()
	resp, _ := e.do("POST", "/oauth/authorizations/new?"+q.Encode(), strings.NewReader("decision="+decision),
		"Content-Type", "application/x-www-form-urlencoded")
	return resp
}

// code runs the consent step with "allow" and returns the code.
func (e *env) code(q url.Values) string {
	e.t.Helper()
	resp := e.decide(q, "allow")
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || loc.Query().Get("code") == "" {
		e.t.Fatalf("allow: status %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return loc.Query().Get("code")
}

// token posts body (url.Values as a form, anything else as JSON) to /oauth/tokens.
func (e *env) token(body any) (int, map[string]any) {
	e.t.Helper()
	var r io.Reader
	ct := "application/json"
	if v, ok := body.(url.Values); ok {
		r, ct = strings.NewReader(v.Encode()), "application/x-www-form-urlencoded"
	} else {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	resp, b := e.do("POST", tokensP, r, "Content-Type", ct)
	return resp.StatusCode, jsonMap(e.t, b)
}

func jsonMap(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if len(b) > 0 && json.Unmarshal(b, &m) != nil {
		t.Fatalf("not a JSON object: %.200q", b)
	}
	return m
}

func exchangeParams(code string) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {"demo-client"},
		"redirect_uri": {callback}, "code_verifier": {verifier}, "scope": {"users:read"}}
}

// refreshParams is a refresh request without scope, as Zendesk's own
// clients send it.
func refreshParams(rt string) url.Values {
	return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {"demo-client"}}
}

// login runs the whole flow and returns the token response.
func (e *env) login() map[string]any {
	e.t.Helper()
	return e.loginWith("users:read")
}

// loginWith runs the whole flow asking for scope and returns the token response.
func (e *env) loginWith(scope string) map[string]any {
	e.t.Helper()
	p := exchangeParams(e.code(authQuery("scope", scope)))
	p.Set("scope", scope)
	status, m := e.token(p)
	if status != http.StatusCreated {
		e.t.Fatalf("exchange: %d %v", status, m)
	}
	return m
}

// me calls Show Self with the bearer token (none if "").
func (e *env) me(token string) (int, map[string]any) {
	e.t.Helper()
	var hdr []string
	if token != "" {
		hdr = []string{"Authorization", "Bearer " + token}
	}
	resp, b := e.do("GET", meP, nil, hdr...)
	return resp.StatusCode, jsonMap(e.t, b)
}

func str(v any) string { s, _ := v.(string); return s }

// checkPage checks what every simulated HTML page must have: its banner,
// no scripts or inline style attributes, and a strict CSP that allows
// exactly its <style> element.
func checkPage(t *testing.T, resp *http.Response, body, banner string) {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Error("missing X-Frame-Options: DENY")
	}
	style := regexp.MustCompile(`(?s)<style>(.*)</style>`).FindStringSubmatch(body)
	if style == nil {
		t.Fatal("no <style>")
	}
	sum := sha256.Sum256([]byte(style[1]))
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'", "frame-ancestors 'none'", "base-uri 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %s", csp, want)
		}
	}
	if strings.Contains(body, "<script") || strings.Contains(body, "style=") || !strings.Contains(body, `<div class="banner">`+banner) {
		t.Errorf("page must have the banner %q and no scripts or inline style attributes:\n%s", banner, body)
	}
}

func TestAuthorizePage(t *testing.T) {
	cases := []struct {
		name   string
		secret string
		q      url.Values
		status int
		text   string
	}{
		{"valid", "", authQuery(), 200, "demo-client</strong> wants to access your Zendesk account as <strong>John Doe</strong>."},
		{"confidential without PKCE", "s3cret", authQuery("code_challenge", "", "code_challenge_method", ""), 200, "users:read"},
		{"unknown client", "", authQuery("client_id", "nope"), 400, "No such client"},
		{"client_id typo", "", authQuery("client_id", "", "clientid", "demo-client"), 400, "No such client"},
		{"unregistered redirect_uri", "", authQuery("redirect_uri", "http://evil.example/callback"), 400, "not registered"},
		{"redirect_uri not byte-identical", "", authQuery("redirect_uri", callback+"/"), 400, "not registered"},
		{"response_type token", "", authQuery("response_type", "token"), 400, "response_type"},
		{"missing scope", "", authQuery("scope", ""), 400, "scope is required"},
		{"plain PKCE", "", authQuery("code_challenge_method", "plain"), 400, "S256"},
		{"malformed challenge", "", authQuery("code_challenge", challenge+"="), 400, "base64url"},
		{"public client without PKCE", "", authQuery("code_challenge", "", "code_challenge_method", ""), 400, "PKCE"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, Options{ClientSecret: c.secret})
			resp, b := e.do("GET", "/oauth/authorizations/new?"+c.q.Encode(), nil)
			body := string(b)
			if resp.StatusCode != c.status || !strings.Contains(body, c.text) {
				t.Fatalf("status %d, want %d with %q; body:\n%s", resp.StatusCode, c.status, c.text, body)
			}
			if loc := resp.Header.Get("Location"); loc != "" {
				t.Errorf("must never redirect, Location %q", loc)
			}
			checkPage(t, resp, body, "Simulated Zendesk")
			if c.status != 200 {
				if !strings.Contains(body, "Invalid Authorization Request") {
					t.Error("error page title missing")
				}
				return
			}
			for _, want := range []string{`<form method="post"`, `<button name="decision" value="allow" id="allow">Allow</button>`,
				`<button name="decision" value="deny" id="deny">Deny</button>`, "<fieldset>\n<legend>Sign in as</legend>",
				`<input type="radio" name="user" value="1" id="user-1" checked> <label for="user-1">John Doe (admin)</label>`,
				`<input type="radio" name="user" value="2" id="user-2"> <label for="user-2">Jane Roe (end user)</label>`} {
				if !strings.Contains(body, want) {
					t.Errorf("page lacks %s", want)
				}
			}
			action := regexp.MustCompile(`action="([^"]*)"`).FindStringSubmatch(body)
			if action == nil || html.UnescapeString(action[1]) != "/oauth/authorizations/new?"+c.q.Encode() {
				t.Errorf("form action %q, want the authorize path and query", action)
			}
		})
	}
}

func TestDecision(t *testing.T) {
	const denied = "error=access_denied&error_description=The+end-user+or+authorization+server+denied+the+request"
	cases := []struct {
		name     string
		q        url.Values
		decision string
		status   int
		location string // prefix
	}{
		{"deny with state", authQuery(), "deny", 302, callback + "?" + denied + "&state=st%26ate"},
		{"deny without state", authQuery("state", ""), "deny", 302, callback + "?" + denied},
		{"allow", authQuery(), "allow", 302, callback + "?code="},
		{"allow keeps the redirect_uri's query", authQuery("redirect_uri", callback+"?tenant=a+b"), "allow", 302, callback + "?tenant=a+b&code="},
		{"unknown decision", authQuery(), "maybe", 400, ""},
		{"invalid request is re-validated", authQuery("redirect_uri", "http://evil.example/"), "allow", 400, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, Options{RedirectURIs: []string{callback, callback + "?tenant=a+b"}})
			resp := e.decide(c.q, c.decision)
			loc := resp.Header.Get("Location")
			if resp.StatusCode != c.status || !strings.HasPrefix(loc, c.location) || (c.location == "") != (loc == "") {
				t.Fatalf("got %d %q, want %d %q...", resp.StatusCode, loc, c.status, c.location)
			}
			if c.decision == "allow" && c.status == 302 {
				u, _ := url.Parse(loc)
				if code := u.Query().Get("code"); len(code) < 43 || u.Query().Get("state") != "st&ate" {
					t.Errorf("bad code or state in %q", loc)
				}
			}
		})
	}
}

func TestExchange(t *testing.T) {
	cases := []struct {
		name          string
		body          func(code string) any
		wantExpiresIn any
	}{
		{"form, no lifetimes: no expires_in", func(code string) any { return exchangeParams(code) }, nil},
		{"form with lifetimes", func(code string) any {
			p := exchangeParams(code)
			p.Set("expires_in", "1800")
			p.Set("refresh_token_expires_in", "2592000")
			return p
		}, 1800.0},
		{"JSON with numbers", func(code string) any {
			return map[string]any{"grant_type": "authorization_code", "code": code, "client_id": "demo-client",
				"redirect_uri": callback, "code_verifier": verifier, "expires_in": 1800, "refresh_token_expires_in": 2592000}
		}, 1800.0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			status, m := e.token(c.body(e.code(authQuery())))
			if status != http.StatusCreated {
				t.Fatalf("status %d: %v", status, m)
			}
			if m["token_type"] != "bearer" || m["scope"] != "users:read" || len(str(m["access_token"])) != 1024 ||
				len(str(m["refresh_token"])) != 1024 || m["refresh_token_expires_in"] != 2592000.0 {
				t.Errorf("bad token response %v", m)
			}
			if v, ok := m["expires_in"]; ok != (c.wantExpiresIn != nil) || v != c.wantExpiresIn {
				t.Errorf("expires_in = %v (present %v), want %v", v, ok, c.wantExpiresIn)
			}
			if last := e.sim.LastTokenRequest(); last.Get("code_verifier") != verifier ||
				(c.wantExpiresIn != nil && last.Get("expires_in") != "1800") {
				t.Errorf("LastTokenRequest = %v", last)
			}
			if status, me := e.me(str(m["access_token"])); status != 200 || me["user"].(map[string]any)["id"] != 1.0 {
				t.Errorf("users/me: %d %v", status, me)
			}
		})
	}
}

func TestTokenErrors(t *testing.T) {
	withParam := func(code, k, v string) url.Values {
		p := exchangeParams(code)
		if v == "" {
			p.Del(k)
		} else {
			p.Set(k, v)
		}
		return p
	}
	cases := []struct {
		name   string
		opts   Options
		q      url.Values // authorize query; nil = authQuery()
		run    func(e *env, code string) (int, map[string]any)
		status int
		err    string
	}{
		{"code reused", Options{}, nil, func(e *env, code string) (int, map[string]any) {
			e.token(exchangeParams(code))
			return e.token(exchangeParams(code))
		}, 400, "invalid_grant"},
		{"unknown code", Options{}, nil, func(e *env, code string) (int, map[string]any) {
			return e.token(exchangeParams("nope"))
		}, 400, "invalid_grant"},
		{"wrong verifier", Options{}, nil, func(e *env, code string) (int, map[string]any) {
			return e.token(withParam(code, "code_verifier", strings.Repeat("a", 43)))
		}, 400, "invalid_grant"},
		{"missing verifier", Options{}, nil, func(e *env, code string) (int, map[string]any) {
			return e.token(withParam(code, "code_verifier", ""))
		}, 400, "invalid_grant"},
		{"failed PKCE consumes the code", Options{}, nil, func(e *env, code string) (int, map[string]any) {
			e.token(withParam(code, "code_verifier", strings.Repeat("a", 43)))
			return e.token(exchangeParams(code))
		}, 400, "invalid_grant"},
		{"other redirect_uri", Options{}, nil, func(e *env, code string) (int, map[string]any) {
			return e.token(withParam(code, "redirect_uri", callback+"2"))
		}, 400, "invalid_grant"},
		{"unknown client", Options{}, nil, func(e *env, code string) (int, map[string]any) {
			return e.token(withParam(code, "client_id", "other"))
		}, 401, "invalid_client"},
		{"confidential: missing secret", Options{ClientSecret: "s3cret"}, nil, func(e *env, code string) (int, map[string]any) {
			return e.token(exchangeParams(code))
		}, 401, "invalid_client"},
		{"confidential: wrong secret", Options{ClientSecret: "s3cret"}, nil, func(e *env, code string) (int, map[string]any) {
			return e.token(withParam(code, "client_secret", "s3cres"))
		}, 401, "invalid_client"},
		{"confidential: challenge sent, verifier missing", Options{ClientSecret: "s3cret"}, nil, func(e *env, code string) (int, map[string]any) {
			p := withParam(code, "code_verifier", "")
			p.Set("client_secret", "s3cret")
			return e.token(p)
		}, 400, "invalid_grant"},
		{"confidential: secret without PKCE works", Options{ClientSecret: "s3cret"}, authQuery("code_challenge", "", "code_challenge_method", ""),
			func(e *env, code string) (int, map[string]any) {
				p := withParam(code, "code_verifier", "")
				p.Set("client_secret", "s3cret")
				return e.token(p)
			}, 201, ""},
		{"missing code", Options{}, nil, func(e *env, code string) (int, map[string]any) {
			return e.token(withParam(code, "code", ""))
		}, 400, "invalid_request"},
		{"missing grant_type", Options{}, nil, func(e *env, code string) (int, map[string]any) {
			return e.token(withParam(code, "grant_type", ""))
		}, 400, "invalid_request"},
		{"password grant", Options{}, nil, func(e *env, code string) (int, map[string]any) {
			return e.token(withParam(code, "grant_type", "password"))
		}, 400, "unsupported_grant_type"},
		{"expires_in too small", Options{}, nil, func(e *env, code string) (int, map[string]any) {
			return e.token(withParam(code, "expires_in", "300"))
		}, 400, "invalid_request"},
		{"expires_in too large", Options{}, nil, func(e *env, code string) (int, map[string]any) {
			return e.token(withParam(code, "expires_in", "172800"))
		}, 400, "invalid_request"},
		{"refresh_token_expires_in too small", Options{}, nil, func(e *env, code string) (int, map[string]any) {
			return e.token(withParam(code, "refresh_token_expires_in", "604799"))
		}, 400, "invalid_request"},
		{"refresh_token_expires_in too large", Options{}, nil, func(e *env, code string) (int, map[string]any) {
			return e.token(withParam(code, "refresh_token_expires_in", "7776000"))
		}, 400, "invalid_request"},
		{"malformed JSON", Options{}, nil, func(e *env, code string) (int, map[string]any) {
			resp, b := e.do("POST", tokensP, strings.NewReader(`{"grant_type":`), "Content-Type", "application/json")
			return resp.StatusCode, jsonMap(e.t, b)
		}, 400, "invalid_request"},
		{"JSON array", Options{}, nil, func(e *env, code string) (int, map[string]any) {
			resp, b := e.do("POST", tokensP, strings.NewReader(`[1,2]`), "Content-Type", "application/json")
			return resp.StatusCode, jsonMap(e.t, b)
		}, 400, "invalid_request"},
		{"body over 64 KiB", Options{}, nil, func(e *env, code string) (int, map[string]any) {
			resp, b := e.do("POST", tokensP, strings.NewReader("a="+strings.Repeat("x", 70<<10)),
				"Content-Type", "application/x-www-form-urlencoded")
			return resp.StatusCode, jsonMap(e.t, b)
		}, 400, "invalid_request"},
		{"unsupported content type", Options{}, nil, func(e *env, code string) (int, map[string]any) {
			resp, b := e.do("POST", tokensP, strings.NewReader(exchangeParams(code).Encode()), "Content-Type", "text/plain")
			return resp.StatusCode, jsonMap(e.t, b)
		}, 400, "invalid_request"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, c.opts)
			q := c.q
			if q == nil {
				q = authQuery()
			}
			status, m := c.run(e, e.code(q))
			if status != c.status || str(m["error"]) != c.err {
				t.Fatalf("got %d %v, want %d %q", status, m, c.status, c.err)
			}
			if c.err != "" && str(m["error_description"]) == "" {
				t.Error("error_description missing")
			}
		})
	}
}

// TestRefreshTokenOfOneWeek sends what the reference's own example sends,
// refresh_token_expires_in 604800, though its text says "more than
// 604,800": the simulator accepts it, and the refresh token lives a week.
func TestRefreshTokenOfOneWeek(t *testing.T) {
	for _, c := range []struct {
		after time.Duration
		works bool
	}{{7 * 24 * time.Hour, true}, {7*24*time.Hour + time.Second, false}} {
		clock := newClock()
		e := newEnv(t, Options{Now: clock.Now})
		p := exchangeParams(e.code(authQuery()))
		p.Set("refresh_token_expires_in", "604800")
		status, m := e.token(p)
		if status != http.StatusCreated || m["refresh_token_expires_in"] != 604800.0 {
			t.Fatalf("exchange with refresh_token_expires_in 604800: %d %v, want 201 and 604800", status, m)
		}
		clock.Advance(c.after)
		status, m = e.token(refreshParams(str(m["refresh_token"])))
		if got := status == http.StatusCreated; got != c.works || (!c.works && m["error"] != "invalid_grant") {
			t.Errorf("refresh after %v: %d %v, want it to work: %v", c.after, status, m, c.works)
		}
	}
}

func TestTokenStatus(t *testing.T) {
	for _, c := range []struct {
		ok     bool
		status int
	}{{false, http.StatusCreated}, {true, http.StatusOK}} {
		e := newEnv(t, Options{TokenStatusOK: c.ok})
		status, m := e.token(exchangeParams(e.code(authQuery())))
		if status != c.status || str(m["access_token"]) == "" {
			t.Fatalf("TokenStatusOK %v: exchange %d %v, want %d", c.ok, status, m, c.status)
		}
		if status, m := e.token(refreshParams(str(m["refresh_token"]))); status != c.status || str(m["access_token"]) == "" {
			t.Errorf("TokenStatusOK %v: refresh %d %v, want %d", c.ok, status, m, c.status)
		}
		// Errors keep their status, and faults that answer 2xx follow the option.
		if status, m := e.token(exchangeParams("nope")); status != 400 || m["error"] != "invalid_grant" {
			t.Errorf("TokenStatusOK %v: bad code %d %v, want 400", c.ok, status, m)
		}
		e.sim.Inject(Exchange, NoAccessToken, 1)
		if status, _ := e.token(exchangeParams(e.code(authQuery()))); status != c.status {
			t.Errorf("TokenStatusOK %v: NoAccessToken fault %d, want %d", c.ok, status, c.status)
		}
	}
}

func TestCodeExpiry(t *testing.T) {
	for _, c := range []struct {
		wait   time.Duration
		status int
	}{{119 * time.Second, 201}, {120 * time.Second, 201}, {121 * time.Second, 400}} {
		clock := newClock()
		e := newEnv(t, Options{Now: clock.Now})
		code := e.code(authQuery())
		clock.Advance(c.wait)
		if status, m := e.token(exchangeParams(code)); status != c.status {
			t.Errorf("after %v: %d %v, want %d", c.wait, status, m, c.status)
		}
	}
}

func TestRefreshRotation(t *testing.T) {
	e := newEnv(t, Options{})
	first := e.login()
	status, second := e.token(refreshParams(str(first["refresh_token"])))
	if status != 201 || second["access_token"] == first["access_token"] || second["refresh_token"] == first["refresh_token"] {
		t.Fatalf("refresh: %d %v", status, second)
	}
	if status, m := e.token(refreshParams(str(first["refresh_token"]))); status != 400 || m["error"] != "invalid_grant" {
		t.Errorf("old refresh token: %d %v", status, m)
	}
	if status, m := e.me(str(first["access_token"])); status != 401 || m["error"] != "invalid_token" {
		t.Errorf("old access token: %d %v", status, m)
	}
	if status, _ := e.me(str(second["access_token"])); status != 200 {
		t.Errorf("new access token: %d", status)
	}
	if status, _ := e.token(refreshParams(str(second["refresh_token"]))); status != 201 {
		t.Errorf("new refresh token: %d", status)
	}
	if st := e.sim.Stats(); st[Refresh] != 3 || st[Exchange] != 1 || st[Me] != 2 || st[Authorize] != 0 || len(st) != 3 {
		t.Errorf("stats %v", st)
	}
}

func TestRefreshScope(t *testing.T) {
	e := newEnv(t, Options{})
	const granted = "users:read tickets:read"
	refresh := func(rt, scope string) (int, map[string]any) {
		t.Helper()
		p := refreshParams(rt)
		if scope != "" {
			p.Set("scope", scope)
		}
		return e.token(p)
	}
	first := e.loginWith(granted)

	// No scope: the grant's.
	status, second := refresh(str(first["refresh_token"]), "")
	if status != 201 || second["scope"] != granted {
		t.Fatalf("refresh without scope: %d %v, want scope %q", status, second, granted)
	}

	// Wider, even by one scope: invalid_scope, and nothing rotated.
	for _, wider := range []string{"users:read tickets:read write", "read", "tickets:write"} {
		if status, m := refresh(str(second["refresh_token"]), wider); status != 400 || m["error"] != "invalid_scope" || str(m["error_description"]) == "" {
			t.Errorf("refresh asking for %q: %d %v, want 400 invalid_scope", wider, status, m)
		}
	}
	if status, _ := e.me(str(second["access_token"])); status != 200 {
		t.Errorf("the access token after the refused refreshes: %d, want 200", status)
	}

	// Narrower: the new pair carries the narrower scope, in the reply and
	// in the token, and cannot widen again.
	status, third := refresh(str(second["refresh_token"]), "users:read")
	if status != 201 || third["scope"] != "users:read" {
		t.Fatalf("refresh narrowing to users:read: %d %v", status, third)
	}
	if _, claims, _ := jwtParts(t, str(third["access_token"])); claims["scope"] != "users:read" {
		t.Errorf("narrowed access token's scope claim %v", claims["scope"])
	}
	if status, m := refresh(str(third["refresh_token"]), granted); status != 400 || m["error"] != "invalid_scope" {
		t.Errorf("widening a narrowed session back: %d %v, want 400 invalid_scope", status, m)
	}
	status, fourth := refresh(str(third["refresh_token"]), "")
	if status != 201 || fourth["scope"] != "users:read" {
		t.Errorf("refresh of the narrowed session without scope: %d %v, want scope users:read", status, fourth)
	}

	// Revoking a narrowed token forgets the grant the person allowed.
	if resp, _ := e.authorize(authQuery("scope", granted)); resp.StatusCode != http.StatusFound {
		t.Fatalf("remembered grant: %d, want 302", resp.StatusCode)
	}
	e.do("DELETE", revokeP, nil, "Authorization", "Bearer "+str(fourth["access_token"]))
	if resp, _ := e.authorize(authQuery("scope", granted)); resp.StatusCode != http.StatusOK {
		t.Errorf("after revoking: %d, want the consent page", resp.StatusCode)
	}
}

func TestConcurrentRefreshOnlyOneWins(t *testing.T) {
	e := newEnv(t, Options{})
	rt := str(e.login()["refresh_token"])
	var wg sync.WaitGroup
	statuses := make(chan int, 8)
	for range 8 {
		wg.Go(func() {
			status, _ := e.token(refreshParams(rt))
			statuses <- status
		})
	}
	wg.Wait()
	close(statuses)
	won := 0
	for s := range statuses {
		if s == 201 {
			won++
		}
	}
	if won != 1 {
		t.Errorf("%d refreshes succeeded, want 1", won)
	}
}

func TestTokenExpiry(t *testing.T) {
	clock := newClock()
	e := newEnv(t, Options{Now: clock.Now, AccessTokenTTL: 10 * time.Minute, RefreshTokenTTL: time.Hour})
	m := e.login()
	if _, ok := m["expires_in"]; ok || m["refresh_token_expires_in"] != 3600.0 {
		t.Fatalf("lifetimes %v, want no expires_in (none was asked for) and refresh_token_expires_in 3600", m)
	}
	at := str(m["access_token"])
	if status, _ := e.me(at); status != 200 {
		t.Fatalf("fresh token: %d", status)
	}
	clock.Advance(10*time.Minute + time.Second)
	status, body := e.me(at)
	if status != 401 || body["error"] != "invalid_token" ||
		body["error_description"] != "The access token provided is expired, revoked, malformed or invalid for other reasons." {
		t.Errorf("expired token: %d %v", status, body)
	}
	clock.Advance(time.Hour)
	if status, m := e.token(refreshParams(str(m["refresh_token"]))); status != 400 || m["error"] != "invalid_grant" {
		t.Errorf("expired refresh token: %d %v", status, m)
	}
}

func TestNoRefreshToken(t *testing.T) {
	e := newEnv(t, Options{NoRefreshToken: true})
	m := e.login()
	if _, ok := m["refresh_token"]; ok {
		t.Errorf("refresh_token present: %v", m)
	}
	if _, ok := m["refresh_token_expires_in"]; ok {
		t.Errorf("refresh_token_expires_in present: %v", m)
	}
}

func TestMe(t *testing.T) {
	e := newEnv(t, Options{Users: []User{{ID: 42, Name: "Agent <Smith>", Email: "smith@example.com", Role: "agent"}}})
	token := str(e.login()["access_token"])
	ticketsOnly := str(e.loginWith("tickets:read write")["access_token"])
	broadRead := str(e.loginWith("read")["access_token"])
	cases := []struct {
		name, path, auth string
		status           int
		check            func(m map[string]any) bool
	}{
		{"anonymous", meP, "", 200, func(m map[string]any) bool {
			u := m["user"].(map[string]any)
			return u["id"] == nil && u["name"] == "Anonymous user" && u["role"] == "end-user" && m["authenticity_token"] != nil
		}},
		{"basic auth is anonymous", meP, "Basic dXNlcjpwYXNz", 200, func(m map[string]any) bool {
			return m["user"].(map[string]any)["id"] == nil
		}},
		{"valid", meP, "Bearer " + token, 200, func(m map[string]any) bool {
			u := m["user"].(map[string]any)
			return u["id"] == 42.0 && u["name"] == "Agent <Smith>" && u["role"] == "agent" && u["role_type"] == nil &&
				u["locale"] == "en-US" && u["time_zone"] == "Copenhagen"
		}},
		{"without .json", "/api/v2/users/me", "bearer " + token, 200, func(m map[string]any) bool {
			return m["user"].(map[string]any)["id"] == 42.0
		}},
		{"read scope", meP, "Bearer " + broadRead, 200, func(m map[string]any) bool { return m["user"] != nil }},
		{"unknown token", meP, "Bearer nope", 401, func(m map[string]any) bool { return m["error"] == "invalid_token" }},
		{"empty token", meP, "Bearer ", 401, func(m map[string]any) bool { return m["error"] == "invalid_token" }},
		{"wrong scope", meP, "Bearer " + ticketsOnly, 403, func(m map[string]any) bool {
			return m["error"] == "Forbidden" && m["description"] == "You are missing the following required scopes: users:read"
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, b := e.do("GET", c.path, nil, "Authorization", c.auth)
			m := jsonMap(t, b)
			if resp.StatusCode != c.status || !c.check(m) || resp.Header.Get("Content-Type") != jsonType {
				t.Errorf("got %d %s %v", resp.StatusCode, resp.Header.Get("Content-Type"), m)
			}
		})
	}
}

func TestBadTokenAnswer(t *testing.T) {
	const (
		invalidToken = `{"error":"invalid_token","error_description":"The access token provided is expired, revoked, malformed or invalid for other reasons."}`
		couldNot     = `{"error":"Couldn't authenticate you"}`
	)
	for _, c := range []struct {
		answer BadTokenAnswer
		body   string
	}{{InvalidTokenAnswer, invalidToken}, {CouldNotAuthenticateAnswer, couldNot}} {
		clock := newClock()
		e := newEnv(t, Options{BadTokenAnswer: c.answer, Now: clock.Now})
		expired := str(e.login()["access_token"])
		revoked := str(e.login()["access_token"])
		e.do("DELETE", revokeP, nil, "Authorization", "Bearer "+revoked)
		clock.Advance(31 * time.Minute)
		for name, token := range map[string]string{"unknown": "nope", "empty": "", "expired": expired, "revoked": revoked} {
			for _, path := range []string{meP, revokeP} {
				method := map[string]string{meP: "GET", revokeP: "DELETE"}[path]
				resp, b := e.do(method, path, nil, "Authorization", "Bearer "+token)
				if resp.StatusCode != 401 || string(b) != c.body || resp.Header.Get("Content-Type") != jsonType {
					t.Errorf("BadTokenAnswer %d, %s token, %s %s: %d %s, want 401 %s", c.answer, name, method, path, resp.StatusCode, b, c.body)
				}
			}
		}
		// No credentials at all: Show Self is anonymous, other endpoints
		// answer "Couldn't authenticate you" whatever the option.
		if resp, b := e.do("DELETE", revokeP, nil); resp.StatusCode != 401 || string(b) != couldNot {
			t.Errorf("BadTokenAnswer %d, no credentials: %d %s", c.answer, resp.StatusCode, b)
		}
	}
}

func TestShowSelfNeedsRead(t *testing.T) {
	for _, c := range []struct {
		needsRead bool
		scope     string
		status    int
		body      string // exact, for 403
	}{
		{false, "users:read", 200, ""},
		{false, "read", 200, ""},
		{false, "tickets:read", 403, missingScopeBody("users:read")},
		{true, "users:read", 403, missingScopeBody("read")},
		{true, "users:read tickets:read write", 403, missingScopeBody("read")},
		{true, "read", 200, ""},
	} {
		e := newEnv(t, Options{ShowSelfNeedsRead: c.needsRead})
		token := str(e.loginWith(c.scope)["access_token"])
		resp, b := e.do("GET", meP, nil, "Authorization", "Bearer "+token)
		if resp.StatusCode != c.status || (c.status == 403 && string(b) != c.body) {
			t.Errorf("ShowSelfNeedsRead %v, scope %q: %d %s, want %d %s", c.needsRead, c.scope, resp.StatusCode, b, c.status, c.body)
		}
		if c.needsRead { // anonymous callers still get the anonymous user
			if status, m := e.me(""); status != 200 || m["user"].(map[string]any)["id"] != nil {
				t.Errorf("anonymous: %d %v", status, m)
			}
		}
	}
}

func TestRevoke(t *testing.T) {
	for _, path := range []string{revokeP, "/api/v2/oauth/tokens/current"} {
		e := newEnv(t, Options{})
		m := e.login()
		at := "Bearer " + str(m["access_token"])
		if resp, _ := e.do("DELETE", path, nil, "Authorization", at); resp.StatusCode != 204 {
			t.Fatalf("revoke %s: %d", path, resp.StatusCode)
		}
		if !e.sim.Revoked(str(m["access_token"])) || e.sim.Revoked(str(m["refresh_token"])) {
			t.Error("Revoked() wrong")
		}
		if status, _ := e.me(str(m["access_token"])); status != 401 {
			t.Errorf("revoked token on users/me: %d", status)
		}
		if resp, b := e.do("DELETE", path, nil, "Authorization", at); resp.StatusCode != 401 || jsonMap(t, b)["error"] != "invalid_token" {
			t.Errorf("second revoke: %d %s", resp.StatusCode, b)
		}
		if status, m := e.token(refreshParams(str(m["refresh_token"]))); status != 400 || m["error"] != "invalid_grant" {
			t.Errorf("refresh after revoke: %d %v", status, m)
		}
		if n := e.sim.Stats()[Revoke]; n != 2 {
			t.Errorf("Stats()[Revoke] = %d, want 2", n)
		}
	}
}

func TestRoutes(t *testing.T) {
	e := newEnv(t, Options{})
	for _, c := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/favicon.ico", 204},
		{"GET", "/nope", 404},
		{"GET", tokensP, 404},
		{"PUT", meP, 404},
		{"GET", "/api/v2/tickets.json", 404},
		{"GET", "/simulated-idp/login?return_to=/", 404}, // without IdentityProvider
		{"GET", "/access/jwt", 404},
	} {
		resp, b := e.do(c.method, c.path, nil)
		if resp.StatusCode != c.status || (c.status == 404 && jsonMap(t, b)["error"] != "InvalidEndpoint") {
			t.Errorf("%s %s: %d %s", c.method, c.path, resp.StatusCode, b)
		}
	}
}

var faultNames = map[Fault]string{ServerError: "ServerError", BadGatewayHTML: "BadGatewayHTML", RateLimited: "RateLimited",
	InvalidJSON: "InvalidJSON", Oversized: "Oversized", WrongContentType: "WrongContentType", ErrorIn2xx: "ErrorIn2xx",
	NoAccessToken: "NoAccessToken", NoUser: "NoUser", AnonymousUser: "AnonymousUser", Forbidden: "Forbidden",
	RateLimitedJSON: "RateLimitedJSON", RateLimitedNoRetryAfter: "RateLimitedNoRetryAfter"}

// zendeskForbidden is Zendesk's role-based 403.
const zendeskForbidden = `{"error":"Forbidden","description":"You do not have access to this page. Please contact the account owner of this help desk for further help."}`

// missingScopeBody is Zendesk's 403 for a token that lacks scope.
func missingScopeBody(scope string) string {
	return `{"error":"Forbidden","description":"You are missing the following required scopes: ` + scope + `"}`
}

func TestFaults(t *testing.T) {
	endpoints := []Endpoint{Exchange, Refresh, Me, Revoke}
	type check func(t *testing.T, e Endpoint, resp *http.Response, b []byte)
	okStatus := func(e Endpoint) int {
		if e == Exchange || e == Refresh {
			return 201
		}
		return 200
	}
	is := func(status int, ct, errCode string) check {
		return func(t *testing.T, _ Endpoint, resp *http.Response, b []byte) {
			if resp.StatusCode != status || !strings.HasPrefix(resp.Header.Get("Content-Type"), ct) ||
				(errCode != "" && jsonMap(t, b)["error"] != errCode) {
				t.Errorf("got %d %q %.100s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
			}
		}
	}
	only := func(where Endpoint, c check) check { // c for endpoint where, ServerError elsewhere
		return func(t *testing.T, e Endpoint, resp *http.Response, b []byte) {
			if e == where || (where == Exchange && e == Refresh) {
				c(t, e, resp, b)
			} else {
				is(500, "application/json", "InternalError")(t, e, resp, b)
			}
		}
	}
	cases := []struct {
		fault Fault
		check check
	}{
		{ServerError, is(500, "application/json", "InternalError")},
		{BadGatewayHTML, is(502, "text/html", "")},
		{RateLimited, func(t *testing.T, e Endpoint, resp *http.Response, b []byte) {
			is(429, "text/plain", "")(t, e, resp, b)
			if resp.Header.Get("Retry-After") != "30" || string(b) != "Too Many Requests" {
				t.Errorf("Retry-After %q, body %q", resp.Header.Get("Retry-After"), b)
			}
		}},
		{RateLimitedJSON, func(t *testing.T, e Endpoint, resp *http.Response, b []byte) {
			is(429, jsonType, "APIRateLimitExceeded")(t, e, resp, b)
			if resp.Header.Get("Retry-After") != "30" || string(b) != `{"error":"APIRateLimitExceeded","description":"Number of allowed API requests per minute exceeded"}` {
				t.Errorf("Retry-After %q, body %s", resp.Header.Get("Retry-After"), b)
			}
		}},
		{RateLimitedNoRetryAfter, func(t *testing.T, e Endpoint, resp *http.Response, b []byte) {
			is(429, jsonType, "")(t, e, resp, b)
			if _, ok := resp.Header["Retry-After"]; ok || string(b) != `{"detail":"Rate limited by Zendesk edge protection","status":"429","title":"Automated response"}` {
				t.Errorf("Retry-After %q (want none), body %s", resp.Header.Get("Retry-After"), b)
			}
		}},
		{Forbidden, func(t *testing.T, e Endpoint, resp *http.Response, b []byte) {
			is(403, "application/json", "Forbidden")(t, e, resp, b)
			if string(b) != zendeskForbidden {
				t.Errorf("body %s", b)
			}
		}},
		{InvalidJSON, func(t *testing.T, e Endpoint, resp *http.Response, b []byte) {
			if resp.StatusCode != okStatus(e) || resp.Header.Get("Content-Type") != jsonType || json.Valid(b) {
				t.Errorf("got %d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
			}
		}},
		{Oversized, func(t *testing.T, e Endpoint, resp *http.Response, b []byte) {
			if resp.StatusCode != okStatus(e) || resp.Header.Get("Content-Type") != jsonType || len(b) <= 2<<20 || !json.Valid(b) {
				t.Errorf("got %d %q, %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(b))
			}
		}},
		{WrongContentType, func(t *testing.T, e Endpoint, resp *http.Response, b []byte) {
			is(okStatus(e), "text/html", "")(t, e, resp, b)
			if !json.Valid(b) {
				t.Errorf("body not JSON: %s", b)
			}
		}},
		{ErrorIn2xx, is(200, "application/json", "invalid_grant")},
		{NoAccessToken, only(Exchange, func(t *testing.T, e Endpoint, resp *http.Response, b []byte) {
			m := jsonMap(t, b)
			if _, ok := m["access_token"]; resp.StatusCode != 201 || ok || m["token_type"] != "bearer" {
				t.Errorf("got %d %s", resp.StatusCode, b)
			}
		})},
		{NoUser, only(Me, func(t *testing.T, e Endpoint, resp *http.Response, b []byte) {
			if resp.StatusCode != 200 || string(b) != "{}" {
				t.Errorf("got %d %s", resp.StatusCode, b)
			}
		})},
		{AnonymousUser, only(Me, func(t *testing.T, e Endpoint, resp *http.Response, b []byte) {
			u, _ := jsonMap(t, b)["user"].(map[string]any)
			if resp.StatusCode != 200 || u == nil || u["id"] != nil || u["name"] != "Anonymous user" {
				t.Errorf("got %d %s", resp.StatusCode, b)
			}
		})},
	}
	for _, c := range cases {
		for _, ep := range endpoints {
			t.Run(faultNames[c.fault]+"/"+string(ep), func(t *testing.T) {
				e := newEnv(t, Options{})
				tokens := e.login()
				code := e.code(authQuery())
				request := func() (*http.Response, []byte) {
					auth := "Bearer " + str(tokens["access_token"])
					switch ep {
					case Exchange:
						return e.do("POST", tokensP, strings.NewReader(exchangeParams(code).Encode()), "Content-Type", "application/x-www-form-urlencoded")
					case Refresh:
						return e.do("POST", tokensP, strings.NewReader(refreshParams(str(tokens["refresh_token"])).Encode()), "Content-Type", "application/x-www-form-urlencoded")
					case Me:
						return e.do("GET", meP, nil, "Authorization", auth)
					}
					return e.do("DELETE", revokeP, nil, "Authorization", auth)
				}
				e.sim.Inject(ep, c.fault, 1)
				resp, b := request()
				c.check(t, ep, resp, b)
				// The fault hit once and changed nothing: the same request now succeeds.
				if resp, b := request(); resp.StatusCode != map[Endpoint]int{Exchange: 201, Refresh: 201, Me: 200, Revoke: 204}[ep] {
					t.Errorf("after the fault: %d %s", resp.StatusCode, b)
				}
			})
		}
	}
}

func TestInjectTimes(t *testing.T) {
	e := newEnv(t, Options{})
	want := func(statuses ...int) {
		t.Helper()
		for i, w := range statuses {
			if resp, _ := e.do("GET", meP, nil); resp.StatusCode != w {
				t.Fatalf("request %d: %d, want %d", i, resp.StatusCode, w)
			}
		}
	}
	e.sim.Inject(Me, ServerError, 1)
	want(500, 200, 200)
	e.sim.Inject(Me, RateLimited, 2)
	want(429, 429, 200)
	e.sim.Inject(Me, ServerError, 0)
	want(500, 500, 500)
	e.sim.Inject(Me, NoFault, 0)
	want(200)
	e.sim.Inject(Exchange, ServerError, 0) // other endpoints are unaffected
	want(200)
	if n := e.sim.Stats()[Me]; n != 11 {
		t.Errorf("Stats()[Me] = %d, want 11", n)
	}
}

// quickClient gives up after 100 ms.
var quickClient = &http.Client{Timeout: 100 * time.Millisecond}

func TestHangAndClose(t *testing.T) {
	srv := NewServer(Options{})
	srv.Inject(Me, Hang, 0)
	if _, err := quickClient.Get(srv.URL + meP); !isTimeout(err) {
		t.Fatalf("want a timeout, got %v", err)
	}
	// A request still hanging when Close is called must not block Close.
	errc := make(chan error, 1)
	go func() {
		_, err := http.Get(srv.URL + meP)
		errc <- err
	}()
	for srv.Stats()[Me] < 2 {
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	srv.Close()
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v", d)
	}
	if err := <-errc; err == nil {
		t.Error("hanging request got an answer")
	}
}

func TestSlow(t *testing.T) {
	srv := NewServer(Options{})
	srv.Inject(Me, Slow, 0)
	if _, err := quickClient.Get(srv.URL + meP); !isTimeout(err) {
		t.Fatalf("want a timeout, got %v", err)
	}
	start := time.Now()
	srv.Close()
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v", d)
	}

	defer func(d time.Duration) { SlowDelay = d }(SlowDelay)
	SlowDelay = 50 * time.Millisecond // set before the server starts
	srv = NewServer(Options{})
	defer srv.Close()
	srv.Inject(Me, Slow, 1)
	start = time.Now()
	resp, err := http.Get(srv.URL + meP)
	if err != nil || resp.StatusCode != 200 || time.Since(start) < SlowDelay {
		t.Fatalf("slow answer: %v %v after %v", resp, err, time.Since(start))
	}
	resp.Body.Close()
}

// servedSim is a simulator served at url, with a client that reaches it.
type servedSim struct {
	name   string
	sim    *Simulator
	url    string
	client *http.Client
}

// overHTTPAndTLS serves a simulator configured by opts over plain HTTP
// (NewServer), and another over TLS.
func overHTTPAndTLS(t *testing.T, opts Options) []servedSim {
	plain := NewServer(opts)
	t.Cleanup(plain.Close)
	tlsSrv := httptest.NewTLSServer(New(opts))
	t.Cleanup(tlsSrv.Close)
	return []servedSim{
		{"http", plain.Simulator, plain.URL, &http.Client{Timeout: 2 * time.Second}},
		{"https", tlsSrv.Config.Handler.(*Simulator), tlsSrv.URL, tlsSrv.Client()},
	}
}

func TestReset(t *testing.T) {
	for _, c := range overHTTPAndTLS(t, Options{}) {
		c.sim.Inject(Me, Reset, 1)
		_, err := c.client.Get(c.url + meP)
		if err == nil || isTimeout(err) {
			t.Errorf("%s: want a connection error, got %v", c.name, err)
		}
		if resp, err := c.client.Get(c.url + meP); err != nil || resp.StatusCode != 200 {
			t.Errorf("%s: after the reset: %v %v", c.name, resp, err)
		} else {
			resp.Body.Close()
		}
	}
}

func TestLostReply(t *testing.T) {
	for _, c := range overHTTPAndTLS(t, Options{RedirectURIs: []string{callback}}) {
		t.Run(c.name, func(t *testing.T) {
			noRedirects := *c.client
			noRedirects.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			e := &env{t, c.sim, c.url, &noRedirects}
			// A new connection for the lost request: Go's Transport would
			// replay a request that dies on a reused one if it could.
			fresh := func() *http.Client {
				tr := http.DefaultTransport.(*http.Transport).Clone()
				tr.DisableKeepAlives = true
				if tlsTr, ok := c.client.Transport.(*http.Transport); ok {
					tr.TLSClientConfig = tlsTr.TLSClientConfig
				}
				return &http.Client{Transport: tr, Timeout: 2 * time.Second}
			}
			lostPost := func(form url.Values) {
				t.Helper()
				resp, err := fresh().PostForm(c.url+tokensP, form)
				if err == nil {
					resp.Body.Close()
					t.Fatalf("got an answer, %d, want a lost reply", resp.StatusCode)
				}
				if isTimeout(err) {
					t.Fatalf("want a connection error, got %v", err)
				}
			}

			// Refresh: rotated, so the old pair is dead and the new one lost.
			old := e.login()
			c.sim.Inject(Refresh, LostReply, 1)
			lostPost(refreshParams(str(old["refresh_token"])))
			if status, m := e.token(refreshParams(str(old["refresh_token"]))); status != 400 || m["error"] != "invalid_grant" {
				t.Errorf("old refresh token after the lost reply: %d %v, want 400 invalid_grant", status, m)
			}
			if status, m := e.me(str(old["access_token"])); status != 401 || m["error"] != "invalid_token" {
				t.Errorf("old access token after the lost reply: %d %v, want 401 invalid_token", status, m)
			}

			// Exchange: the code is used up.
			code := e.code(authQuery())
			c.sim.Inject(Exchange, LostReply, 1)
			lostPost(exchangeParams(code))
			if status, m := e.token(exchangeParams(code)); status != 400 || m["error"] != "invalid_grant" {
				t.Errorf("the code after the lost reply: %d %v, want 400 invalid_grant", status, m)
			}

			// An API endpoint: served, then lost; the next call is answered.
			at := str(e.login()["access_token"])
			c.sim.Inject(Me, LostReply, 1)
			req, _ := http.NewRequest("GET", c.url+meP, nil)
			req.Header.Set("Authorization", "Bearer "+at)
			if resp, err := fresh().Do(req); err == nil || isTimeout(err) {
				if err == nil {
					resp.Body.Close()
				}
				t.Errorf("Show Self with LostReply: %v, want a connection error", err)
			}
			if status, _ := e.me(at); status != 200 {
				t.Errorf("Show Self after the lost reply: %d, want 200", status)
			}
			// The authorization request: the answer is lost too.
			c.sim.Inject(Authorize, LostReply, 1)
			if resp, err := fresh().Get(c.url + authorizeP + "?" + authQuery().Encode()); err == nil || isTimeout(err) {
				if err == nil {
					resp.Body.Close()
				}
				t.Errorf("authorization request with LostReply: %v, want a connection error", err)
			}
			if st := c.sim.Stats(); st[Refresh] != 2 || st[Exchange] != 4 || st[Me] != 3 || st[Authorize] != 1 {
				t.Errorf("Stats() = %v", st)
			}
		})
	}
}

func TestConnections(t *testing.T) {
	srv := NewServer(Options{})
	defer srv.Close()
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Errorf("URL = %q", srv.URL)
	}
	get := func(c *http.Client) {
		resp, err := c.Get(srv.URL + meP)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	// Go's Transport puts a connection back in its idle pool from another
	// goroutine after the body is read, so a request sent at once may not
	// find it there and dial a second one. With one connection per host
	// allowed, it waits for the first instead: the count is exact.
	keepAlive := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}}
	for range 3 {
		get(keepAlive)
	}
	if n := srv.Connections(); n != 1 {
		t.Errorf("after 3 keep-alive requests: %d connections, want 1", n)
	}
	noKeepAlive := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	get(noKeepAlive)
	get(noKeepAlive)
	if n := srv.Connections(); n != 3 {
		t.Errorf("after 2 more without keep-alive: %d connections, want 3", n)
	}
}

func TestStatsAuthorizeAndConsent(t *testing.T) {
	e := newEnv(t, Options{})
	e.do("GET", "/oauth/authorizations/new?"+authQuery().Encode(), nil)                 // consent page
	e.do("GET", "/oauth/authorizations/new?"+authQuery("client_id", "x").Encode(), nil) // error page
	e.code(authQuery())                                                                 // POST: neither
	e.do("GET", "/oauth/authorizations/new?"+authQuery().Encode(), nil)                 // remembered grant: straight back
	if st := e.sim.Stats(); st[Authorize] != 3 || st[Consent] != 1 {
		t.Errorf("Stats() = %v, want 3 authorization requests and 1 consent page", st)
	}
	st := e.sim.Stats()
	st[Authorize] = 100
	if e.sim.Stats()[Authorize] != 3 {
		t.Error("Stats() must return a copy")
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded)
}

const authorizeP = "/oauth/authorizations/new"

// authorize sends GET /oauth/authorizations/new with query q.
func (e *env) authorize(q url.Values) (*http.Response, string) {
	e.t.Helper()
	resp, b := e.do("GET", authorizeP+"?"+q.Encode(), nil)
	return resp, string(b)
}

// redirectedTo parses the Location of a 302 to the callback.
func redirectedTo(t *testing.T, resp *http.Response) url.Values {
	t.Helper()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, callback+"?") {
		t.Fatalf("got %d to %q, want 302 to %s?...", resp.StatusCode, loc, callback)
	}
	u, _ := url.Parse(loc)
	return u.Query()
}

// jwtParts decodes an access token's three segments.
func jwtParts(t *testing.T, token string) (header, claims map[string]any, signature []byte) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("access token has %d segments, want 3: %.60q...", len(parts), token)
	}
	decode := func(seg string, into *map[string]any) {
		b, err := base64.RawURLEncoding.DecodeString(seg)
		if err != nil || json.Unmarshal(b, into) != nil {
			t.Fatalf("segment %.40q... is not base64url JSON: %v", seg, err)
		}
	}
	decode(parts[0], &header)
	decode(parts[1], &claims)
	signature, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatalf("signature: %v", err)
	}
	return header, claims, signature
}

var base64url = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

func TestTokenFormat(t *testing.T) {
	clock := newClock()
	e := newEnv(t, Options{Now: clock.Now, Users: []User{{ID: 42, Name: "A", Role: "agent"}}})
	m := e.login()
	at, rt := str(m["access_token"]), str(m["refresh_token"])
	if len(at) != 1024 || len(rt) != 1024 {
		t.Errorf("token lengths %d and %d, want 1024 each", len(at), len(rt))
	}
	header, claims, signature := jwtParts(t, at)
	if header["alg"] != "RS256" || header["typ"] != "at+jwt" || str(header["kid"]) == "" || len(header) != 3 {
		t.Errorf("header %v", header)
	}
	now := float64(clock.Now().Unix())
	if claims["iss"] != e.url || claims["aud"] != e.url || claims["sub"] != "42" || claims["client_id"] != "demo-client" ||
		claims["scope"] != "users:read" || claims["iat"] != now || claims["exp"] != now+1800 || len(str(claims["jti"])) < 22 {
		t.Errorf("claims %v", claims)
	}
	if len(signature) != 256 {
		t.Errorf("signature of %d bytes, want 256 (RS256 with a 2048-bit key)", len(signature))
	}
	if !base64url.MatchString(rt) {
		t.Errorf("refresh token %.60q... is not an opaque base64url string", rt)
	}
	if again := e.login(); again["access_token"] == at || again["refresh_token"] == rt {
		t.Error("two sign-ins got the same token")
	}
}

func TestTokenBytes(t *testing.T) {
	for _, size := range []int{1023, 1024, 1025, 1026, 2000, 4095, 4096, 4097, 8192} {
		e := newEnv(t, Options{TokenBytes: size})
		m := e.login()
		for i := range 2 { // the exchange's tokens, then the refresh's
			at, rt := str(m["access_token"]), str(m["refresh_token"])
			if len(at) != size || len(rt) != size {
				t.Errorf("TokenBytes %d: tokens of %d and %d bytes", size, len(at), len(rt))
			}
			jwtParts(t, at)
			if status, _ := e.me(at); status != 200 {
				t.Errorf("TokenBytes %d: users/me with the token: %d", size, status)
			}
			if i == 0 {
				var status int
				if status, m = e.token(refreshParams(rt)); status != 201 {
					t.Fatalf("TokenBytes %d: refresh: %d %v", size, status, m)
				}
			}
		}
	}

	// Below what the claims need: the shortest JWT, and a refresh token as long.
	e := newEnv(t, Options{TokenBytes: 100})
	m := e.login()
	at, rt := str(m["access_token"]), str(m["refresh_token"])
	if _, claims, _ := jwtParts(t, at); len(at) <= 100 || len(rt) != len(at) || claims["pad"] != "" {
		t.Errorf("TokenBytes 100: tokens of %d and %d bytes, pad %q", len(at), len(rt), claims["pad"])
	}
}

// TestAccessTokenLength checks every length from the shortest JWT up: the
// size is exact whatever its remainder modulo 4.
func TestAccessTokenLength(t *testing.T) {
	now := time.Now()
	shortest := len(newAccessToken("http://127.0.0.1:12345", 1, "demo-client", "users:read", now, now, 0))
	for size := shortest; size <= 4200; size++ {
		if got := len(newAccessToken("http://127.0.0.1:12345", 1, "demo-client", "users:read", now, now, size)); got != size {
			t.Fatalf("asked for %d bytes, got %d", size, got)
		}
	}
	if shortest > 700 {
		t.Errorf("the shortest JWT is %d bytes; Options.TokenBytes says about 700", shortest)
	}
}

func TestDefaultExpiryIsEnforced(t *testing.T) {
	clock := newClock()
	e := newEnv(t, Options{Now: clock.Now})
	m := e.login() // no expires_in asked for
	if v, ok := m["expires_in"]; ok {
		t.Errorf("expires_in = %v, want none: the request sent none", v)
	}
	at := str(m["access_token"])
	clock.Advance(30 * time.Minute)
	if status, _ := e.me(at); status != 200 {
		t.Errorf("after 30 minutes: %d, want 200", status)
	}
	clock.Advance(time.Second)
	if status, body := e.me(at); status != 401 || body["error"] != "invalid_token" {
		t.Errorf("after 30 minutes and 1 second: %d %v, want 401 invalid_token", status, body)
	}
}

func TestAllowedScopes(t *testing.T) {
	e := newEnv(t, Options{AllowedScopes: []string{"users:read", "tickets:read"}})
	if resp, body := e.authorize(authQuery("scope", "tickets:read users:read")); resp.StatusCode != 200 || !strings.Contains(body, "tickets:read") {
		t.Errorf("allowed scopes: %d, want the consent page", resp.StatusCode)
	}
	wantInvalidScope := func(resp *http.Response) {
		t.Helper()
		q := redirectedTo(t, resp)
		if q.Get("error") != "invalid_scope" || q.Get("error_description") == "" || q.Get("state") != "st&ate" || q.Has("code") {
			t.Errorf("redirect query %v, want invalid_scope with a description and the state", q)
		}
	}
	resp, _ := e.authorize(authQuery("scope", "users:read write"))
	wantInvalidScope(resp)
	wantInvalidScope(e.decide(authQuery("scope", "users:read write"), "allow"))

	// The token endpoint refuses a scope parameter asking for more.
	code := e.code(authQuery())
	p := exchangeParams(code)
	p.Set("scope", "users:read write")
	if status, m := e.token(p); status != 400 || m["error"] != "invalid_scope" || str(m["error_description"]) == "" {
		t.Errorf("exchange asking for write: %d %v", status, m)
	}
	rt := str(e.login()["refresh_token"])
	p = refreshParams(rt)
	p.Set("scope", "tickets:write")
	if status, m := e.token(p); status != 400 || m["error"] != "invalid_scope" {
		t.Errorf("refresh asking for tickets:write: %d %v", status, m)
	}
	if status, m := e.token(refreshParams(rt)); status != 201 {
		t.Errorf("refresh within the allowed scopes: %d %v", status, m)
	}

	// An empty list allows nothing.
	none := newEnv(t, Options{AllowedScopes: []string{}})
	resp, _ = none.authorize(authQuery())
	wantInvalidScope(resp)
}

func TestRememberedGrants(t *testing.T) {
	e := newEnv(t, Options{})
	const scopes = "users:read tickets:read"
	if resp, _ := e.authorize(authQuery("scope", scopes)); resp.StatusCode != 200 {
		t.Fatalf("first request: %d, want the consent page", resp.StatusCode)
	}
	e.code(authQuery("scope", scopes)) // Allow

	// The same scopes as a set: straight back with a code and the state.
	resp, _ := e.authorize(authQuery("scope", "tickets:read users:read tickets:read", "state", "second"))
	q := redirectedTo(t, resp)
	if q.Get("code") == "" || q.Get("state") != "second" {
		t.Fatalf("remembered grant: redirect query %v", q)
	}
	if status, m := e.token(exchangeParams(q.Get("code"))); status != 201 {
		t.Errorf("the remembered grant's code: %d %v", status, m)
	}
	// Other scopes, fewer included, prompt again.
	if resp, _ := e.authorize(authQuery("scope", "users:read")); resp.StatusCode != 200 {
		t.Errorf("other scopes: %d, want the consent page", resp.StatusCode)
	}
	if st := e.sim.Stats(); st[Authorize] != 3 || st[Consent] != 2 {
		t.Errorf("Stats() = %v, want 3 authorization requests, 2 consent pages", st)
	}

	// Deny remembers nothing.
	denied := newEnv(t, Options{})
	denied.decide(authQuery(), "deny")
	if resp, _ := denied.authorize(authQuery()); resp.StatusCode != 200 {
		t.Errorf("after Deny: %d, want the consent page", resp.StatusCode)
	}
}

func TestRevocationForgetsTheGrant(t *testing.T) {
	for _, c := range []struct {
		mode       Revocation
		remembered bool
	}{{Revokes, false}, {RefusesRevocation, true}, {PretendsToRevoke, true}, {NeedsWriteToRevoke, true}} {
		e := newEnv(t, Options{Revocation: c.mode})
		at := str(e.login()["access_token"]) // Allow remembers users:read
		if resp, _ := e.authorize(authQuery()); resp.StatusCode != http.StatusFound {
			t.Fatalf("mode %d: before revocation: %d, want 302", c.mode, resp.StatusCode)
		}
		e.do("DELETE", revokeP, nil, "Authorization", "Bearer "+at)
		resp, _ := e.authorize(authQuery())
		if got := resp.StatusCode == http.StatusFound; got != c.remembered {
			t.Errorf("mode %d: after revocation: %d, want remembered=%v", c.mode, resp.StatusCode, c.remembered)
		}
	}
}

func TestRevocationModes(t *testing.T) {
	cases := []struct {
		name    string
		mode    Revocation
		status  int
		body    string
		revoked bool
	}{
		{"Revokes", Revokes, 204, "", true},
		{"RefusesRevocation", RefusesRevocation, 403, zendeskForbidden, false},
		{"PretendsToRevoke", PretendsToRevoke, 204, "", false},
		{"NeedsWriteToRevoke", NeedsWriteToRevoke, 204, "", false}, // tickets:read is a narrow token
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, Options{Revocation: c.mode})
			m := e.loginWith("tickets:read") // any valid token may revoke itself, whatever its scopes
			at, rt := str(m["access_token"]), str(m["refresh_token"])
			resp, b := e.do("DELETE", revokeP, nil, "Authorization", "Bearer "+at)
			if resp.StatusCode != c.status || string(b) != c.body {
				t.Fatalf("revoke: %d %s, want %d %s", resp.StatusCode, b, c.status, c.body)
			}
			if e.sim.Revoked(at) != c.revoked {
				t.Errorf("Revoked() = %v, want %v", !c.revoked, c.revoked)
			}
			// The token still works unless really revoked: Show Self answers
			// 403 for its scope, not 401.
			wantMe, wantRefresh := 403, 201
			if c.revoked {
				wantMe, wantRefresh = 401, 400
			}
			if resp, _ := e.do("GET", meP, nil, "Authorization", "Bearer "+at); resp.StatusCode != wantMe {
				t.Errorf("users/me after revoking: %d, want %d", resp.StatusCode, wantMe)
			}
			if status, m := e.token(refreshParams(rt)); status != wantRefresh {
				t.Errorf("refresh after revoking: %d %v, want %d", status, m, wantRefresh)
			}
		})
	}

	e := newEnv(t, Options{})
	for _, auth := range []string{"", "Bearer nope"} {
		resp, b := e.do("DELETE", revokeP, nil, "Authorization", auth)
		if resp.StatusCode != 401 || !json.Valid(b) {
			t.Errorf("revoke with %q: %d %s, want 401", auth, resp.StatusCode, b)
		}
	}
}

// TestNeedsWriteToRevoke: only a token with the broad write scope is
// revoked; narrower ones, even with every <resource>:write, get the same
// 204 and keep working.
func TestNeedsWriteToRevoke(t *testing.T) {
	for _, c := range []struct {
		scope   string
		revoked bool
	}{
		{"read", false},
		{"users:read users:write tickets:write", false},
		{"write", true},
		{"read write", true},
	} {
		e := newEnv(t, Options{Revocation: NeedsWriteToRevoke})
		m := e.loginWith(c.scope)
		at, rt := str(m["access_token"]), str(m["refresh_token"])
		if resp, b := e.do("DELETE", revokeP, nil, "Authorization", "Bearer "+at); resp.StatusCode != 204 || len(b) != 0 {
			t.Fatalf("scope %q: revoke %d %s, want 204 and no body", c.scope, resp.StatusCode, b)
		}
		if e.sim.Revoked(at) != c.revoked {
			t.Errorf("scope %q: Revoked() = %v, want %v", c.scope, !c.revoked, c.revoked)
		}
		wantRefresh, wantGrant := 201, http.StatusFound
		if c.revoked {
			wantRefresh, wantGrant = 400, http.StatusOK // the grant is forgotten: the consent page again
		}
		if status, m := e.token(refreshParams(rt)); status != wantRefresh {
			t.Errorf("scope %q: refresh after revoking: %d %v, want %d", c.scope, status, m, wantRefresh)
		}
		if resp, _ := e.authorize(authQuery("scope", c.scope)); resp.StatusCode != wantGrant {
			t.Errorf("scope %q: authorization after revoking: %d, want %d", c.scope, resp.StatusCode, wantGrant)
		}
	}
}

func TestAuthorizeFaults(t *testing.T) {
	e := newEnv(t, Options{})
	e.sim.Inject(Authorize, ServerError, 1)
	if resp, _ := e.authorize(authQuery()); resp.StatusCode != 500 {
		t.Errorf("faulted: %d, want 500", resp.StatusCode)
	}
	if resp, _ := e.authorize(authQuery()); resp.StatusCode != 200 {
		t.Errorf("after the fault: %d, want 200", resp.StatusCode)
	}
	if st := e.sim.Stats(); st[Authorize] != 2 || st[Consent] != 1 {
		t.Errorf("Stats() = %v", st)
	}
}

// idpBrowser is a client with a cookie jar that shows every redirect, for
// a simulator on its real loopback address.
func idpBrowser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{
		Jar:           jar,
		Timeout:       5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// fetch sends a request (a form POST when form is not nil) and returns the
// response and its body.
func fetch(t *testing.T, c *http.Client, method, target string, form url.Values) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestIdentityProvider(t *testing.T) {
	clock := newClock()
	srv := NewServer(Options{IdentityProvider: true, RedirectURIs: []string{callback}, Now: clock.Now})
	defer srv.Close()
	port := strings.TrimPrefix(srv.URL, "http://127.0.0.1:")
	requestURI := authorizeP + "?" + authQuery().Encode()
	b := idpBrowser()

	// Signed out: the authorization request goes to the identity provider,
	// on the other loopback name of the same port.
	resp, _ := fetch(t, b, "GET", srv.URL+requestURI, nil)
	idpURL := "http://localhost:" + port + "/simulated-idp/login?" + url.Values{"return_to": {requestURI}}.Encode()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || loc != idpURL {
		t.Fatalf("signed out: %d to %q, want 302 to %q", resp.StatusCode, loc, idpURL)
	}
	resp, page := fetch(t, b, "GET", idpURL, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("identity provider page: %d\n%s", resp.StatusCode, page)
	}
	checkPage(t, resp, page, "Simulated identity provider")
	for _, want := range []string{"<h1>Simulated identity provider</h1>", `<form method="post" action="/simulated-idp/login">`,
		`<input type="hidden" name="return_to" value="` + html.EscapeString(requestURI) + `">`, `<button id="sign-in">Sign in</button>`} {
		if !strings.Contains(page, want) {
			t.Errorf("identity provider page lacks %s:\n%s", want, page)
		}
	}

	// Sign in: back to the simulator's origin with a one-time ticket.
	resp, _ = fetch(t, b, "POST", "http://localhost:"+port+"/simulated-idp/login", url.Values{"return_to": {requestURI}})
	back, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || err != nil || back.Scheme+"://"+back.Host+back.Path != srv.URL+"/access/jwt" ||
		back.Query().Get("return_to") != requestURI || back.Query().Get("jwt") == "" {
		t.Fatalf("sign in: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ = fetch(t, b, "GET", back.String(), nil)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || loc != requestURI {
		t.Fatalf("/access/jwt: %d to %q, want 302 to %q", resp.StatusCode, loc, requestURI)
	}
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "_zendesk_session" {
			session = c
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Path != "/" {
		t.Fatalf("session cookie %+v, want HttpOnly, SameSite=Lax, Path=/", session)
	}

	// Signed in: the consent page, and Allow works.
	if resp, page := fetch(t, b, "GET", srv.URL+requestURI, nil); resp.StatusCode != 200 || !strings.Contains(page, `id="allow"`) {
		t.Fatalf("signed in: %d, want the consent page\n%s", resp.StatusCode, page)
	}
	resp, _ = fetch(t, b, "POST", srv.URL+requestURI, url.Values{"decision": {"allow"}})
	if q := redirectedTo(t, resp); q.Get("code") == "" {
		t.Errorf("Allow: %v", q)
	}
	if st := srv.Stats(); st[Authorize] != 2 || st[Consent] != 1 {
		t.Errorf("Stats() = %v, want 2 authorization requests and 1 consent page", st)
	}

	// A ticket works once, and only for a while.
	if resp, _ := fetch(t, idpBrowser(), "GET", back.String(), nil); resp.StatusCode != 400 {
		t.Errorf("ticket used twice: %d, want 400", resp.StatusCode)
	}
	resp, _ = fetch(t, idpBrowser(), "POST", "http://localhost:"+port+"/simulated-idp/login", url.Values{"return_to": {requestURI}})
	clock.Advance(2*time.Minute + time.Second)
	if resp, _ := fetch(t, idpBrowser(), "GET", resp.Header.Get("Location"), nil); resp.StatusCode != 400 {
		t.Errorf("expired ticket: %d, want 400", resp.StatusCode)
	}

	// Signed out, and a made-up session cookie is no session: the consent
	// form's POST goes to the identity provider too.
	forged := idpBrowser()
	u, _ := url.Parse(srv.URL)
	forged.Jar.SetCookies(u, []*http.Cookie{{Name: "_zendesk_session", Value: session.Value + "x"}})
	resp, _ = fetch(t, forged, "POST", srv.URL+requestURI, url.Values{"decision": {"allow"}})
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != idpURL {
		t.Errorf("Allow while signed out: %d to %q, want 303 to %q", resp.StatusCode, loc, idpURL)
	}
}

func TestIdentityProviderReturnTo(t *testing.T) {
	srv := NewServer(Options{IdentityProvider: true, RedirectURIs: []string{callback}})
	defer srv.Close()
	idp := "http://localhost:" + strings.TrimPrefix(srv.URL, "http://127.0.0.1:") + "/simulated-idp/login"
	// A valid ticket, to show that /access/jwt checks return_to too.
	resp, _ := fetch(t, idpBrowser(), "POST", idp, url.Values{"return_to": {"/"}})
	back, _ := url.Parse(resp.Header.Get("Location"))
	for _, bad := range []string{"", "oauth", "https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)",
		"/ok\r\nSet-Cookie: a=b", "http:/evil.example"} {
		if resp, _ := fetch(t, idpBrowser(), "GET", idp+"?"+url.Values{"return_to": {bad}}.Encode(), nil); resp.StatusCode != 400 {
			t.Errorf("identity provider page, return_to %q: %d, want 400", bad, resp.StatusCode)
		}
		if resp, _ := fetch(t, idpBrowser(), "POST", idp, url.Values{"return_to": {bad}}); resp.StatusCode != 400 {
			t.Errorf("sign in, return_to %q: %d, want 400", bad, resp.StatusCode)
		}
		q := back.Query()
		q.Set("return_to", bad)
		if resp, _ := fetch(t, idpBrowser(), "GET", srv.URL+"/access/jwt?"+q.Encode(), nil); resp.StatusCode != 400 || resp.Header.Get("Set-Cookie") != "" {
			t.Errorf("/access/jwt, return_to %q: %d, want 400 and no cookie", bad, resp.StatusCode)
		}
	}
}

func TestOtherOrigin(t *testing.T) {
	for _, c := range []struct {
		host, want string
		tls        bool
	}{
		{"127.0.0.1:8080", "http://localhost:8080", false},
		{"localhost:8080", "http://127.0.0.1:8080", false},
		{"LocalHost:8080", "http://127.0.0.1:8080", false},
		{"localhost", "http://127.0.0.1", false},
		{"[::1]:8080", "http://localhost:8080", false},
		{"127.0.0.1:8443", "https://localhost:8443", true},
		{"example.com:8080", "", false},
		{"acme.zendesk.com", "", false},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Host = c.host
		if c.tls {
			r.TLS = &tls.ConnectionState{}
		}
		if got, ok := otherOrigin(r); got != c.want || ok != (c.want != "") {
			t.Errorf("otherOrigin(%q) = %q, %v; want %q", c.host, got, ok, c.want)
		}
	}
	// Reached under another name, the simulator cannot send anyone to its
	// identity provider, and says so.
	e := newEnv(t, Options{IdentityProvider: true})
	resp, b := e.do("GET", authorizeP+"?"+authQuery().Encode(), nil, "Host", "zendesk.example")
	if resp.StatusCode != 400 || !strings.Contains(string(b), "127.0.0.1 or localhost") {
		t.Errorf("Host zendesk.example: %d %s", resp.StatusCode, b)
	}
}

func TestAPI(t *testing.T) {
	clock := newClock()
	const show, update = "GET /api/v2/tickets/{id}", "PUT /api/v2/tickets/{id}"
	ticket := func(w http.ResponseWriter, r *http.Request, c Caller) {
		WriteJSON(w, http.StatusOK, map[string]any{"ticket": map[string]any{"id": r.PathValue("id")}, "caller": c.User.ID, "scopes": c.Scopes})
	}
	e := newEnv(t, Options{Now: clock.Now, Users: []User{{ID: 7, Name: "Ann", Role: "agent"}},
		API: []API{{Pattern: show, Resource: "tickets", Handler: ticket}, {Pattern: update, Resource: "tickets", Handler: ticket}}})
	token := func(scope string) string { return "Bearer " + str(e.loginWith(scope)["access_token"]) }
	expired := token("tickets:read")
	revoked := token("tickets:read")
	e.do("DELETE", revokeP, nil, "Authorization", revoked)
	clock.Advance(31 * time.Minute)

	unauthenticated := `{"error":"Couldn't authenticate you"}`
	invalidToken := `{"error":"invalid_token","error_description":"The access token provided is expired, revoked, malformed or invalid for other reasons."}`
	cases := []struct {
		name, method, auth string
		status             int
		body               string // exact; for 200, the scopes the handler saw
	}{
		{"no credentials", "GET", "", 401, unauthenticated},
		{"basic auth", "GET", "Basic dXNlcjpwYXNz", 401, unauthenticated},
		{"unknown token", "GET", "Bearer nope", 401, invalidToken},
		{"expired token", "GET", expired, 401, invalidToken},
		{"revoked token", "GET", revoked, 401, invalidToken},
		{"GET with users:read", "GET", token("users:read"), 403, missingScopeBody("tickets:read")},
		{"GET with tickets:write", "GET", token("tickets:write"), 403, missingScopeBody("tickets:read")},
		{"GET with tickets:read", "GET", token("tickets:read"), 200, `["tickets:read"]`},
		{"GET with read", "GET", token("read"), 200, `["read"]`},
		{"PUT with tickets:read", "PUT", token("tickets:read"), 403, missingScopeBody("tickets:write")},
		{"PUT with read", "PUT", token("read users:write"), 403, missingScopeBody("tickets:write")},
		{"PUT with tickets:write", "PUT", token("tickets:write users:read"), 200, `["tickets:write","users:read"]`},
		{"PUT with write", "PUT", token("write"), 200, `["write"]`},
	}
	calls := map[string]int{}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, b := e.do(c.method, "/api/v2/tickets/35", nil, "Authorization", c.auth)
			calls[c.method]++
			want := c.body
			if c.status == 200 {
				want = `{"caller":7,"scopes":` + c.body + `,"ticket":{"id":"35"}}`
			}
			if resp.StatusCode != c.status || string(b) != want || resp.Header.Get("Content-Type") != jsonType {
				t.Fatalf("got %d %s %s, want %d %s", resp.StatusCode, resp.Header.Get("Content-Type"), b, c.status, want)
			}
		})
	}
	if st := e.sim.Stats(); st[Endpoint(show)] != calls["GET"] || st[Endpoint(update)] != calls["PUT"] {
		t.Errorf("Stats() = %v, want %d and %d calls", st, calls["GET"], calls["PUT"])
	}

	// Faults are injected under the pattern's name.
	e.sim.Inject(Endpoint(show), RateLimited, 1)
	good := token("tickets:read")
	if resp, _ := e.do("GET", "/api/v2/tickets/35", nil, "Authorization", good); resp.StatusCode != 429 {
		t.Errorf("faulted: %d, want 429", resp.StatusCode)
	}
	if resp, _ := e.do("GET", "/api/v2/tickets/35", nil, "Authorization", good); resp.StatusCode != 200 {
		t.Errorf("after the fault: %d, want 200", resp.StatusCode)
	}
}

func TestAPIPanics(t *testing.T) {
	h := func(http.ResponseWriter, *http.Request, Caller) {}
	for _, c := range []struct {
		name string
		api  []API
	}{
		{"no method", []API{{Pattern: "/api/v2/groups.json", Resource: "groups", Handler: h}}},
		{"not a method", []API{{Pattern: "get /api/v2/groups.json", Resource: "groups", Handler: h}}},
		{"no resource", []API{{Pattern: "GET /api/v2/groups.json", Resource: "", Handler: h}}},
		{"no handler", []API{{Pattern: "GET /api/v2/groups.json", Resource: "groups", Handler: nil}}},
		{"listed twice", []API{{Pattern: "GET /api/v2/tickets.json", Resource: "tickets", Handler: h}, {Pattern: "GET /api/v2/tickets.json", Resource: "tickets", Handler: h}}},
		{"built in", []API{{Pattern: "GET /api/v2/users/me.json", Resource: "users", Handler: h}}},
		{"a host: never matches the simulator's", []API{{Pattern: "GET localhost/api/v2/x.json", Resource: "things", Handler: h}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("New with API %v did not panic", c.api)
				}
			}()
			New(Options{API: c.api})
		})
	}
}

// TestRecentTickets is the app team's first page, "my 10 most recent
// tickets", as a test adds it: one handler, listed in Options.API.
// https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#list-tickets
func TestRecentTickets(t *testing.T) {
	var tickets []map[string]any // 12 tickets, updated one hour apart
	for i := range 12 {
		tickets = append(tickets, map[string]any{"id": 100 + i, "subject": fmt.Sprintf("Ticket %d", i),
			"updated_at": time.Date(2026, 5, 1, i, 0, 0, 0, time.UTC).Format(time.RFC3339)})
	}

	requested := func(w http.ResponseWriter, r *http.Request, c Caller) {
		q := r.URL.Query()
		if r.PathValue("id") != strconv.FormatInt(c.User.ID, 10) || q.Get("sort_by") != "updated_at" || q.Get("sort_order") != "desc" {
			WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "this simulated page expects the app's query"})
			return
		}
		perPage, _ := strconv.Atoi(q.Get("per_page"))
		recent := slices.Clone(tickets)
		slices.Reverse(recent) // newest first
		WriteJSON(w, http.StatusOK, map[string]any{"tickets": recent[:min(perPage, len(recent))], "count": len(recent)})
	}
	e := newEnv(t, Options{Users: []User{{ID: 42, Name: "Ann", Role: "agent"}},
		API: []API{{Pattern: "GET /api/v2/users/{id}/tickets/requested.json", Resource: "tickets", Handler: requested}}})

	const page = "/api/v2/users/42/tickets/requested.json?sort_by=updated_at&sort_order=desc&per_page=10"
	token := str(e.loginWith("users:read tickets:read")["access_token"])
	resp, b := e.do("GET", page, nil, "Authorization", "Bearer "+token)
	var got struct {
		Tickets []struct {
			ID        int    `json:"id"`
			UpdatedAt string `json:"updated_at"`
		} `json:"tickets"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(b, &got) != nil || len(got.Tickets) != 10 || got.Tickets[0].ID != 111 || got.Tickets[9].ID != 102 {
		t.Errorf("recent tickets: %d %s", resp.StatusCode, b)
	}
	// The sign-in's users:read alone does not cover tickets.
	usersOnly := str(e.loginWith("users:read")["access_token"])
	if resp, b := e.do("GET", page, nil, "Authorization", "Bearer "+usersOnly); resp.StatusCode != 403 || string(b) != missingScopeBody("tickets:read") {
		t.Errorf("with users:read only: %d %s, want 403 naming tickets:read", resp.StatusCode, b)
	}
	if n := e.sim.Stats()["GET /api/v2/users/{id}/tickets/requested.json"]; n != 2 {
		t.Errorf("%d calls counted, want 2", n)
	}
}

// ticketDesk is Create Ticket as a team lists it, for the idempotency
// tests: the store keeps the tickets, the desk only counts how often the
// endpoint ran. If hold is set, its first run waits until hold is closed,
// after closing entered.
// https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#create-ticket
type ticketDesk struct {
	runs          atomic.Int64
	entered, hold chan struct{}
}

func (d *ticketDesk) create(w http.ResponseWriter, r *http.Request, c Caller) {
	if d.runs.Add(1) == 1 && d.hold != nil {
		close(d.entered)
		<-d.hold
	}
	var in struct {
		Ticket struct {
			Subject string `json:"subject"`
			Comment struct {
				Body string `json:"body"`
			} `json:"comment"`
		} `json:"ticket"`
	}
	if err := ReadJSON(w, r, &in); err != nil {
		WriteError(w, err)
		return
	}
	t, err := c.CreateTicket(Ticket{Subject: in.Ticket.Subject, Comments: []Comment{{Body: in.Ticket.Comment.Body, Public: true}}})
	if err != nil {
		WriteError(w, err)
		return
	}
	WriteJSON(w, http.StatusCreated, map[string]any{"ticket": t})
}

// ticketsEnv is a simulator without tickets and with d as Create Ticket,
// which answers with and without .json, and a token that may write
// tickets.
func ticketsEnv(t *testing.T, d *ticketDesk, opts Options) (*env, string) {
	opts.API = append(opts.API, API{Pattern: "POST /api/v2/tickets.json", Resource: "tickets", Handler: d.create})
	opts.Tickets = []Ticket{}
	e := newEnv(t, opts)
	return e, "Bearer " + str(e.loginWith("tickets:write")["access_token"])
}

// printerTicket is Create Ticket's answer for the printer ticket with id,
// created at at by John Doe.
func printerTicket(id int64, at time.Time) string {
	b, _ := json.Marshal(map[string]any{"ticket": Ticket{ID: id, Subject: "Printer offline", Status: "new", RequesterID: 1,
		Comments: []Comment{{AuthorID: 1, Body: "It will not print.", Public: true}}, CreatedAt: at, UpdatedAt: at}})
	return string(b)
}

// postTicket sends body to path with the Idempotency-Key header keys (none
// if nil) and returns the status, the lookup header and the body.
func (e *env) postTicket(path, auth, body string, keys ...string) (int, string, string) {
	e.t.Helper()
	req, err := http.NewRequest("POST", e.url+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", auth)
	req.Header.Set("Content-Type", "application/json")
	for _, k := range keys {
		req.Header.Add("Idempotency-Key", k)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("x-idempotency-lookup"), string(b)
}

const (
	ticketsJSON   = "/api/v2/tickets.json"
	printer       = `{"ticket":{"subject":"Printer offline","comment":{"body":"It will not print."}}}`
	keyMismatch   = `{"error":"IdempotentRequestError","description":"Request parameters don't match the given idempotency key"}`
	keyInProgress = `{"error":"IdempotentRequestInProgress","description":"A request with this idempotency key is still in progress."}`
	noDescription = `{"error":"RecordInvalid","description":"Record validation errors","details":{"base":[{"description":"Description: cannot be blank","error":"BlankValue"}]}}`
)

func TestIdempotencyKey(t *testing.T) {
	clock := newClock()
	d := &ticketDesk{}
	var updates atomic.Int64
	e, auth := ticketsEnv(t, d, Options{Now: clock.Now, AccessTokenTTL: 3 * time.Hour, API: []API{{Pattern: "PUT /api/v2/tickets/{id}", Resource: "tickets", Handler: func(w http.ResponseWriter, _ *http.Request, _ Caller) {
		updates.Add(1)
		WriteJSON(w, http.StatusOK, map[string]any{})
	}}}})
	want := func(name string, status int, lookup, body string, wantStatus int, wantLookup, wantBody string, runs int64) {
		t.Helper()
		if status != wantStatus || lookup != wantLookup || (wantBody != "" && body != wantBody) || d.runs.Load() != runs {
			t.Errorf("%s: %d %q %s after %d runs; want %d %q %s after %d runs", name, status, lookup, body, d.runs.Load(), wantStatus, wantLookup, wantBody, runs)
		}
	}

	// The first request runs and says miss; repeats, under either path,
	// get its answer again and say hit.
	status, lookup, first := e.postTicket(ticketsJSON, auth, printer, "k1")
	want("first", status, lookup, first, 201, "miss", printerTicket(1, clock.Now()), 1)
	status, lookup, body := e.postTicket(ticketsJSON, auth, printer, "k1")
	want("repeat", status, lookup, body, 201, "hit", first, 1)
	status, lookup, body = e.postTicket("/api/v2/tickets", auth, printer, "k1")
	want("repeat without .json", status, lookup, body, 201, "hit", first, 1)

	// The same key with other parameters, even the same ticket spaced
	// differently or with a query, is refused and runs nothing.
	for _, other := range []struct{ path, body string }{
		{ticketsJSON, `{"ticket":{"subject":"Scanner offline","comment":{"body":"It will not scan."}}}`},
		{ticketsJSON, `{"ticket": {"subject":"Printer offline","comment":{"body":"It will not print."}}}`},
		{ticketsJSON + "?async=true", printer},
	} {
		status, lookup, body = e.postTicket(other.path, auth, other.body, "k1")
		want("other parameters", status, lookup, body, 400, "", keyMismatch, 1)
	}

	// Without a key every request runs.
	status, lookup, body = e.postTicket(ticketsJSON, auth, printer)
	want("no key", status, lookup, body, 201, "", printerTicket(2, clock.Now()), 2)
	status, lookup, body = e.postTicket(ticketsJSON, auth, printer)
	want("no key again", status, lookup, body, 201, "", printerTicket(3, clock.Now()), 3)

	// A failure is kept and replayed too.
	status, lookup, invalid := e.postTicket(ticketsJSON, auth, `{"ticket":{}}`, "k2")
	want("invalid ticket", status, lookup, invalid, 422, "miss", noDescription, 4)
	status, lookup, body = e.postTicket(ticketsJSON, auth, `{"ticket":{}}`, "k2")
	want("invalid ticket again", status, lookup, body, 422, "hit", invalid, 4)

	// Keys: up to 255 characters, one value, not empty.
	status, lookup, body = e.postTicket(ticketsJSON, auth, printer, strings.Repeat("k", 255))
	want("255 characters", status, lookup, body, 201, "miss", "", 5)
	for name, keys := range map[string][]string{"256 characters": {strings.Repeat("k", 256)}, "empty": {""}, "two values": {"k3", "k3"}} {
		status, lookup, body = e.postTicket(ticketsJSON, auth, printer, keys...)
		if m := jsonMap(t, []byte(body)); status != 400 || lookup != "" || m["error"] != "InvalidIdempotencyKey" || d.runs.Load() != 5 {
			t.Errorf("key %s: %d %q %s after %d runs", name, status, lookup, body, d.runs.Load())
		}
	}

	// A request refused before it reaches the endpoint keeps nothing.
	readOnly := "Bearer " + str(e.loginWith("tickets:read")["access_token"])
	status, _, body = e.postTicket(ticketsJSON, readOnly, printer, "k4")
	want("missing scope", status, "", body, 403, "", missingScopeBody("tickets:write"), 5)
	e.sim.Inject(Endpoint("POST "+ticketsJSON), ServerError, 1)
	status, lookup, body = e.postTicket(ticketsJSON, auth, printer, "k4")
	want("fault", status, lookup, body, 500, "", "", 5)
	status, lookup, body = e.postTicket(ticketsJSON, auth, printer, "k4")
	want("after the refusals", status, lookup, body, 201, "miss", "", 6)

	// Keys live two hours from the first request.
	clock.Advance(2 * time.Hour)
	status, lookup, body = e.postTicket(ticketsJSON, auth, printer, "k1")
	want("after two hours", status, lookup, body, 201, "hit", first, 6)
	clock.Advance(time.Second)
	status, lookup, body = e.postTicket(ticketsJSON, auth, printer, "k1")
	want("after two hours and a second", status, lookup, body, 201, "miss", printerTicket(6, clock.Now()), 7) // the refused run took no id

	// Other endpoints ignore the header.
	for range 2 {
		req, _ := http.NewRequest("PUT", e.url+"/api/v2/tickets/1", strings.NewReader(printer))
		req.Header.Set("Authorization", auth)
		req.Header.Set("Idempotency-Key", "k5")
		resp, err := e.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("x-idempotency-lookup") != "" {
			t.Errorf("update with a key: %d, lookup %q", resp.StatusCode, resp.Header.Get("x-idempotency-lookup"))
		}
	}
	if n := updates.Load(); n != 2 {
		t.Errorf("update with the same key ran %d times, want 2", n)
	}
	if n := len(e.sim.Tickets()); n != 6 {
		t.Errorf("%d tickets in the store, want 6: 7 runs, one refused", n)
	}
	if n := e.sim.Stats()[Endpoint("POST "+ticketsJSON)]; n != 19 {
		t.Errorf("Stats() counts %d ticket creations, want 19: repeats are requests too, with or without .json", n)
	}
}

func TestIdempotencyKeyConcurrent(t *testing.T) {
	d := &ticketDesk{entered: make(chan struct{}), hold: make(chan struct{})}
	e, auth := ticketsEnv(t, d, Options{})

	// While the first request runs, a repeat is refused and runs nothing.
	type answer struct {
		status       int
		lookup, body string
	}
	firstDone := make(chan answer, 1)
	go func() {
		status, lookup, body := e.postTicket(ticketsJSON, auth, printer, "k1")
		firstDone <- answer{status, lookup, body}
	}()
	<-d.entered
	if status, lookup, body := e.postTicket(ticketsJSON, auth, printer, "k1"); status != 409 || lookup != "" || body != keyInProgress {
		t.Errorf("repeat while the first runs: %d %q %s, want 409 %s", status, lookup, body, keyInProgress)
	}
	if status, _, body := e.postTicket(ticketsJSON, auth, `{"ticket":{"subject":"Other"}}`, "k1"); status != 400 || body != keyMismatch {
		t.Errorf("other parameters while the first runs: %d %s", status, body)
	}
	close(d.hold)
	first := <-firstDone
	if first.status != 201 || first.lookup != "miss" {
		t.Fatalf("first: %+v", first)
	}
	if status, lookup, body := e.postTicket(ticketsJSON, auth, printer, "k1"); status != 201 || lookup != "hit" || body != first.body {
		t.Errorf("repeat after the first: %d %q %s", status, lookup, body)
	}

	// A burst of repeats: the endpoint runs once, one answer says miss, and
	// every other either replays it or is refused as in progress.
	var wg sync.WaitGroup
	answers := make(chan answer, 16)
	for range 16 {
		wg.Go(func() {
			status, lookup, body := e.postTicket(ticketsJSON, auth, printer, "burst")
			answers <- answer{status, lookup, body}
		})
	}
	wg.Wait()
	close(answers)
	misses := 0
	var created string
	for a := range answers {
		switch {
		case a.status == 201 && a.lookup == "miss":
			misses++
			created = a.body
		case a.status == 201 && a.lookup == "hit", a.status == 409 && a.body == keyInProgress:
		default:
			t.Errorf("burst answer %+v", a)
		}
	}
	if misses != 1 || d.runs.Load() != 2 || len(e.sim.Tickets()) != 2 {
		t.Errorf("burst: %d misses and %d runs in all, want 1 miss and 2 runs", misses, d.runs.Load())
	}
	if status, lookup, body := e.postTicket(ticketsJSON, auth, printer, "burst"); status != 201 || lookup != "hit" || body != created {
		t.Errorf("after the burst: %d %q %s, want a hit on %s", status, lookup, body, created)
	}
}

// TestIdempotencyKeyPerUser: a key is one user's; another user's request
// with the same key is a request of its own.
func TestIdempotencyKeyPerUser(t *testing.T) {
	d := &ticketDesk{}
	clock := newClock()
	e, john := ticketsEnv(t, d, Options{Now: clock.Now, Users: []User{{ID: 1, Name: "John", Role: "admin"}, {ID: 3, Name: "Alan", Role: "agent"}}})
	access, _ := e.sim.CreateToken(3, "tickets:write")
	alan := "Bearer " + access
	for i, c := range []struct {
		auth, lookup string
		runs         int64
	}{{john, "miss", 1}, {alan, "miss", 2}, {john, "hit", 2}, {alan, "hit", 2}} {
		status, lookup, body := e.postTicket(ticketsJSON, c.auth, printer, "k1")
		if status != 201 || lookup != c.lookup || d.runs.Load() != c.runs {
			t.Errorf("request %d: %d %q %s after %d runs, want %q after %d", i, status, lookup, body, d.runs.Load(), c.lookup, c.runs)
		}
	}
	if ts := e.sim.Tickets(); len(ts) != 2 || ts[0].RequesterID != 1 || ts[1].RequesterID != 3 {
		t.Errorf("tickets %+v, want one of John's and one of Alan's", ts)
	}
}

// TestIdempotencyKeyLostReply is what the key is for: the ticket was
// created but the answer was lost, and the retry gets it.
func TestIdempotencyKeyLostReply(t *testing.T) {
	d := &ticketDesk{}
	clock := newClock()
	e, auth := ticketsEnv(t, d, Options{Now: clock.Now})
	e.sim.Inject(Endpoint("POST "+ticketsJSON), LostReply, 1)
	req, _ := http.NewRequest("POST", e.url+ticketsJSON, strings.NewReader(printer))
	req.Header.Set("Authorization", auth)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", "k1")
	// A new connection: on a reused one Go's Transport would itself replay
	// the request, since it has an Idempotency-Key.
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	if resp, err := fresh.Do(req); err == nil || isTimeout(err) {
		if err == nil {
			resp.Body.Close()
		}
		t.Fatalf("lost reply: %v, want a connection error", err)
	}
	status, lookup, body := e.postTicket(ticketsJSON, auth, printer, "k1")
	if status != 201 || lookup != "hit" || body != printerTicket(1, clock.Now()) || d.runs.Load() != 1 || len(e.sim.Tickets()) != 1 {
		t.Errorf("retry: %d %q %s after %d runs, want the lost answer", status, lookup, body, d.runs.Load())
	}
}
