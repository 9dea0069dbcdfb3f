package main

import (
	"net/http"
	"testing"

	"zendesk-oauth-app/internal/browsertest"
	"zendesk-oauth-app/internal/zendesksim"
)

// The recipes' forms in Chromium: axe-core finds nothing to fix, empty,
// with Zendesk's field errors and after success, in the light and the dark
// colour scheme, as on the app's other pages (e2e/accessibility_test.go);
// the console stays clean but for an error page's own status. Text fields,
// a select, a radio group and a checkbox are all here. The app and the
// simulator run behind httptest on 127.0.0.1 on two ports, in a browser
// with a fresh profile. Without Chromium or axe-core the test skips, and
// fails when E2E=1.
func TestRecipeFormAccessibility(t *testing.T) {
	axe := browsertest.AxeSource(t)
	b := browsertest.Start(t).NewSession(t)
	e := pageEnv(t, olderScopes+" tickets:read tickets:write", []zendesksim.API{createTicketAPI, showTicketAPI, updateTicketAPI}, func(a *app) []route {
		return []route{
			{"GET", "/tickets/new", a.requireSignIn(a.handleTicketForm)},
			{"POST", "/tickets/new", a.requireSignIn(a.handleCreateTicket)},
			{"GET", "/tickets/{id}/comment", a.requireSignIn(a.handleCommentForm)},
			{"POST", "/tickets/{id}/comment", a.requireSignIn(a.handleAddComment)},
		}
	})
	check := func(name string, allowed ...string) {
		t.Helper()
		browsertest.CheckAccessibility(b, axe, name)
		b.WantCleanConsole(allowed...)
	}

	// Signed out, the form's address leads through Zendesk's consent page
	// and back.
	form := e.server.URL + "/tickets/new"
	b.Navigate(form)
	b.WaitURL(e.sim.URL + "/oauth/authorizations/new?")
	b.Click("#allow")
	if got := b.WaitURL(form); got != form {
		t.Fatalf("after the sign-in the browser is at %s, want %s", got, form)
	}
	b.WaitText("main h1", "Ask for help")
	check("new ticket, empty")

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
	check("new ticket, with errors", browsertest.StatusEntry(form, http.StatusUnprocessableEntity))

	b.Type("#subject", "Printer on fire")
	b.Type("#description", "Smoke everywhere.")
	b.Click(`form[action="/tickets/new"] button[type=submit]`)
	b.WaitText(".notice", "Ticket #4 is created")
	if got := b.URL(); got != form+"?created=4" {
		t.Errorf("after the ticket is created the browser is at %s, want %s?created=4", got, form)
	}
	check("new ticket, created")

	// The update form: a closed ticket refuses the comment, on its status.
	closed := e.server.URL + "/tickets/2/comment"
	b.Navigate(closed)
	b.WaitText("main h1", "Ticket #2: Invoice for May")
	check("comment, empty")
	b.Type("#comment", "Any news?")
	b.Click(`input[name=visibility][value=internal]`)
	b.Click(`input[name=urgent]`)
	b.Click(`form[action="/tickets/2/comment"] button[type=submit]`)
	b.WaitText("#status-error", "Status: closed prevents ticket update")
	check("comment, refused", browsertest.StatusEntry(closed, http.StatusUnprocessableEntity))

	open := e.server.URL + "/tickets/1/comment"
	b.Navigate(open)
	b.Type("#comment", "Unplugged it.")
	b.Click(`form[action="/tickets/1/comment"] button[type=submit]`)
	b.WaitText(".notice", "Your comment is added")
	check("comment, added")
}
