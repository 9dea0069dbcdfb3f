package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"zendesk-oauth-app/internal/zendesksim"
)

// globalEnv is the app in the many-instances mode, against a simulator
// that serves api too.
func globalEnv(t *testing.T, api ...zendesksim.API) *env {
	return newEnv(t, envOptions{vars: map[string]string{"ZENDESK_SUBDOMAIN": ""}, sim: zendesksim.Options{API: api}})
}

func TestGlobalModeSignIn(t *testing.T) {
	e := globalEnv(t)
	b := e.browser()
	home := b.get("/")
	mustContain(t, home.body, `action="/zendesk/auth"`, `name="subdomain"`, ".zendesk.com", "Sign in to Zendesk")

	page := b.get(b.authorize("/zendesk/auth?subdomain="+url.QueryEscape(" https://Acme.zendesk.com/agent/tickets/1"), "allow"))
	mustContain(t, page.body, "Hi, John Doe!", "Signed in to acme.zendesk.com")
	if s := b.session(); s.Subdomain != "acme" {
		t.Errorf("session subdomain %q, want acme", s.Subdomain)
	}

	// After signing out, the form remembers the instance.
	b.post("/zendesk/logout", nil)
	mustContain(t, b.get("/").body, `value="acme"`)
}

func TestGlobalModeRefusesBadSubdomains(t *testing.T) {
	e := globalEnv(t)
	b := e.browser()
	for _, input := range []string{"", "evil.com", "acme.zendesk.com@evil.com", "a b", strings.Repeat("x", 64), "<script>"} {
		resp := b.get("/zendesk/auth?subdomain=" + url.QueryEscape(input))
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%q: status %d, want 400", input, resp.StatusCode)
		}
		mustContain(t, resp.body, "Type the first part of your Zendesk address", `name="subdomain"`)
		if strings.Contains(resp.body, "<script>") {
			t.Errorf("%q: the input is echoed unescaped", input)
		}
		if loc := resp.Header.Get("Location"); loc != "" {
			t.Errorf("%q: redirected to %q", input, loc)
		}
	}
	if resp := b.get("/zendesk/auth"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("no subdomain: status %d, want 400", resp.StatusCode)
	}
	if resp := b.get("/zendesk/auth?subdomain=acme&subdomain=evil"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("two subdomains: status %d, want 400", resp.StatusCode)
	}
	if n := e.sim.Stats()[zendesksim.Authorize]; n != 0 {
		t.Errorf("%d requests reached Zendesk", n)
	}
}

// The instance form's page alone has no form-action: the form leads
// through the person's Zendesk to an identity provider no list can name.
// Every other page allows forms to the app only.
func TestFormActionWhereItCanHold(t *testing.T) {
	const formAction = "form-action 'self'"
	global := globalEnv(t).browser()
	if csp := global.get("/").Header.Get("Content-Security-Policy"); strings.Contains(csp, "form-action") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("instance form CSP %q: want default-src 'none' and no form-action", csp)
	}
	if csp := global.get("/zendesk/auth?subdomain=a.b").Header.Get("Content-Security-Policy"); strings.Contains(csp, "form-action") {
		t.Errorf("refused instance form CSP %q: want no form-action", csp)
	}
	single := newEnv(t, envOptions{}).browser()
	for _, resp := range []*response{single.get("/"), single.signIn(), single.get("/nowhere"), global.get("/nowhere")} {
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.HasSuffix(csp, "; "+formAction) {
			t.Errorf("%s: CSP %q, want %s", resp.Request.URL.Path, csp, formAction)
		}
	}
}

// Each instance is its own simulator; a callback for a flow that started
// for acme can only ever reach acme, whatever the URL says.
func TestCallbackStaysOnItsInstance(t *testing.T) {
	e := globalEnv(t)
	other := zendesksim.NewServer(zendesksim.Options{ClientID: "test-client", ClientSecret: "test-client-secret", RedirectURIs: []string{e.server.URL + "/zendesk/oauth/callback"}})
	defer other.Close()
	e.app.zendesk.BaseURL = func(subdomain string) string {
		if subdomain == "acme" {
			return e.sim.URL
		}
		return other.URL
	}

	b := e.browser()
	// The person starts at "other", but a code from acme arrives, with a
	// subdomain parameter naming acme: the app still asks "other" only.
	b.get("/zendesk/auth?subdomain=other")
	otherState := strings.TrimPrefix(b.flowCookie().Name, flowCookie)
	acmeCallback, _ := url.Parse(e.browser().authorize("/zendesk/auth?subdomain=acme", "allow"))
	q := acmeCallback.Query()
	q.Set("state", otherState)
	q.Set("subdomain", "acme")
	acmeCallback.RawQuery = q.Encode()

	resp := b.get(acmeCallback.String())
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status %d, want 400 (other's Zendesk does not know acme's code)", resp.StatusCode)
	}
	if n := e.sim.Stats()[zendesksim.Exchange]; n != 0 {
		t.Errorf("acme received %d token requests from a flow that started for other", n)
	}
	if n := other.Stats()[zendesksim.Exchange]; n != 1 {
		t.Errorf("other received %d token requests, want 1", n)
	}
}
