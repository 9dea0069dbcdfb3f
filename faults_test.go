package main

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"zendesk-oauth-app/internal/zendesksim"
)

// The app's Zendesk timeout in the fault tests: short, so a hang costs the
// suite little, and a person waits at most this plus a second.
const faultTimeout = 300 * time.Millisecond

func faultEnv(t *testing.T) *env {
	return newEnv(t, envOptions{configure: func(c *config) { c.zendeskTimeout = faultTimeout }})
}

// reach drives a browser to the request that makes the app call the
// faulted endpoint, and returns the app's answer to that request.
var reach = map[zendesksim.Endpoint]func(e *env, b *browser, inject func()) *response{
	zendesksim.Exchange: func(e *env, b *browser, inject func()) *response {
		callback := b.authorize("/zendesk/auth", "allow")
		inject()
		return b.get(callback)
	},
	zendesksim.Me: func(e *env, b *browser, inject func()) *response {
		callback := b.authorize("/zendesk/auth", "allow")
		inject()
		return b.get(callback)
	},
	zendesksim.Refresh: func(e *env, b *browser, inject func()) *response {
		b.signIn()
		e.advance(31 * time.Minute)
		inject()
		return b.get("/")
	},
}

func TestZendeskFaults(t *testing.T) {
	slowerThanTheApp(t)
	for _, tc := range []struct {
		fault     zendesksim.Fault
		status    int
		title     string
		transient bool                  // Zendesk fails for now, and refuses nothing
		endpoints []zendesksim.Endpoint // default: Exchange, Me and Refresh
	}{
		{zendesksim.ServerError, 502, "Zendesk is not available", true, nil},
		{zendesksim.BadGatewayHTML, 502, "Zendesk is not available", true, nil},
		{zendesksim.RateLimited, 503, "Zendesk is busy", true, nil},
		{zendesksim.RateLimitedJSON, 503, "Zendesk is busy", true, nil},
		{zendesksim.RateLimitedNoRetryAfter, 503, "Please try again in 60 seconds", true, nil},
		{zendesksim.Slow, 504, "did not answer in time", true, nil},
		{zendesksim.Hang, 504, "did not answer in time", true, nil},
		{zendesksim.Reset, 502, "Zendesk is not available", true, nil},
		{zendesksim.InvalidJSON, 502, "unexpected answer", false, nil},
		{zendesksim.Oversized, 502, "unexpected answer", false, nil},
		{zendesksim.WrongContentType, 502, "unexpected answer", false, nil},
		{zendesksim.ErrorIn2xx, 502, "unexpected answer", false, nil},
		{zendesksim.NoAccessToken, 502, "unexpected answer", false, []zendesksim.Endpoint{zendesksim.Exchange, zendesksim.Refresh}},
		{zendesksim.NoUser, 502, "unexpected answer", false, []zendesksim.Endpoint{zendesksim.Me}},
		{zendesksim.AnonymousUser, 502, "unexpected answer", false, []zendesksim.Endpoint{zendesksim.Me}},
	} {
		endpoints := tc.endpoints
		if endpoints == nil {
			endpoints = []zendesksim.Endpoint{zendesksim.Exchange, zendesksim.Me, zendesksim.Refresh}
		}
		for _, endpoint := range endpoints {
			t.Run(string(endpoint)+"/"+faultName(tc.fault), func(t *testing.T) {
				// Only the faults that make Zendesk late are about time: the
				// others keep the app's normal timeout, so that a busy test
				// machine cannot turn them into timeouts.
				late := tc.fault == zendesksim.Slow || tc.fault == zendesksim.Hang
				var e *env
				if late {
					e = faultEnv(t)
				} else {
					e = newEnv(t, envOptions{})
				}
				b := e.browser()
				start := time.Now()
				resp := reach[endpoint](e, b, func() { e.sim.Inject(endpoint, tc.fault, 0) })
				// Faults may be retried by the transport (a reset GET), so
				// the bound is a second beyond two timeouts.
				if elapsed := time.Since(start); late && elapsed > 2*faultTimeout+time.Second {
					t.Errorf("answered after %v", elapsed)
				}
				if resp.StatusCode != tc.status {
					t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
				}
				mustContain(t, resp.body, tc.title, "request id")
				// Zendesk's Retry-After, or a minute, its rate limits' window.
				if want := map[bool]string{true: "60", false: "30"}[tc.fault == zendesksim.RateLimitedNoRetryAfter]; tc.status == 503 && resp.Header.Get("Retry-After") != want {
					t.Errorf("Retry-After %q, want %s", resp.Header.Get("Retry-After"), want)
				}
				assertOneLogLine(t, e, resp)
				// Right after the code exchange, a Zendesk that is only
				// busy or unavailable leaves good tokens: they are kept.
				// An answer that cannot be used means they are not.
				keep := endpoint == zendesksim.Me && tc.transient
				if n := e.sim.Stats()[zendesksim.Revoke]; endpoint == zendesksim.Me && (n == 0) != keep {
					t.Errorf("%d revocations: the tokens must be revoked exactly when they cannot be kept (keep: %v)", n, keep)
				}
				if c := setCookieHeader(resp, "session"); endpoint == zendesksim.Me && (c != nil) != keep {
					t.Errorf("session cookie %v, want one exactly when the tokens are kept", c)
				}
				if c := setCookieHeader(resp, "session"); endpoint == zendesksim.Refresh && c != nil {
					t.Errorf("a transient failure touched the session cookie: %v", c)
				}

				// The fault passes; the app serves the next request, with no
				// new sign-in where the tokens were kept: an outage during a
				// refresh (even one whose answer never came) signs nobody
				// out.
				e.sim.Inject(endpoint, zendesksim.NoFault, 0)
				if endpoint == zendesksim.Refresh || keep {
					exchanges := e.sim.Stats()[zendesksim.Exchange]
					mustContain(t, b.get("/").body, "Hi, John Doe!")
					if n := e.sim.Stats()[zendesksim.Exchange]; n != exchanges {
						t.Errorf("the next view signed in again (%d token exchanges, was %d)", n, exchanges)
					}
				} else {
					mustContain(t, b.signIn().body, "Hi, John Doe!")
				}
			})
		}
	}
}

func TestZendeskDown(t *testing.T) {
	e := faultEnv(t)
	b := e.browser()
	callback := b.authorize("/zendesk/auth", "allow")
	e.sim.Close() // connections refused from now on
	resp := b.get(callback)
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("status %d, want 502", resp.StatusCode)
	}
	mustContain(t, resp.body, "could not reach Zendesk")
	assertOneLogLine(t, e, resp)
	if resp := b.get("/healthz"); resp.StatusCode != http.StatusOK {
		t.Errorf("healthz after the fault: %d", resp.StatusCode)
	}
}

func TestRevocationFaults(t *testing.T) {
	slowerThanTheApp(t)
	for _, fault := range []zendesksim.Fault{zendesksim.ServerError, zendesksim.RateLimited, zendesksim.Hang, zendesksim.Reset} {
		t.Run(faultName(fault), func(t *testing.T) {
			e := faultEnv(t)
			b := e.browser()
			b.signIn()
			e.sim.Inject(zendesksim.Revoke, fault, 0)
			start := time.Now()
			resp := b.post("/zendesk/logout", nil)
			if elapsed := time.Since(start); elapsed > 2*faultTimeout+time.Second {
				t.Errorf("sign-out took %v", elapsed)
			}
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/?signed_out=failed" {
				t.Errorf("status %d to %q, want 303 to /?signed_out=failed", resp.StatusCode, resp.Header.Get("Location"))
			}
			if b.cookie("session") != nil {
				t.Error("still signed in")
			}
			if n := strings.Count(e.logs.String(), "level=WARN msg=\"signed out\""); n != 1 {
				t.Errorf("%d warnings about the failed revocation, want 1:\n%s", n, e.logs)
			}
			mustContain(t, b.get(resp.Header.Get("Location")).body, "Zendesk could not be reached or was not available to revoke")
		})
	}
}

var requestIDOnPage = regexp.MustCompile(`request id <code>([A-Z0-9]+)</code>`)

// assertOneLogLine checks that the failure behind an error page was logged
// once, besides the request's own access line.
func assertOneLogLine(t *testing.T, e *env, resp *response) {
	t.Helper()
	m := requestIDOnPage.FindStringSubmatch(resp.body)
	if m == nil {
		t.Error("no request id on the page")
		return
	}
	assertOneLogLineFor(t, e, m[1])
}

// assertOneLogLineFor checks that request id wrote one line besides its
// access line.
func assertOneLogLineFor(t *testing.T, e *env, id string) {
	t.Helper()
	var lines []string
	for _, line := range strings.Split(e.logs.String(), "\n") {
		if strings.Contains(line, "request_id="+id) && !strings.Contains(line, "msg=request ") {
			lines = append(lines, line)
		}
	}
	if len(lines) != 1 {
		t.Errorf("%d log lines for request %s, want 1:\n%s", len(lines), id, strings.Join(lines, "\n"))
	}
}

func slowerThanTheApp(t *testing.T) {
	old := zendesksim.SlowDelay
	zendesksim.SlowDelay = 5 * faultTimeout
	t.Cleanup(func() { zendesksim.SlowDelay = old })
}

func faultName(f zendesksim.Fault) string {
	return map[zendesksim.Fault]string{
		zendesksim.ServerError: "500", zendesksim.BadGatewayHTML: "502-html", zendesksim.RateLimited: "429",
		zendesksim.RateLimitedJSON: "429-json", zendesksim.RateLimitedNoRetryAfter: "429-no-retry-after",
		zendesksim.Slow: "slow", zendesksim.Hang: "hang", zendesksim.Reset: "reset",
		zendesksim.InvalidJSON: "invalid-json", zendesksim.Oversized: "oversized", zendesksim.WrongContentType: "wrong-content-type",
		zendesksim.ErrorIn2xx: "error-in-2xx", zendesksim.NoAccessToken: "no-access-token", zendesksim.NoUser: "no-user",
		zendesksim.AnonymousUser: "anonymous-user",
	}[f]
}
