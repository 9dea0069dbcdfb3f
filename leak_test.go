package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"zendesk-oauth-app/internal/zendesksim"
)

// recorder keeps every response the app sends to a browser: status line,
// headers (Location, Set-Cookie) and body.
type recorder struct {
	next    http.RoundTripper
	appHost string
	mu      sync.Mutex
	seen    bytes.Buffer
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	if err != nil || req.URL.Host != r.appHost {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintf(&r.seen, "%s %s -> %d\n", req.Method, req.URL.Path, resp.StatusCode) // the request's query is the browser's, not the app's
	resp.Header.Write(&r.seen)
	r.seen.Write(body)
	return resp, err
}

// TestNothingLeaks runs sign-in, refresh, failures and sign-out with
// recognisable secrets, and checks that none of them appears in the logs
// or in anything the app sent: the cookies carry them only sealed.
func TestNothingLeaks(t *testing.T) {
	const clientSecret = "MARKER-client-secret-4f9a1c"
	const sessionSecret = "MARKER-session-secret-0123456789abcdef"
	e := newEnv(t, envOptions{
		vars: map[string]string{"ZENDESK_CLIENT_SECRET": clientSecret, "SESSION_SECRET": sessionSecret},
		sim:  zendesksim.Options{AccessTokenTTL: 10 * time.Minute},
	})
	b := e.browser()
	rec := &recorder{next: b.client.Transport, appHost: strings.TrimPrefix(e.server.URL, "http://")}
	b.client.Transport = rec

	secrets := map[string]string{"client secret": clientSecret, "session secret": sessionSecret}
	remember := func(what, value string) {
		if value != "" {
			secrets[fmt.Sprintf("%s %d", what, len(secrets))] = value
		}
	}
	rememberSession := func() {
		s := b.session()
		remember("access token", s.AccessToken)
		remember("refresh token", s.RefreshToken)
	}
	signIn := func() {
		callback := b.authorize("/zendesk/auth", "allow")
		u, _ := url.Parse(callback)
		remember("code", u.Query().Get("code"))
		b.get(callback)
		remember("PKCE verifier", e.sim.LastTokenRequest().Get("code_verifier"))
		rememberSession()
	}

	signIn()
	b.get("/")
	// Proactive refresh, then a refresh after a 401.
	e.advance(10 * time.Minute)
	b.get("/")
	rememberSession()
	e.simClock.Advance(11 * time.Minute)
	b.get("/")
	rememberSession()
	// Failures on each endpoint.
	for _, ep := range []zendesksim.Endpoint{zendesksim.Exchange, zendesksim.Me} {
		callback := b.authorize("/zendesk/auth", "allow")
		u, _ := url.Parse(callback)
		remember("code", u.Query().Get("code"))
		e.sim.Inject(ep, zendesksim.ErrorIn2xx, 1)
		b.get(callback)
	}
	b.get("/zendesk/oauth/callback?code=stolen&state=forged")
	signIn()
	e.advance(10 * time.Minute)
	e.sim.Inject(zendesksim.Refresh, zendesksim.ServerError, 1)
	b.get("/")
	e.sim.Inject(zendesksim.Revoke, zendesksim.ServerError, 1)
	b.post("/zendesk/logout", nil)
	signIn()
	b.post("/zendesk/logout", nil)

	if n := len(secrets); n < 12 {
		t.Fatalf("only %d secrets collected: the flows above did not run", n)
	}
	logs, sent := e.logs.String(), rec.seen.String()
	if !strings.Contains(sent, "Set-Cookie: session=") || !strings.Contains(logs, "tokens refreshed") {
		t.Fatal("the recording missed the flows")
	}
	for what, value := range secrets {
		if strings.Contains(logs, value) {
			t.Errorf("the %s is in the logs", what)
		}
		if strings.Contains(sent, value) {
			t.Errorf("the %s is in a response the app sent", what)
		}
	}
}
