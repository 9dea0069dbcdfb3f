package e2e

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"zendesk-oauth-app/internal/zendesksim"
)

// The browser journeys: a real Chromium, driven over WebDriver, signs in
// to the app's binary through the simulator. The app runs on
// http://localhost:PORT and the simulator on http://127.0.0.1:PORT2, two
// different sites as in production, so the hop back to the callback is a
// cross-site navigation. Every journey fails on any console error (CSP
// violation, failed resource), except the error page's own 4xx status,
// which is expected. With SCREENSHOTS=dir, PNGs of the pages are saved
// into dir.

// browserEnv is the app and the simulator on two sites, and a chromedriver.
type browserEnv struct {
	t   *testing.T
	url string // the app: http://localhost:PORT
	sim *zendesksim.Server
	wd  *webDriver
}

type browserOptions struct {
	global bool               // ZENDESK_SUBDOMAIN unset: the instance form
	sim    zendesksim.Options // ClientID, ClientSecret and RedirectURIs are filled in
}

func newBrowserEnv(t *testing.T, opts browserOptions) *browserEnv {
	t.Helper()
	return serveApp(t, startWebDriver(t), opts)
}

// serveApp starts a simulator and the app, for browsers of wd: several
// apps can share one chromedriver.
func serveApp(t *testing.T, wd *webDriver, opts browserOptions) *browserEnv {
	t.Helper()
	e := &browserEnv{t: t, wd: wd}
	port := freePort(t)
	e.url = "http://localhost:" + port

	simOpts := opts.sim
	simOpts.ClientID, simOpts.ClientSecret = testClientID, testClientSecret
	simOpts.RedirectURIs = []string{e.url + "/zendesk/oauth/callback"}
	e.sim = zendesksim.NewServer(simOpts)
	t.Cleanup(e.sim.Close)
	if !strings.HasPrefix(e.sim.URL, "http://127.0.0.1:") {
		t.Fatalf("the simulator is at %s: it must be on another site than the app (%s)", e.sim.URL, e.url)
	}

	env := appEnv(port, e.sim.URL)
	if opts.global {
		delete(env, "ZENDESK_SUBDOMAIN")
	}
	startApp(t, env)
	return e
}

// browser opens a browser with a fresh profile.
func (e *browserEnv) browser() *wdSession { return e.wd.newSession(e.t) }

// The sign-in link, and the instance form's button in the many-instances mode.
const (
	signInLink     = `a.button[href="/zendesk/auth"]`
	instanceSubmit = `form[action="/zendesk/auth"] button[type=submit]`
)

// consent starts a sign-in from the signed-out page and waits for the
// simulator's consent page.
func (e *browserEnv) consent(b *wdSession) {
	b.t.Helper()
	b.navigate(e.url + "/")
	if got := b.waitText(signInLink, "Sign in to Zendesk"); got != "Sign in to Zendesk" {
		b.t.Errorf("sign-in link text %q", got)
	}
	b.click(signInLink)
	b.waitURL(e.sim.URL + "/oauth/authorizations/new?")
	b.waitFor("#allow")
}

// allow answers the consent page with Allow and waits for the profile.
func (e *browserEnv) allow(b *wdSession) {
	b.t.Helper()
	b.click("#allow")
	b.waitURL(e.url + "/zendesk/oauth/callback?code=")
	e.wantProfile(b)
}

// wantProfile checks that the page greets the simulator's user.
func (e *browserEnv) wantProfile(b *wdSession) {
	b.t.Helper()
	b.waitText(".greeting", "Hi, John Doe!")
	if role := b.waitText("main code", "admin"); role != "admin" {
		b.t.Errorf("role %q, want admin", role)
	}
}

// signOut clicks Sign out and waits for the signed-out page.
func (e *browserEnv) signOut(b *wdSession, waitFor string) {
	b.t.Helper()
	b.click(`form[action="/zendesk/logout"] button`)
	b.waitFor(waitFor)
	if u := b.currentURL(); u != e.url+"/?signed_out=revoked" {
		b.t.Errorf("signed out at %s, want %s/?signed_out=revoked", u, e.url)
	}
	if strings.Contains(b.source(), "Hi, John Doe") {
		b.t.Error("the signed-out page still shows the profile")
	}
}

// statusEntry is the console error Chromium logs for a page that answers
// with an error status: the one console error an error page may cause.
func statusEntry(pageURL string, status int) string {
	return pageURL + " - Failed to load resource: the server responded with a status of " +
		strconv.Itoa(status) + " (" + http.StatusText(status) + ")"
}

// wantCleanConsole fails the test for every console error since the last
// check, except the exact entries listed in allowed.
func wantCleanConsole(b *wdSession, allowed ...string) {
	b.t.Helper()
	for _, entry := range b.consoleLog() {
		if entry.Level != "SEVERE" {
			b.t.Logf("console %s: %s", entry.Level, entry.Message)
			continue
		}
		if entry.Source != "network" || !slices.Contains(allowed, entry.Message) {
			b.t.Errorf("console error (%s): %s", entry.Source, entry.Message)
		}
	}
}

// Journey 1: sign in, stay signed in across a reload and a new visit, and
// the session cookie is out of scripts' reach.
func TestBrowserSignIn(t *testing.T) {
	e := newBrowserEnv(t, browserOptions{})
	b := e.browser()

	b.navigate(e.url + "/")
	b.waitFor(signInLink)
	b.screenshot("signed-out.png")
	e.consent(b)
	b.waitText("main", "test-client wants to access your Zendesk account as John Doe")
	b.screenshot("consent.png")
	e.allow(b)
	b.waitText("main", "Signed in to acme.zendesk.com")
	b.screenshot("profile.png")
	b.screenshotDark("profile-dark.png")
	wantCleanConsole(b)

	// Reloading the callback must not replay the code: it leads to "/".
	b.reload()
	if got := b.waitURL(e.url + "/"); got != e.url+"/" {
		t.Errorf("after reloading the callback the browser is at %s, want %s/", got, e.url)
	}
	e.wantProfile(b)
	b.navigate(e.url + "/")
	e.wantProfile(b)

	if c := b.execute("return document.cookie"); c != "" {
		t.Errorf("document.cookie = %q, want \"\": the cookies must be HttpOnly", c)
	}
	// Whatever the cookies are called, none is visible to scripts, and all
	// travel on the top-level redirect back from Zendesk.
	cookies := b.cookies()
	if len(cookies) == 0 {
		t.Error("no cookie after signing in")
	}
	for _, c := range cookies {
		if !c.HTTPOnly || c.SameSite != "Lax" {
			t.Errorf("cookie %s: HttpOnly=%v SameSite=%s, want HttpOnly and SameSite=Lax", c.Name, c.HTTPOnly, c.SameSite)
		}
	}
	if st := e.sim.Stats(); st[zendesksim.Exchange] != 1 || st[zendesksim.Authorize] != 1 {
		t.Errorf("simulator stats %+v, want 1 consent page and 1 exchange", st)
	}
	wantCleanConsole(b)
}

// Journey 2: Sign out ends the session and revokes the token.
func TestBrowserSignOut(t *testing.T) {
	e := newBrowserEnv(t, browserOptions{})
	b := e.browser()
	e.consent(b)
	e.allow(b)

	e.signOut(b, signInLink)
	b.navigate(e.url + "/")
	b.waitFor(signInLink)
	if strings.Contains(b.source(), "Hi, John Doe") {
		t.Error("/ still shows the profile after signing out")
	}
	if n := e.sim.Stats()[zendesksim.Revoke]; n != 1 {
		t.Errorf("%d token revocations at Zendesk, want 1", n)
	}
	wantCleanConsole(b)
}

// Journey 3: Deny shows the friendly 403 page, and its "Try again" works.
func TestBrowserDeny(t *testing.T) {
	e := newBrowserEnv(t, browserOptions{})
	b := e.browser()
	e.consent(b)
	b.click("#deny")
	denied := b.waitURL(e.url + "/zendesk/oauth/callback?")
	b.waitText("h1", "Access denied")
	b.waitText("main", "You did not allow the app to access your Zendesk account")
	b.waitText("main", "Status 403")
	b.screenshot("access-denied.png")
	wantCleanConsole(b, statusEntry(denied, http.StatusForbidden))

	b.click(`a.button[href="/zendesk/auth"]`) // Try again
	b.waitURL(e.sim.URL + "/oauth/authorizations/new?")
	e.allow(b)
	if st := e.sim.Stats(); st[zendesksim.Authorize] != 2 || st[zendesksim.Exchange] != 1 {
		t.Errorf("simulator stats %+v, want 2 consent pages and 1 exchange", st)
	}
	wantCleanConsole(b)
}

// Journey 4: the global-client mode asks which Zendesk. The form's answer
// is a redirect to Zendesk, which the CSP form-action must allow.
func TestBrowserInstanceForm(t *testing.T) {
	e := newBrowserEnv(t, browserOptions{global: true})
	b := e.browser()

	for _, typed := range []string{"acme", "https://acme.zendesk.com/agent/tickets/1"} {
		b.navigate(e.url + "/")
		b.typeInto("#subdomain", typed)
		b.click(instanceSubmit)
		b.waitURL(e.sim.URL + "/oauth/authorizations/new?")
		e.allow(b)
		b.waitText("main", "Signed in to acme.zendesk.com")
		e.signOut(b, "#subdomain")
		if v := b.execute(`return document.getElementById("subdomain").value`); v != "acme" {
			t.Errorf("after typing %q the form is pre-filled with %q, want acme", typed, v)
		}
		wantCleanConsole(b)
	}

	b.typeInto("#subdomain", "evil.com/x")
	b.click(instanceSubmit)
	refused := b.waitURL(e.url + "/zendesk/auth?subdomain=")
	b.waitText("#subdomain-error", "Type the first part of your Zendesk address")
	if v := b.execute(`return document.getElementById("subdomain").value`); v != "evil.com/x" {
		t.Errorf("the refused form shows %q, want the typed evil.com/x", v)
	}
	b.screenshot("instance-form.png")
	wantCleanConsole(b, statusEntry(refused, http.StatusBadRequest))
	if n := e.sim.Stats()[zendesksim.Authorize]; n != 2 {
		t.Errorf("%d consent pages, want 2: the refused value must not reach Zendesk", n)
	}
}

// Journey 5: an expired access token is refreshed behind the person's
// back, and the browser keeps the rotated tokens.
func TestBrowserTokenRefresh(t *testing.T) {
	e := newBrowserEnv(t, browserOptions{})
	b := e.browser()
	e.consent(b)
	e.allow(b)
	e.refresh(b)
	wantCleanConsole(b)
}

// refresh expires the access tokens and opens the profile: the app must
// refresh them exactly once, and the rotated pair must reach the browser,
// so that a reload then makes one users/me call and no refresh. (With the
// old cookies, the app would get 401 again, then retry with the pair it
// remembers for a few seconds, or refresh in vain and send the person
// through authorization.) The app runs in its own process, whose clock a
// test cannot move: the simulator expires the tokens instead, so the next
// users/me call gets 401 invalid_token.
func (e *browserEnv) refresh(b *wdSession) {
	b.t.Helper()
	e.sim.ExpireAccessTokens()
	before := e.sim.Stats()
	b.navigate(e.url + "/")
	e.wantProfile(b)
	refreshed := e.sim.Stats()
	if n := refreshed[zendesksim.Refresh] - before[zendesksim.Refresh]; n != 1 {
		b.t.Fatalf("%d refreshes after the access token expired, want 1", n)
	}
	b.reload()
	e.wantProfile(b)
	after := e.sim.Stats()
	if after[zendesksim.Refresh] != refreshed[zendesksim.Refresh] || after[zendesksim.Exchange] != before[zendesksim.Exchange] ||
		after[zendesksim.Me]-refreshed[zendesksim.Me] != 1 {
		b.t.Errorf("simulator stats %+v after the reload, %+v after the refresh: want no refresh, no exchange and 1 more users/me call",
			after, refreshed)
	}
}

// Journey 6: Zendesk's tokens are JWTs of a kilobyte or more, and may
// grow. With tokens of 2 and 4 KB, the session spreads over several
// cookies, none larger than a browser keeps, and survives a reload, two
// refreshes (each writing a new pair) and the sign-out, which deletes
// every part.
func TestBrowserLargeTokens(t *testing.T) {
	wd := startWebDriver(t)
	for _, size := range []int{2048, 4096} {
		t.Run(strconv.Itoa(size)+" bytes", func(t *testing.T) {
			e := serveApp(t, wd, browserOptions{sim: zendesksim.Options{TokenBytes: size}})
			b := e.browser()
			e.consent(b)
			e.allow(b)
			wantCookiesFit(b, 2*size)
			b.reload() // the callback's reload leads to "/"
			b.waitURL(e.url + "/")
			e.wantProfile(b)
			for range 2 {
				e.refresh(b)
				wantCookiesFit(b, 2*size)
			}
			e.signOut(b, signInLink)
			b.waitText(".notice", "the app's access to your Zendesk account is revoked")
			if c := b.cookies(); len(c) != 0 {
				t.Errorf("%d cookies left after signing out, want none: %+v", len(c), c)
			}
			if st := e.sim.Stats(); st[zendesksim.Exchange] != 1 || st[zendesksim.Refresh] != 2 || st[zendesksim.Revoke] != 1 {
				t.Errorf("simulator stats %+v, want 1 exchange, 2 refreshes and 1 revocation", st)
			}
			wantCleanConsole(b)
		})
	}
}

// wantCookiesFit checks, through WebDriver's cookie API, that each cookie
// the browser holds for the page is within the 4,096 bytes of name=value
// a browser keeps (RFC 6265bis §5.6), and that together they hold at
// least tokenBytes: a browser drops a larger cookie in silence, so the
// total shows that every part of the session arrived.
func wantCookiesFit(b *wdSession, tokenBytes int) {
	b.t.Helper()
	total, sizes := 0, []string{}
	for _, c := range b.cookies() {
		n := len(c.Name) + len(c.Value)
		total += n
		sizes = append(sizes, c.Name+": "+strconv.Itoa(n))
		if n > 4096 {
			b.t.Errorf("cookie %s: %d bytes of name=value, over 4,096", c.Name, n)
		}
	}
	slices.Sort(sizes)
	b.t.Logf("cookies (bytes of name=value): %s", strings.Join(sizes, ", "))
	if total < tokenBytes {
		b.t.Errorf("the cookies hold %d bytes, want at least the tokens' %d", total, tokenBytes)
	}
}

// Journey 7: single sign-on in the many-instances mode. The instance form
// submits to the app, which redirects to Zendesk, which redirects to the
// account's identity provider on another origin (the simulator's other
// loopback name), and back. Browsers apply the form page's CSP
// form-action to every redirect after the submission, so that page alone
// has none (README, "Security choices"): nothing on the way may be
// blocked, and every other page keeps form-action 'self'.
func TestBrowserSingleSignOn(t *testing.T) {
	e := newBrowserEnv(t, browserOptions{global: true, sim: zendesksim.Options{IdentityProvider: true}})
	b := e.browser()
	idp := strings.Replace(e.sim.URL, "//127.0.0.1:", "//localhost:", 1) + "/simulated-idp/login?"

	b.navigate(e.url + "/")
	b.typeInto("#subdomain", "acme")
	wantCSP(b, e.url+"/", false)
	b.click(instanceSubmit)
	b.waitURL(idp)
	b.waitText("h1", "Simulated identity provider")
	b.click("#sign-in")
	b.waitURL(e.sim.URL + "/oauth/authorizations/new?")
	b.waitFor("#allow")
	e.allow(b)
	b.waitText("main", "Signed in to acme.zendesk.com")
	wantCSP(b, e.url+"/zendesk/oauth/callback?", true)
	wantCleanConsole(b)
	if st := e.sim.Stats(); st[zendesksim.Authorize] != 2 || st[zendesksim.Consent] != 1 {
		t.Errorf("simulator stats %+v, want 2 authorization requests (before and after the identity provider) and 1 consent page", st)
	}

	// The error pages keep the whole policy; the refused instance form,
	// a form page, has no form-action either.
	for _, p := range []struct {
		path       string
		status     int
		formAction bool
	}{
		{"/zendesk/oauth/callback?error=access_denied", http.StatusForbidden, true},
		{"/no-such-page", http.StatusNotFound, true},
		{"/zendesk/logout", http.StatusMethodNotAllowed, true},
		{"/zendesk/auth?subdomain=evil.com/x", http.StatusBadRequest, false},
	} {
		b.navigate(e.url + p.path)
		b.waitFor("main h1")
		wantCSP(b, e.url+p.path, p.formAction)
		wantCleanConsole(b, statusEntry(e.url+p.path, p.status))
	}

	// Sign out, and in again through the form, which the app pre-fills.
	// The revocation made Zendesk forget the grant, so its consent page
	// comes back; the browser is still signed in to Zendesk (its session
	// cookie), so the identity provider is not asked again.
	b.navigate(e.url + "/")
	e.signOut(b, "#subdomain")
	before := e.sim.Stats()
	b.click(instanceSubmit)
	b.waitURL(e.sim.URL + "/oauth/authorizations/new?")
	b.waitFor("#allow")
	e.allow(b)
	after := e.sim.Stats()
	if after[zendesksim.Authorize]-before[zendesksim.Authorize] != 1 || after[zendesksim.Consent]-before[zendesksim.Consent] != 1 {
		t.Errorf("signing in again: simulator stats %+v, before %+v: want 1 more authorization request (no identity provider) and 1 more consent page", after, before)
	}
	wantCleanConsole(b)
}

// wantCSP checks the Content-Security-Policy the browser received with the
// last page it loaded whose address starts with prefix: default-src
// 'none', and form-action 'self' if formAction, else no form-action.
func wantCSP(b *wdSession, prefix string, formAction bool) {
	b.t.Helper()
	var page *pageHeaders
	pages := b.documentHeaders()
	for i := range pages {
		if strings.HasPrefix(pages[i].URL, prefix) {
			page = &pages[i]
		}
	}
	if page == nil {
		b.t.Fatalf("the browser loaded no page at %s: %+v", prefix, pages)
	}
	csp := page.Header["content-security-policy"]
	directives := strings.Split(csp, "; ")
	if !slices.Contains(directives, "default-src 'none'") {
		b.t.Errorf("%s (status %d): Content-Security-Policy %q, want default-src 'none'", page.URL, page.Status, csp)
	}
	switch has := strings.Contains(csp, "form-action"); {
	case formAction && !slices.Contains(directives, "form-action 'self'"):
		b.t.Errorf("%s (status %d): Content-Security-Policy %q, want form-action 'self'", page.URL, page.Status, csp)
	case !formAction && has:
		b.t.Errorf("%s (status %d): Content-Security-Policy %q, want no form-action on the instance form", page.URL, page.Status, csp)
	}
}
