package main

import (
	"net/http"
	"testing"

	"zendesk-oauth-app/internal/browsertest"
)

// The recipe "Add a form" in Chromium: axe-core finds nothing to fix on
// the form empty, with Zendesk's field errors, and after the ticket is
// created, in the light and the dark colour scheme, as on the app's other
// pages (e2e/accessibility_test.go); and the console stays clean, but for
// the error page's own 422. The app and the simulator run here, behind
// httptest on 127.0.0.1 on two ports: one site with two origins, whose
// cookies do not clash (the simulator sets none on this journey), in a
// browser with a fresh profile. Without Chromium or axe-core the test
// skips, and fails when E2E=1.
func TestRecipeFormAccessibility(t *testing.T) {
	axe := browsertest.AxeSource(t)
	b := browsertest.Start(t).NewSession(t)
	e, desk := formEnv(t, defaultScopes+" tickets:write")
	form := e.server.URL + "/tickets/new"

	// Signed out, the form's address leads through Zendesk's consent
	// page and back.
	b.Navigate(form)
	b.WaitURL(e.sim.URL + "/oauth/authorizations/new?")
	b.Click("#allow")
	if got := b.WaitURL(form); got != form {
		t.Fatalf("after the sign-in the browser is at %s, want %s", got, form)
	}
	b.WaitText("main h1", "Ask for help")
	browsertest.CheckAccessibility(b, axe, "form, empty")
	b.WantCleanConsole()

	// Nothing typed: Zendesk answers 422 and names both fields.
	b.Click(`form[action="/tickets/new"] button[type=submit]`)
	b.WaitText("#subject-error", "Subject: cannot be blank")
	b.WaitText("#description-error", "Description: cannot be blank")
	for _, field := range []string{"subject", "description"} {
		marked := b.Execute(`const f = document.getElementById(arguments[0]);
return f.getAttribute("aria-invalid") + " " + f.getAttribute("aria-describedby")`, field)
		if want := "true " + field + "-error"; marked != want {
			t.Errorf("#%s: aria-invalid and aria-describedby %q, want %q", field, marked, want)
		}
	}
	browsertest.CheckAccessibility(b, axe, "form with errors")
	b.WantCleanConsole(browsertest.StatusEntry(form, http.StatusUnprocessableEntity))

	b.Type("#subject", "Printer on fire")
	b.Type("#description", "Smoke everywhere.")
	b.Click(`form[action="/tickets/new"] button[type=submit]`)
	b.WaitText(".notice", "Ticket #1 is created")
	if got := b.URL(); got != form+"?created=1" {
		t.Errorf("after the ticket is created the browser is at %s, want %s?created=1", got, form)
	}
	browsertest.CheckAccessibility(b, axe, "form after success")
	b.WantCleanConsole()
	if desk.count() != 1 {
		t.Errorf("%d tickets created, want 1", desk.count())
	}
}
