package e2e

import (
	"net/http"
	"testing"

	"zendesk-oauth-app/internal/browsertest"
)

// a11yPage is one page to check: where it is, the status it answers, and
// an element that shows it has loaded.
type a11yPage struct {
	name, path string
	status     int
	ready      string
}

// TestAccessibility runs axe-core, the accessibility engine behind
// Lighthouse and most browser tools (https://github.com/dequelabs/axe-core),
// on every page of the app that a browser can reach, in the light and the
// dark colour scheme, and checks the one thing on these pages that axe
// does not: the placeholder's contrast. axe-core is test tooling from npm,
// never served by the app: "make axe-core" installs it outside the
// repository and the Makefile tells the test where, in AXE_CORE.
func TestAccessibility(t *testing.T) {
	axe := browsertest.AxeSource(t)
	wd := browsertest.Start(t)

	// One Zendesk: the sign-in link, the error pages and the profile.
	single := serveApp(t, wd, browserOptions{})
	b := single.browser()
	for _, p := range []a11yPage{
		{"signed out", "/", http.StatusOK, signInLink},
		{"signed out, with the sign-out notice", "/?signed_out=revoked", http.StatusOK, ".notice"},
		{"access denied", "/zendesk/oauth/callback?error=access_denied", http.StatusForbidden, "main h1"},
		{"sign-in failed", "/zendesk/oauth/callback?error=invalid_scope&state=forged", http.StatusBadRequest, "main h1"},
		{"sign-in expired", "/zendesk/oauth/callback?code=c&state=s", http.StatusBadRequest, "main h1"},
		{"wrong Zendesk", "/zendesk/auth?subdomain=other", http.StatusBadRequest, "main h1"},
		{"page not found", "/no-such-page", http.StatusNotFound, "main h1"},
		{"method not allowed", "/zendesk/logout", http.StatusMethodNotAllowed, "main h1"},
	} {
		checkAccessibility(b, axe, single.url, p)
	}
	single.consent(b)
	single.allow(b)
	checkAccessibility(b, axe, single.url, a11yPage{"profile", "/", http.StatusOK, ".greeting"})

	// Many Zendesks: the instance form, and the form with an error. A
	// browser of its own: cookies are shared across ports.
	global := serveApp(t, wd, browserOptions{global: true})
	b = global.browser()
	checkAccessibility(b, axe, global.url, a11yPage{"instance form", "/", http.StatusOK, "#subdomain"})
	checkAccessibility(b, axe, global.url, a11yPage{"instance form with an error", "/zendesk/auth?subdomain=evil.com/x", http.StatusBadRequest, "#subdomain-error"})

	// The demo ("go run ."), whose pages carry a banner: against its own
	// built-in simulator.
	port := freePort(t)
	demo := "http://localhost:" + port
	startApp(t, map[string]string{"PORT": port})
	b = wd.NewSession(t)
	checkAccessibility(b, axe, demo, a11yPage{"demo, signed out", "/", http.StatusOK, ".demo"})
	b.Click(signInLink)
	b.Click("#allow")
	b.WaitText(".greeting", "Hi, John Doe!") // the callback has set the session
	checkAccessibility(b, axe, demo, a11yPage{"demo, profile", "/", http.StatusOK, ".greeting"})
}

// checkAccessibility loads the page and checks it with
// browsertest.CheckAccessibility, light and dark. The console must stay
// clean, but for the page's own error status.
func checkAccessibility(b *browsertest.Session, axe, base string, p a11yPage) {
	b.T.Helper()
	b.Navigate(base + p.path)
	b.WaitFor(p.ready)
	browsertest.CheckAccessibility(b, axe, p.name)
	if p.status == http.StatusOK {
		b.WantCleanConsole()
	} else {
		b.WantCleanConsole(browsertest.StatusEntry(base+p.path, p.status))
	}
}
