package main

import (
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"zendesk-oauth-app/internal/zendesk"
	"zendesk-oauth-app/internal/zendesksim"
)

// The recipe "Add a page" from the README: the ten tickets the signed-in
// person asked for most recently, from Zendesk's List Tickets
// (https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#list-tickets),
// with the scope tickets:read. In the app the template is
// templates/tickets.html, parsed with parsePage; the route is one line in
// routes(), the scope one in defaultScopes, and the simulated endpoint one
// entry in simulatedAPI. Here they live in testdata/ and in this file, so
// that "make test" proves the recipe. recipe_form_test.go and
// recipe_update_test.go are the recipes "Add a form".

//go:embed testdata/*.html
var recipeFS embed.FS

// recipePage is parsePage for a template in testdata/.
func recipePage(name string) *page {
	t := template.Must(template.ParseFS(templateFS, "templates/layout.html"))
	return &page{name, template.Must(t.ParseFS(recipeFS, "testdata/"+name+".html"))}
}

var ticketsPage = recipePage("tickets")

// ticketsView is what the page shows: the part of Zendesk's reply it uses.
type ticketsView struct {
	Tickets []struct {
		ID      int64  `json:"id"`
		Subject string `json:"subject"`
		Status  string `json:"status"`
	} `json:"tickets"`
}

// handleTickets calls Zendesk as the signed-in person: userAPI keeps the
// token fresh, and requireSignIn answers the error it returns.
func (a *app) handleTickets(w http.ResponseWriter, r *http.Request, api *userAPI) error {
	var view ticketsView
	path := fmt.Sprintf("/api/v2/users/%d/tickets/requested.json?sort_by=updated_at&sort_order=desc&per_page=10", api.session.UserID)
	if err := api.Get(path, &view); err != nil {
		return err
	}
	a.render(w, r, http.StatusOK, ticketsPage, view)
	return nil
}

// requestedTicketsAPI is the simulator's side, the entry in simulatedAPI:
// a user's requested tickets, newest first. Agents only, as Zendesk's
// Tickets API is; the simulator answers end users with the role 403.
var requestedTicketsAPI = zendesksim.API{Pattern: "GET /api/v2/users/{id}/tickets/requested.json", Resource: "tickets",
	Handler: func(w http.ResponseWriter, r *http.Request, c zendesksim.Caller) {
		id, err := zendesksim.PathID(r, "id")
		var all []zendesksim.Ticket
		if err == nil {
			all, err = c.ListTickets()
		}
		if err != nil {
			zendesksim.WriteError(w, err)
			return
		}
		requested := slices.DeleteFunc(all, func(t zendesksim.Ticket) bool { return t.RequesterID != id })
		slices.SortStableFunc(requested, func(a, b zendesksim.Ticket) int { return b.UpdatedAt.Compare(a.UpdatedAt) })
		zendesksim.WriteJSON(w, http.StatusOK, map[string]any{"tickets": requested[:min(len(requested), 10)]})
	},
}

// ticketsEnv is the app with the page, against a Zendesk with the tickets
// the page shows.
func ticketsEnv(t *testing.T, scopes string) *env {
	t.Helper()
	return pageEnv(t, scopes, []zendesksim.API{requestedTicketsAPI}, func(a *app) []route {
		return []route{{"GET", "/tickets", a.requireSignIn(a.handleTickets)}}
	})
}

func TestRecipeRecentTickets(t *testing.T) {
	e := ticketsEnv(t, olderScopes+" tickets:read")
	b := e.browser()

	// Signed out: sign in first, then back to the page.
	resp := b.get("/tickets")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/zendesk/auth?return=%2Ftickets" {
		t.Fatalf("signed out: status %d to %q, want 303 to sign in and come back", resp.StatusCode, resp.Header.Get("Location"))
	}
	page := b.follow(b.get(b.authorize(resp.Header.Get("Location"), "allow")))
	mustContain(t, page.body, "Your recent tickets", "#1 The printer is on fire", "#2 Invoice for May", "(closed)", `href="/"`)
	if strings.Contains(page.body, "help centre") {
		t.Error("the page shows a ticket someone else asked for")
	}
	if n := e.sim.Stats()[zendesksim.Endpoint(requestedTicketsAPI.Pattern)]; n != 1 {
		t.Errorf("%d calls to the tickets endpoint, want 1", n)
	}
}

// What Zendesk says goes on the page as text, never as markup.
func TestRecipePageEscapes(t *testing.T) {
	e := newEnv(t, envOptions{vars: map[string]string{"ZENDESK_SCOPES": olderScopes + " tickets:read"}, sim: zendesksim.Options{
		API:     []zendesksim.API{requestedTicketsAPI},
		Users:   zendesksim.DefaultUsers(),
		Tickets: []zendesksim.Ticket{{ID: 1, Subject: "Printer <script>alert(1)</script>", RequesterID: 1, Comments: []zendesksim.Comment{{Body: "Smoke.", Public: true}}}},
	}})
	e.serve(withRoutes(e.app, route{"GET", "/tickets", e.app.requireSignIn(e.app.handleTickets)}))
	b := e.browser()
	b.signIn()
	mustContain(t, b.get("/tickets").body, "Printer &lt;script&gt;alert(1)&lt;/script&gt;")
}

// An end user may not list tickets (the Tickets API is for agents): the
// page says their account may not, with no trip through Zendesk, and they
// stay signed in.
func TestRecipePageForAnEndUser(t *testing.T) {
	e := ticketsEnv(t, olderScopes+" tickets:read")
	b := e.browser()
	b.get(b.authorizeAs("/zendesk/auth", "allow", 2)) // Jane Roe, an end user
	page := b.follow(b.get("/tickets"))
	if page.StatusCode != http.StatusForbidden {
		t.Fatalf("status %d, want 403", page.StatusCode)
	}
	mustContain(t, page.body, "Your Zendesk account may not do this")
	mustContain(t, b.get("/").body, "Hi, Jane Roe!", "end-user")
	if st := e.sim.Stats(); st[zendesksim.Authorize] != 0 || st[zendesksim.Exchange] != 1 {
		t.Errorf("stats %v: want the sign-in's exchange, and no authorization after it", st)
	}
}

// A team adds tickets:read to the scopes: sessions from before lack it,
// and the person is asked once for the new scope and lands on the page.
func TestRecipeNewScopeForOldSessions(t *testing.T) {
	e := ticketsEnv(t, olderScopes)
	b := e.browser()
	b.signIn()
	e.restart(olderScopes + " tickets:read")
	e.advance(2 * recentSignIn)

	resp := b.get("/tickets")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/zendesk/auth?again=1&return=%2Ftickets" {
		t.Fatalf("old session: status %d to %q, want 303 to authorize again", resp.StatusCode, resp.Header.Get("Location"))
	}
	mustContain(t, b.follow(resp).body, "tickets:read") // new scopes: Zendesk asks
	mustContain(t, b.allowAgain(resp).body, "#1 The printer is on fire")
}

// In the many-instances mode the page to come back to survives the form
// that asks which Zendesk.
func TestRecipeReturnThroughTheInstanceForm(t *testing.T) {
	e := newEnv(t, envOptions{vars: map[string]string{"ZENDESK_SUBDOMAIN": "", "ZENDESK_SCOPES": olderScopes + " tickets:read"},
		sim: zendesksim.Options{API: []zendesksim.API{requestedTicketsAPI}}})
	e.serve(withRoutes(e.app, route{"GET", "/tickets", e.app.requireSignIn(e.app.handleTickets)}))
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
	mustContain(t, b.get("/tickets").body, "#1 The printer is on fire")
}

// The day a team adds a scope, a session from before, whose access token
// has expired meanwhile, reaches its page through one authorization, and
// never asks Zendesk to widen its grant at a refresh (the simulator
// answers that with invalid_scope, as RFC 6749 §6 says).
func TestRecipeNewScopeAfterExpiry(t *testing.T) {
	e := ticketsEnv(t, olderScopes)
	b := e.browser()
	b.signIn()
	a := e.restart(olderScopes + " tickets:read")
	e.advance(31 * time.Minute) // the access token has expired

	page := b.allowAgain(b.get("/tickets"))
	mustContain(t, page.body, "Your recent tickets", "#1 The printer is on fire")
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
