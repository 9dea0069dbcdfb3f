package e2e

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"zendesk-oauth-app/internal/browsertest"
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
	wd  *browsertest.Driver
}

type browserOptions struct {
	global bool               // ZENDESK_SUBDOMAIN unset: the instance form
	sim    zendesksim.Options // ClientID, ClientSecret and RedirectURIs are filled in
}

func newBrowserEnv(t *testing.T, opts browserOptions) *browserEnv {
	t.Helper()
	return serveApp(t, browsertest.Start(t), opts)
}

// serveApp starts a simulator and the app, for browsers of wd: several
// apps can share one chromedriver.
func serveApp(t *testing.T, wd *browsertest.Driver, opts browserOptions) *browserEnv {
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
func (e *browserEnv) browser() *browsertest.Session { return e.wd.NewSession(e.t) }

// The sign-in link, and the instance form's button in the many-instances mode.
const (
	signInLink     = `a.button[href="/zendesk/auth"]`
	instanceSubmit = `form[action="/zendesk/auth"] button[type=submit]`
)

// consent starts a sign-in from the signed-out page and waits for the
// simulator's consent page.
func (e *browserEnv) consent(b *browsertest.Session) {
	b.T.Helper()
	b.Navigate(e.url + "/")
	if got := b.WaitText(signInLink, "Sign in to Zendesk"); got != "Sign in to Zendesk" {
		b.T.Errorf("sign-in link text %q", got)
	}
	b.Click(signInLink)
	b.WaitURL(e.sim.URL + "/oauth/authorizations/new?")
	b.WaitFor("#allow")
}

// allow answers the consent page with Allow and waits for the profile.
func (e *browserEnv) allow(b *browsertest.Session) {
	b.T.Helper()
	b.Click("#allow")
	b.WaitURL(e.url + "/zendesk/oauth/callback?code=")
	e.wantProfile(b)
}

// wantProfile checks that the page greets the simulator's user.
func (e *browserEnv) wantProfile(b *browsertest.Session) {
	b.T.Helper()
	b.WaitText(".greeting", "Hi, John Doe!")
	if role := b.WaitText("main code", "admin"); role != "admin" {
		b.T.Errorf("role %q, want admin", role)
	}
}

// signOut clicks Sign out and waits for the signed-out page.
func (e *browserEnv) signOut(b *browsertest.Session, waitFor string) {
	b.T.Helper()
	b.Click(`form[action="/zendesk/logout"] button`)
	b.WaitFor(waitFor)
	if u := b.URL(); u != e.url+"/?signed_out=revoked" {
		b.T.Errorf("signed out at %s, want %s/?signed_out=revoked", u, e.url)
	}
	if strings.Contains(b.Source(), "Hi, John Doe") {
		b.T.Error("the signed-out page still shows the profile")
	}
}

// Journey 1: sign in, stay signed in across a reload and a new visit, and
// the session cookie is out of scripts' reach.
func TestBrowserSignIn(t *testing.T) {
	e := newBrowserEnv(t, browserOptions{})
	b := e.browser()

	b.Navigate(e.url + "/")
	b.WaitFor(signInLink)
	b.Screenshot("signed-out.png")
	e.consent(b)
	b.WaitText("main", "test-client wants to access your Zendesk account as John Doe")
	b.Screenshot("consent.png")
	e.allow(b)
	b.WaitText("main", "Signed in to acme.zendesk.com")
	b.Screenshot("profile.png")
	b.ScreenshotDark("profile-dark.png")
	b.WantCleanConsole()

	// Reloading the callback must not replay the code: it leads to "/".
	b.Reload()
	if got := b.WaitURL(e.url + "/"); got != e.url+"/" {
		t.Errorf("after reloading the callback the browser is at %s, want %s/", got, e.url)
	}
	e.wantProfile(b)
	b.Navigate(e.url + "/")
	e.wantProfile(b)

	if c := b.Execute("return document.cookie"); c != "" {
		t.Errorf("document.cookie = %q, want \"\": the cookies must be HttpOnly", c)
	}
	// Whatever the cookies are called, none is visible to scripts, and all
	// travel on the top-level redirect back from Zendesk.
	cookies := b.Cookies()
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
	b.WantCleanConsole()
}

// Journey 2: Sign out ends the session and revokes the token.
func TestBrowserSignOut(t *testing.T) {
	e := newBrowserEnv(t, browserOptions{})
	b := e.browser()
	e.consent(b)
	e.allow(b)

	e.signOut(b, signInLink)
	b.Navigate(e.url + "/")
	b.WaitFor(signInLink)
	if strings.Contains(b.Source(), "Hi, John Doe") {
		t.Error("/ still shows the profile after signing out")
	}
	if n := e.sim.Stats()[zendesksim.Revoke]; n != 1 {
		t.Errorf("%d token revocations at Zendesk, want 1", n)
	}
	b.WantCleanConsole()
}

// Journey 3: Deny shows the friendly 403 page, and its "Try again" works.
func TestBrowserDeny(t *testing.T) {
	e := newBrowserEnv(t, browserOptions{})
	b := e.browser()
	e.consent(b)
	b.Click("#deny")
	denied := b.WaitURL(e.url + "/zendesk/oauth/callback?")
	b.WaitText("h1", "Access denied")
	b.WaitText("main", "You did not allow the app to access your Zendesk account")
	b.WaitText("main", "Status 403")
	b.Screenshot("access-denied.png")
	b.WantCleanConsole(browsertest.StatusEntry(denied, http.StatusForbidden))

	b.Click(`a.button[href="/zendesk/auth"]`) // Try again
	b.WaitURL(e.sim.URL + "/oauth/authorizations/new?")
	e.allow(b)
	if st := e.sim.Stats(); st[zendesksim.Authorize] != 2 || st[zendesksim.Exchange] != 1 {
		t.Errorf("simulator stats %+v, want 2 consent pages and 1 exchange", st)
	}
	b.WantCleanConsole()
}

// Journey 4: the global-client mode asks which Zendesk. The form's answer
// is a redirect to Zendesk, which the CSP form-action must allow.
func TestBrowserInstanceForm(t *testing.T) {
	e := newBrowserEnv(t, browserOptions{global: true})
	b := e.browser()

	for _, typed := range []string{"acme", "https://acme.zendesk.com/agent/tickets/1"} {
		b.Navigate(e.url + "/")
		b.Type("#subdomain", typed)
		b.Click(instanceSubmit)
		b.WaitURL(e.sim.URL + "/oauth/authorizations/new?")
		e.allow(b)
		b.WaitText("main", "Signed in to acme.zendesk.com")
		e.signOut(b, "#subdomain")
		if v := b.Execute(`return document.getElementById("subdomain").value`); v != "acme" {
			t.Errorf("after typing %q the form is pre-filled with %q, want acme", typed, v)
		}
		b.WantCleanConsole()
	}

	b.Type("#subdomain", "evil.com/x")
	b.Click(instanceSubmit)
	refused := b.WaitURL(e.url + "/zendesk/auth?subdomain=")
	b.WaitText("#subdomain-error", "Type the first part of your Zendesk address")
	if v := b.Execute(`return document.getElementById("subdomain").value`); v != "evil.com/x" {
		t.Errorf("the refused form shows %q, want the typed evil.com/x", v)
	}
	b.Screenshot("instance-form.png")
	b.WantCleanConsole(browsertest.StatusEntry(refused, http.StatusBadRequest))
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
	b.WantCleanConsole()
}

// refresh expires the access tokens and opens the profile: the app must
// refresh them exactly once, and the rotated pair must reach the browser,
// so that a reload then makes one users/me call and no refresh. (With the
// old cookies, the app would get 401 again, then retry with the pair it
// remembers for a few seconds, or refresh in vain and send the person
// through authorization.) The app runs in its own process, whose clock a
// test cannot move: the simulator expires the tokens instead, so the next
// users/me call gets 401 invalid_token.
func (e *browserEnv) refresh(b *browsertest.Session) {
	b.T.Helper()
	e.sim.ExpireAccessTokens()
	before := e.sim.Stats()
	b.Navigate(e.url + "/")
	e.wantProfile(b)
	refreshed := e.sim.Stats()
	if n := refreshed[zendesksim.Refresh] - before[zendesksim.Refresh]; n != 1 {
		b.T.Fatalf("%d refreshes after the access token expired, want 1", n)
	}
	b.Reload()
	e.wantProfile(b)
	after := e.sim.Stats()
	if after[zendesksim.Refresh] != refreshed[zendesksim.Refresh] || after[zendesksim.Exchange] != before[zendesksim.Exchange] ||
		after[zendesksim.Me]-refreshed[zendesksim.Me] != 1 {
		b.T.Errorf("simulator stats %+v after the reload, %+v after the refresh: want no refresh, no exchange and 1 more users/me call",
			after, refreshed)
	}
}

// Journey 6: Zendesk's tokens are JWTs of a kilobyte or more, and may
// grow. With tokens of 2 and 4 KB, the session spreads over several
// cookies, none larger than a browser keeps, and survives a reload, two
// refreshes (each writing a new pair) and the sign-out, which deletes
// every part.
func TestBrowserLargeTokens(t *testing.T) {
	wd := browsertest.Start(t)
	for _, size := range []int{2048, 4096} {
		t.Run(strconv.Itoa(size)+" bytes", func(t *testing.T) {
			e := serveApp(t, wd, browserOptions{sim: zendesksim.Options{TokenBytes: size}})
			b := e.browser()
			e.consent(b)
			e.allow(b)
			wantCookiesFit(b, 2*size)
			b.Reload() // the callback's reload leads to "/"
			b.WaitURL(e.url + "/")
			e.wantProfile(b)
			for range 2 {
				e.refresh(b)
				wantCookiesFit(b, 2*size)
			}
			e.signOut(b, signInLink)
			b.WaitText(".notice", "the app's access to your Zendesk account is revoked")
			if c := b.Cookies(); len(c) != 0 {
				t.Errorf("%d cookies left after signing out, want none: %+v", len(c), c)
			}
			if st := e.sim.Stats(); st[zendesksim.Exchange] != 1 || st[zendesksim.Refresh] != 2 || st[zendesksim.Revoke] != 1 {
				t.Errorf("simulator stats %+v, want 1 exchange, 2 refreshes and 1 revocation", st)
			}
			b.WantCleanConsole()
		})
	}
}

// wantCookiesFit checks, through WebDriver's cookie API, that each cookie
// the browser holds for the page is within the 4,096 bytes of name=value
// a browser keeps (RFC 6265bis §5.6), and that together they hold at
// least tokenBytes: a browser drops a larger cookie in silence, so the
// total shows that every part of the session arrived.
func wantCookiesFit(b *browsertest.Session, tokenBytes int) {
	b.T.Helper()
	total, sizes := 0, []string{}
	for _, c := range b.Cookies() {
		n := len(c.Name) + len(c.Value)
		total += n
		sizes = append(sizes, c.Name+": "+strconv.Itoa(n))
		if n > 4096 {
			b.T.Errorf("cookie %s: %d bytes of name=value, over 4,096", c.Name, n)
		}
	}
	slices.Sort(sizes)
	b.T.Logf("cookies (bytes of name=value): %s", strings.Join(sizes, ", "))
	if total < tokenBytes {
		b.T.Errorf("the cookies hold %d bytes, want at least the tokens' %d", total, tokenBytes)
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

	b.Navigate(e.url + "/")
	b.Type("#subdomain", "acme")
	wantCSP(b, e.url+"/", false)
	b.Click(instanceSubmit)
	b.WaitURL(idp)
	b.WaitText("h1", "Simulated identity provider")
	b.Click("#sign-in")
	b.WaitURL(e.sim.URL + "/oauth/authorizations/new?")
	b.WaitFor("#allow")
	e.allow(b)
	b.WaitText("main", "Signed in to acme.zendesk.com")
	wantCSP(b, e.url+"/zendesk/oauth/callback?", true)
	b.WantCleanConsole()
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
		b.Navigate(e.url + p.path)
		b.WaitFor("main h1")
		wantCSP(b, e.url+p.path, p.formAction)
		b.WantCleanConsole(browsertest.StatusEntry(e.url+p.path, p.status))
	}

	// Sign out, and in again through the form, which the app pre-fills.
	// The revocation made Zendesk forget the grant, so its consent page
	// comes back; the browser is still signed in to Zendesk (its session
	// cookie), so the identity provider is not asked again.
	b.Navigate(e.url + "/")
	e.signOut(b, "#subdomain")
	before := e.sim.Stats()
	b.Click(instanceSubmit)
	b.WaitURL(e.sim.URL + "/oauth/authorizations/new?")
	b.WaitFor("#allow")
	e.allow(b)
	after := e.sim.Stats()
	if after[zendesksim.Authorize]-before[zendesksim.Authorize] != 1 || after[zendesksim.Consent]-before[zendesksim.Consent] != 1 {
		t.Errorf("signing in again: simulator stats %+v, before %+v: want 1 more authorization request (no identity provider) and 1 more consent page", after, before)
	}
	b.WantCleanConsole()
}

// wantCSP checks the Content-Security-Policy the browser received with the
// last page it loaded whose address starts with prefix: default-src
// 'none', and form-action 'self' if formAction, else no form-action.
func wantCSP(b *browsertest.Session, prefix string, formAction bool) {
	b.T.Helper()
	var page *browsertest.PageHeaders
	pages := b.DocumentHeaders()
	for i := range pages {
		if strings.HasPrefix(pages[i].URL, prefix) {
			page = &pages[i]
		}
	}
	if page == nil {
		b.T.Fatalf("the browser loaded no page at %s: %+v", prefix, pages)
	}
	csp := page.Header["content-security-policy"]
	directives := strings.Split(csp, "; ")
	if !slices.Contains(directives, "default-src 'none'") {
		b.T.Errorf("%s (status %d): Content-Security-Policy %q, want default-src 'none'", page.URL, page.Status, csp)
	}
	switch has := strings.Contains(csp, "form-action"); {
	case formAction && !slices.Contains(directives, "form-action 'self'"):
		b.T.Errorf("%s (status %d): Content-Security-Policy %q, want form-action 'self'", page.URL, page.Status, csp)
	case !formAction && has:
		b.T.Errorf("%s (status %d): Content-Security-Policy %q, want no form-action on the instance form", page.URL, page.Status, csp)
	}
}
