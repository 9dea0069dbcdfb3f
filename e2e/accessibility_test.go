package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
)

// axeTags are the rules run: WCAG 2.0, 2.1 and 2.2 at levels A and AA,
// and axe's best practices (one main landmark, one h1, all content in
// landmarks, ...).
var axeTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"}

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
	axe := axeSource(t)
	wd := startWebDriver(t)

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
	b = wd.newSession(t)
	checkAccessibility(b, axe, demo, a11yPage{"demo, signed out", "/", http.StatusOK, ".demo"})
	b.click(signInLink)
	b.click("#allow")
	b.waitText(".greeting", "Hi, John Doe!") // the callback has set the session
	checkAccessibility(b, axe, demo, a11yPage{"demo, profile", "/", http.StatusOK, ".greeting"})
}

// axeSource returns axe-core's axe.min.js from the file AXE_CORE names.
// Without it the test is skipped, or fails when E2E=1.
func axeSource(t *testing.T) string {
	t.Helper()
	path := os.Getenv("AXE_CORE")
	src, err := os.ReadFile(path)
	if path == "" {
		err = fmt.Errorf("AXE_CORE is not set")
	}
	if err == nil && !bytes.HasPrefix(src, []byte("/*! axe v4.")) {
		err = fmt.Errorf("%s is not axe-core 4's axe.min.js", path)
	}
	if err != nil {
		skipWithout(t, "E2E", "axe-core ("+err.Error()+")", "make axe-core")
	}
	return string(src)
}

// checkAccessibility loads the page and runs axe on it in the light and in
// the dark colour scheme. The dark one must really apply: the body's
// background colour must change. The console must stay clean, but for the
// page's own error status.
func checkAccessibility(b *wdSession, axe, base string, p a11yPage) {
	b.t.Helper()
	b.navigate(base + p.path)
	b.waitFor(p.ready)
	b.execute(axe)
	if v := b.execute("return typeof axe === 'object' && axe.version"); v == false {
		b.t.Fatalf("%s: axe-core did not load", p.name)
	}
	background := func() any { return b.execute("return getComputedStyle(document.body).backgroundColor") }
	b.colorScheme("light")
	light := background()
	axeViolations(b, p.name+" (light)")
	placeholderContrast(b, p.name+" (light)")
	b.colorScheme("dark")
	if dark := background(); dark == light {
		b.t.Errorf("%s: the body's background is %v in both colour schemes: the dark scheme does not apply", p.name, dark)
	}
	axeViolations(b, p.name+" (dark)")
	placeholderContrast(b, p.name+" (dark)")
	b.colorScheme("light")
	if p.status == http.StatusOK {
		wantCleanConsole(b)
	} else {
		wantCleanConsole(b, statusEntry(base+p.path, p.status))
	}
}

// axeResult is what the script in axeViolations returns of axe.run's results.
type axeResult struct {
	Error      string
	Violations []struct {
		ID, Impact, Help string
		Nodes            []struct{ Target, Summary string }
	}
	Incomplete []string // rules axe could not decide, by id
}

// axeViolations runs axe on the page (axe must be loaded) and fails the
// test with each violation's rule, impact and elements.
func axeViolations(b *wdSession, page string) {
	b.t.Helper()
	var r axeResult
	b.executeAsync(`const done = arguments[arguments.length - 1];
axe.run(document, {runOnly: {type: "tag", values: arguments[0]}, resultTypes: ["violations"]}).then(r => done({
	violations: r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
		nodes: v.nodes.map(n => ({target: n.target.join(" "), summary: n.failureSummary}))})),
	incomplete: r.incomplete.map(v => v.id),
}), e => done({error: String(e)}));`, &r, axeTags)
	if r.Error != "" {
		b.t.Fatalf("%s: axe.run: %s", page, r.Error)
	}
	for _, v := range r.Violations {
		var nodes strings.Builder
		for _, n := range v.Nodes {
			fmt.Fprintf(&nodes, "\n\t%s: %s", n.Target, strings.ReplaceAll(n.Summary, "\n", " "))
		}
		b.t.Errorf("%s: axe: %s (%s): %s%s", page, v.ID, v.Impact, v.Help, nodes.String())
	}
	if len(r.Incomplete) > 0 {
		b.t.Logf("%s: axe could not decide: %s", page, strings.Join(r.Incomplete, ", "))
	}
}

// placeholderContrast fails the test for a placeholder whose contrast with
// its field's background is below WCAG's 4.5:1 for text (1.4.3): axe does
// not check placeholders. The fields' backgrounds are opaque colours.
func placeholderContrast(b *wdSession, page string) {
	b.t.Helper()
	low := b.execute(`const luminance = color => {
	const [r, g, b] = color.match(/[\d.]+/g).slice(0, 3).map(v => {
		v /= 255;
		return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
	});
	return 0.2126 * r + 0.7152 * g + 0.0722 * b;
};
return [...document.querySelectorAll("input[placeholder]")].flatMap(field => {
	const text = getComputedStyle(field, "::placeholder").color, background = getComputedStyle(field).backgroundColor;
	const [l1, l2] = [luminance(text), luminance(background)].sort((x, y) => y - x);
	const ratio = (l1 + 0.05) / (l2 + 0.05);
	return ratio < 4.5 ? ["#" + field.id + ": " + text + " on " + background + ", " + ratio.toFixed(2) + ":1"] : [];
});`)
	for _, p := range low.([]any) {
		b.t.Errorf("%s: placeholder contrast below 4.5:1: %v", page, p)
	}
}
