package main

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"zendesk-oauth-app/internal/zendesksim"
)

// The recipe "Add a form" for an update: a comment on a ticket, with
// Zendesk's Update Ticket
// (https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#update-ticket),
// a PUT, scope tickets:write. A PUT takes no Idempotency-Key: sending it
// again is harmless. It shows the path of one record, Zendesk's 404 for a
// ticket the person may not see, and its 422 for a closed ticket.

var commentPage = formPage{recipePage("ticket-comment"), false} // an update: no Idempotency-Key

// commentView is what the page shows besides the form: the ticket, and
// whether a comment was just added.
type commentView struct {
	Ticket struct {
		ID      int64  `json:"id"`
		Subject string `json:"subject"`
		Status  string `json:"status"`
	} `json:"ticket"`
	Added bool
}

// handleCommentForm shows the ticket and the form.
func (a *app) handleCommentForm(w http.ResponseWriter, r *http.Request, api *userAPI) error {
	var view commentView
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64) // a number: nothing else goes into Zendesk's path
	if err != nil {
		a.handleNotFound(w, r)
		return nil
	}
	if err := api.Get(fmt.Sprintf("/api/v2/tickets/%d.json", id), &view); err != nil {
		return err
	}
	view.Added = r.URL.Query().Has("added")
	return a.showForm(w, r, api, commentPage, view)
}

// handleAddComment adds the comment, and sets the status and the
// priority if the person chose them.
func (a *app) handleAddComment(w http.ResponseWriter, r *http.Request, api *userAPI) error {
	var view commentView
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		a.handleNotFound(w, r)
		return nil
	}
	view.Ticket.ID = id
	return a.postForm(w, r, api, commentPage, view, func(form url.Values, _ string) (string, error) {
		ticket := map[string]any{"comment": map[string]any{"body": form.Get("comment"), "public": form.Get("visibility") == "public"}}
		if status := form.Get("status"); status != "" {
			ticket["status"] = status
		}
		if form.Get("urgent") != "" {
			ticket["priority"] = "urgent"
		}
		err := api.Put(fmt.Sprintf("/api/v2/tickets/%d.json", id), map[string]any{"ticket": ticket}, nil)
		return fmt.Sprintf("/tickets/%d/comment?added", id), err
	})
}

// The simulator's side, two entries in simulatedAPI: Show Ticket and
// Update Ticket, whose rules the simulator's store keeps (agents only; a
// ticket the person may not see is 404; a closed one refuses updates with
// 422 on status). A blank comment refused on "comment" is the recipe's
// rule; Zendesk's own answer to one is not documented.
var (
	showTicketAPI = zendesksim.API{Pattern: "GET /api/v2/tickets/{id}.json", Resource: "tickets",
		Handler: func(w http.ResponseWriter, r *http.Request, c zendesksim.Caller) {
			id, err := zendesksim.PathID(r, "id")
			var t zendesksim.Ticket
			if err == nil {
				t, err = c.ShowTicket(id)
			}
			if err != nil {
				zendesksim.WriteError(w, err)
				return
			}
			zendesksim.WriteJSON(w, http.StatusOK, map[string]any{"ticket": t})
		},
	}
	updateTicketAPI = zendesksim.API{Pattern: "PUT /api/v2/tickets/{id}.json", Resource: "tickets",
		Handler: func(w http.ResponseWriter, r *http.Request, c zendesksim.Caller) {
			var req struct {
				Ticket struct {
					Status, Priority string
					Comment          zendesksim.Comment
				}
			}
			id, err := zendesksim.PathID(r, "id")
			if err == nil {
				err = zendesksim.ReadJSON(w, r, &req)
			}
			var t zendesksim.Ticket
			if err == nil {
				t, err = c.UpdateTicket(id, func(t *zendesksim.Ticket) error {
					if strings.TrimSpace(req.Ticket.Comment.Body) == "" {
						return zendesksim.Invalid("comment", "Comment: cannot be blank", "BlankValue")
					}
					t.Status = cmp.Or(req.Ticket.Status, t.Status)
					t.Priority = cmp.Or(req.Ticket.Priority, t.Priority)
					t.Comments = append(t.Comments, zendesksim.Comment{Body: req.Ticket.Comment.Body, Public: req.Ticket.Comment.Public})
					return nil
				})
			}
			if err != nil {
				zendesksim.WriteError(w, err)
				return
			}
			zendesksim.WriteJSON(w, http.StatusOK, map[string]any{"ticket": t})
		},
	}
)

// commentEnv is the app with the comment form, asking for scopes.
func commentEnv(t *testing.T, scopes string) *env {
	return pageEnv(t, scopes, []zendesksim.API{showTicketAPI, updateTicketAPI}, func(a *app) []route {
		return []route{
			{"GET", "/tickets/{id}/comment", a.requireSignIn(a.handleCommentForm)},
			{"POST", "/tickets/{id}/comment", a.requireSignIn(a.handleAddComment)},
		}
	})
}

func TestRecipeAddComment(t *testing.T) {
	e := commentEnv(t, olderScopes+" tickets:read tickets:write")
	b := e.browser()
	b.signIn()
	page := b.get("/tickets/1/comment")
	mustContain(t, page.body, "Ticket #1: The printer is on fire", `<select id="status" name="status"`, `type="radio" name="visibility" value="public"`)
	if strings.Contains(page.body, "idempotency_key") {
		t.Error("an update's form carries an Idempotency-Key")
	}
	resp := b.post("/tickets/3/comment", url.Values{"comment": {"Unplugged it."}, "visibility": {"internal"}, "status": {"open"}, "urgent": {"yes"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/tickets/3/comment?added" {
		t.Fatalf("status %d to %q, want 303 to the ticket's page", resp.StatusCode, resp.Header.Get("Location"))
	}
	mustContain(t, b.get(resp.Header.Get("Location")).body, "Your comment is added", "(open)")
	ticket := e.sim.Tickets()[2]
	if last := ticket.Comments[len(ticket.Comments)-1]; last.Body != "Unplugged it." || last.Public || last.AuthorID != 1 || ticket.Status != "open" || ticket.Priority != "urgent" {
		t.Errorf("the ticket: %+v, last comment %+v", ticket, last)
	}
}

// A closed ticket: Zendesk's 422 on status, next to the status field,
// with what was typed. A ticket that does not exist, or that the person
// may not see: the form page says Zendesk has no such ticket. An id that
// is not a number never reaches Zendesk.
func TestRecipeCommentRefused(t *testing.T) {
	e := commentEnv(t, olderScopes+" tickets:read tickets:write")
	b := e.browser()
	b.signIn()
	closed := b.post("/tickets/2/comment", url.Values{"comment": {"Any news?"}, "visibility": {"public"}})
	if closed.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("a closed ticket: status %d, want 422\n%s", closed.StatusCode, closed.body)
	}
	mustContain(t, closed.body, `id="status-error">Status: closed prevents ticket update`, `aria-describedby="status-error"`, "Any news?</textarea>")

	missing := b.post("/tickets/99/comment", url.Values{"comment": {"Hello?"}})
	if missing.StatusCode != http.StatusNotFound {
		t.Errorf("a missing ticket: status %d, want 404", missing.StatusCode)
	}
	mustContain(t, missing.body, "Zendesk has no such record", "Hello?</textarea>")
	if page := b.get("/tickets/99/comment"); page.StatusCode != http.StatusNotFound {
		t.Errorf("the form of a missing ticket: status %d, want 404", page.StatusCode)
	}
	before := e.sim.Stats()
	for _, target := range []string{"/tickets/..%2Fusers/comment", "/tickets/1%3Fx/comment", "/tickets/-1x/comment"} {
		if page := b.get(target); page.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", target, page.StatusCode)
		}
	}
	if after := e.sim.Stats(); zendeskRequests(after) != zendeskRequests(before) {
		t.Errorf("an id that is not a number reached Zendesk: %v", after)
	}
}

// An end user may not update a ticket: the form says what Zendesk
// refused, with what was typed, and the person stays signed in.
func TestRecipeCommentForAnEndUser(t *testing.T) {
	e := commentEnv(t, olderScopes+" tickets:read tickets:write")
	b := e.browser()
	b.get(b.authorizeAs("/zendesk/auth", "allow", 2)) // Jane Roe, an end user
	resp := b.post("/tickets/3/comment", url.Values{"comment": {"It works now."}, "visibility": {"public"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("status %d, want 403", resp.StatusCode)
	}
	mustContain(t, resp.body, "Zendesk refused this to your account", "It works now.</textarea>")
	if st := e.sim.Stats(); st[zendesksim.Authorize] != 0 || st[zendesksim.Exchange] != 1 {
		t.Errorf("stats %v: want the sign-in's exchange, and no authorization after it", st)
	}
}
