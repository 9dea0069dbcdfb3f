package main

import (
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"zendesk-oauth-app/internal/zendesk"
	"zendesk-oauth-app/internal/zendesksim"
)

// The recipe "Add a page" from the README: a page with the ten tickets the
// signed-in person requested most recently, from Zendesk's List Tickets
// endpoint
// (https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#list-tickets),
// which needs the scope tickets:read. In the app, the template is
// templates/tickets.html, parsed with parsePage("tickets"), the route one
// line in routes(), and the simulated endpoint one entry in simulatedAPI;
// here they live in testdata/ and in the test, so that "make test" proves
// the recipe works. recipe_form_test.go is the recipe "Add a form".

//go:embed testdata/*.html
var recipeFS embed.FS

// recipePage is parsePage for a template in testdata/.
func recipePage(name string) *page {
	t := template.Must(template.ParseFS(templateFS, "templates/layout.html"))
	return &page{name, template.Must(t.ParseFS(recipeFS, "testdata/"+name+".html"))}
}

var ticketsPage = recipePage("tickets")

// ticketsAPI is the simulated endpoint the page calls: its entry in
// simulatedAPI.
var ticketsAPI = zendesksim.API{Pattern: "GET /api/v2/users/{id}/tickets/requested.json", Resource: "tickets", Handler: recentTickets}

// ticketsView is what the page shows: the part of Zendesk's reply it uses.
type ticketsView struct {
	Tickets []struct {
		ID      int64  `json:"id"`
		Subject string `json:"subject"`
		Status  string `json:"status"`
	} `json:"tickets"`
}

// handleTickets calls Zendesk as the signed-in person. userAPI keeps the
// token fresh, and requireSignIn answers the error it returns with the
// right page.
func (a *app) handleTickets(w http.ResponseWriter, r *http.Request, api *userAPI) error {
	var view ticketsView
	path := fmt.Sprintf("/api/v2/users/%d/tickets/requested.json?sort_by=updated_at&sort_order=desc&per_page=10", api.session.UserID)
	if err := api.Get(path, &view); err != nil {
		return err
	}
	a.render(w, r, http.StatusOK, ticketsPage, view)
	return nil
}

// recentTickets is the simulator's side: the endpoint the page calls,
// for the signed-in user only, newest first.
func recentTickets(w http.ResponseWriter, r *http.Request, c zendesksim.Caller) {
	if r.PathValue("id") != strconv.FormatInt(c.User.ID, 10) {
		zendesksim.WriteJSON(w, http.StatusForbidden, map[string]string{"error": "Forbidden"})
		return
	}
	if q := r.URL.Query(); q.Get("sort_by") != "updated_at" || q.Get("sort_order") != "desc" || q.Get("per_page") != "10" {
		zendesksim.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "InvalidQuery"})
		return
	}
	zendesksim.WriteJSON(w, http.StatusOK, map[string]any{"tickets": []map[string]any{
		{"id": 42, "subject": "Printer <on fire>", "status": "open"},
		{"id": 7, "subject": "Password reset", "status": "solved"},
	}})
}

func TestRecipeRecentTickets(t *testing.T) {
	e := newEnv(t, envOptions{vars: map[string]string{"ZENDESK_SCOPES": defaultScopes + " tickets:read"}, sim: zendesksim.Options{API: []zendesksim.API{ticketsAPI}}})
	handler := withRoutes(e.app, route{"GET", "/tickets", e.app.requireSignIn(e.app.handleTickets)})
	e.serve(handler)
	b := e.browser()

	// Signed out: sign in first, then back to the page.
	resp := b.get("/tickets")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/zendesk/auth?return=%2Ftickets" {
		t.Fatalf("signed out: status %d to %q, want 303 to sign in and come back", resp.StatusCode, resp.Header.Get("Location"))
	}
	callback := b.authorize(resp.Header.Get("Location"), "allow")
	if back := b.get(callback); back.StatusCode != http.StatusSeeOther || back.Header.Get("Location") != "/tickets" {
		t.Fatalf("after sign-in: status %d to %q, want 303 to /tickets", back.StatusCode, back.Header.Get("Location"))
	}
	page := b.get("/tickets")
	mustContain(t, page.body, "Your recent tickets", "#42 Printer &lt;on fire&gt;", "(solved)", `href="/"`)
	if i, j := strings.Index(page.body, "#42"), strings.Index(page.body, "#7"); i > j {
		t.Error("tickets out of Zendesk's order")
	}
	if n := e.sim.Stats()[zendesksim.Endpoint("GET /api/v2/users/{id}/tickets/requested.json")]; n != 1 {
		t.Errorf("%d calls to the tickets endpoint, want 1", n)
	}
}

// A team adds tickets:read to the scopes: sessions from before lack it,
// Zendesk answers 403, and the person is asked once for the new scope and
// lands back on the page.
func TestRecipeNewScopeForOldSessions(t *testing.T) {
	e := newEnv(t, envOptions{sim: zendesksim.Options{API: []zendesksim.API{ticketsAPI}}})
	b := e.browser()
	b.signIn() // with the default scopes only

	// The app restarts with the new scope.
	a := withScopes(t, e, defaultScopes+" tickets:read")
	e.serve(withRoutes(a, route{"GET", "/tickets", a.requireSignIn(a.handleTickets)}))
	e.advance(2 * recentSignIn)

	resp := b.get("/tickets")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/zendesk/auth?again=1&return=%2Ftickets" {
		t.Fatalf("old session: status %d to %q, want 303 to authorize again", resp.StatusCode, resp.Header.Get("Location"))
	}
	consent := b.follow(resp) // new scopes: Zendesk asks
	mustContain(t, consent.body, "tickets:read")
	callback := b.post(consent.Request.URL.String(), url.Values{"decision": {"allow"}}).Header.Get("Location")
	page := b.follow(b.get(callback))
	mustContain(t, page.body, "#42 Printer &lt;on fire&gt;")
}

// In the many-instances mode the page to come back to survives the form
// that asks which Zendesk.
func TestRecipeReturnThroughTheInstanceForm(t *testing.T) {
	e := globalEnv(t, ticketsAPI)
	a := withScopes(t, e, defaultScopes+" tickets:read")
	e.serve(withRoutes(a, route{"GET", "/tickets", a.requireSignIn(a.handleTickets)}))
	b := e.browser()
	resp := b.get("/tickets")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/?return=%2Ftickets" {
		t.Fatalf("signed out: status %d to %q, want 303 to the instance form", resp.StatusCode, resp.Header.Get("Location"))
	}
	form := b.get(resp.Header.Get("Location"))
	mustContain(t, form.body, `<input type="hidden" name="return" value="/tickets">`)
	back := b.get(b.authorize("/zendesk/auth?subdomain=acme&return=%2Ftickets", "allow"))
	if back.Header.Get("Location") != "/tickets" {
		t.Fatalf("after sign-in: status %d to %q, want 303 to /tickets", back.StatusCode, back.Header.Get("Location"))
	}
	mustContain(t, b.get("/tickets").body, "#42 Printer")
}

// withScopes is e's app as it starts with ZENDESK_SCOPES set to scopes.
func withScopes(t *testing.T, e *env, scopes string) *app {
	t.Helper()
	cfg := *e.app.cfg
	cfg.scopes = scopes
	a, err := newApp(&cfg, e.app.log)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// The day a team adds a scope, a session from before, whose access token
// has expired meanwhile, reaches its page through one authorization, and
// never asks Zendesk to widen its grant at a refresh (the simulator
// answers that with invalid_scope, as RFC 6749 §6 says).
func TestRecipeNewScopeAfterExpiry(t *testing.T) {
	e := newEnv(t, envOptions{sim: zendesksim.Options{API: []zendesksim.API{ticketsAPI}}})
	b := e.browser()
	b.signIn()
	a := withScopes(t, e, defaultScopes+" tickets:read")
	e.serve(withRoutes(a, route{"GET", "/tickets", a.requireSignIn(a.handleTickets)}))
	e.advance(31 * time.Minute) // the access token has expired

	consent := b.follow(b.get("/tickets"))
	mustContain(t, consent.body, "tickets:read")
	page := b.follow(b.get(b.post(consent.Request.URL.String(), url.Values{"decision": {"allow"}}).Header.Get("Location")))
	mustContain(t, page.body, "Your recent tickets", "#42 Printer")
	// The sign-in revokes the pair it replaced, refreshing it first: that
	// refresh asks for no scope, as none does.
	if st := e.sim.Stats(); st[zendesksim.Authorize] != 1 || st[zendesksim.Refresh] != 1 || st[zendesksim.Revoke] != 1 {
		t.Errorf("stats %v: want one authorization, and the old pair refreshed and revoked", st)
	}
	if e.sim.LastTokenRequest().Has("scope") {
		t.Error("a refresh asked for a scope")
	}
	if s := b.session(); zendesk.MissingScopes(a.cfg.scopes, s.Scope) != "" {
		t.Errorf("the new session's scope %q lacks some of %q", s.Scope, a.cfg.scopes)
	}
}
