package main

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"zendesk-oauth-app/internal/zendesksim"
)

// The recipe "Add a form" from the README: a form that creates a ticket
// for the signed-in person with Zendesk's Create Ticket
// (https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#create-ticket),
// scope tickets:write. postForm (form.go) does what every form needs; the
// recipe is what is its own: the fields it sends, and where a created
// ticket leads. In the app the template is templates/new-ticket.html, the
// two routes two lines in routes(), the scope one in defaultScopes, and
// the simulated endpoint one entry in simulatedAPI.

var newTicketPage = formPage{recipePage("new-ticket"), true} // a create: each form carries an Idempotency-Key

// handleTicketForm shows the form, and the ticket just created.
func (a *app) handleTicketForm(w http.ResponseWriter, r *http.Request, api *userAPI) error {
	created, _ := strconv.ParseInt(r.URL.Query().Get("created"), 10, 64)
	return a.showForm(w, r, api, newTicketPage, created)
}

// handleCreateTicket sends the form to Zendesk, and back to the form's
// page with the new ticket.
func (a *app) handleCreateTicket(w http.ResponseWriter, r *http.Request, api *userAPI) error {
	return a.postForm(w, r, api, newTicketPage, nil, func(form url.Values, key string) (string, error) {
		ticket := map[string]any{"subject": form.Get("subject"), "comment": map[string]string{"body": form.Get("description")}}
		var reply struct {
			Ticket struct {
				ID int64 `json:"id"`
			} `json:"ticket"`
		}
		err := api.Create("/api/v2/tickets.json", key, map[string]any{"ticket": ticket}, &reply)
		return fmt.Sprintf("/tickets/new?created=%d", reply.Ticket.ID), err
	})
}

// createTicketAPI is the simulator's side, the entry in simulatedAPI:
// Create Ticket, whose rules the simulator's store keeps (agents only; the
// simulator honours Idempotency-Key here). Zendesk's RecordInvalid names
// each field that is wrong; that this form's subject may not be blank is
// the recipe's rule.
var createTicketAPI = zendesksim.API{Pattern: "POST /api/v2/tickets.json", Resource: "tickets",
	Handler: func(w http.ResponseWriter, r *http.Request, c zendesksim.Caller) {
		var req struct {
			Ticket struct {
				Subject string
				Comment struct{ Body string }
			}
		}
		if err := zendesksim.ReadJSON(w, r, &req); err != nil {
			zendesksim.WriteError(w, err)
			return
		}
		invalid := &zendesksim.Error{Status: http.StatusUnprocessableEntity, Code: "RecordInvalid", Description: "Record validation errors", Details: map[string][]zendesksim.FieldError{}}
		if strings.TrimSpace(req.Ticket.Subject) == "" {
			invalid.Details["subject"] = []zendesksim.FieldError{{Description: "Subject: cannot be blank", Code: "BlankValue"}}
		}
		if strings.TrimSpace(req.Ticket.Comment.Body) == "" {
			invalid.Details["description"] = []zendesksim.FieldError{{Description: "Description: cannot be blank", Code: "BlankValue"}}
		}
		if len(invalid.Details) > 0 {
			zendesksim.WriteError(w, invalid)
			return
		}
		t, err := c.CreateTicket(zendesksim.Ticket{Subject: req.Ticket.Subject, Comments: []zendesksim.Comment{{Body: req.Ticket.Comment.Body, Public: true}}})
		if err != nil {
			zendesksim.WriteError(w, err)
			return
		}
		zendesksim.WriteJSON(w, http.StatusCreated, map[string]any{"ticket": t})
	},
}

// newTicketEnv is the app with the form, asking for scopes.
func newTicketEnv(t *testing.T, scopes string) *env {
	return pageEnv(t, scopes, []zendesksim.API{createTicketAPI}, func(a *app) []route {
		return []route{
			{"GET", "/tickets/new", a.requireSignIn(a.handleTicketForm)},
			{"POST", "/tickets/new", a.requireSignIn(a.handleCreateTicket)},
		}
	})
}

var idempotencyKeyField = regexp.MustCompile(`name="idempotency_key" value="([^"]+)"`)

// fillIn reads the form's page and returns its fields with the given
// values, as a browser would send them.
func fillIn(t *testing.T, page *response, subject, description string) url.Values {
	t.Helper()
	m := idempotencyKeyField.FindStringSubmatch(page.body)
	if m == nil {
		t.Fatalf("no Idempotency-Key in the form:\n%s", page.body)
	}
	return url.Values{"idempotency_key": {m[1]}, "subject": {subject}, "description": {description}}
}

// createdTickets are the tickets the form created: those after the
// simulator's three.
func createdTickets(e *env) []zendesksim.Ticket {
	return e.sim.Tickets()[len(zendesksim.DefaultTickets()):]
}

func TestRecipeCreateTicket(t *testing.T) {
	e := newTicketEnv(t, olderScopes+" tickets:write")
	b := e.browser()
	b.signIn()

	page := b.get("/tickets/new")
	mustContain(t, page.body, "Ask for help", `<textarea id="description"`)
	resp := b.post("/tickets/new", fillIn(t, page, "Printer <on fire>", "Smoke everywhere."))
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/tickets/new?created=4" {
		t.Fatalf("status %d to %q, want 303 to the form with the new ticket", resp.StatusCode, resp.Header.Get("Location"))
	}
	mustContain(t, b.get(resp.Header.Get("Location")).body, "Ticket #4 is created")
	if got := createdTickets(e); len(got) != 1 || got[0].Subject != "Printer <on fire>" || got[0].RequesterID != 1 {
		t.Errorf("created %+v, want one ticket of John Doe's", got)
	}
}

// Zendesk's RecordInvalid: each field's message next to it, marked for
// assistive technology, what was typed kept, and a new key.
func TestRecipeFormErrors(t *testing.T) {
	e := newTicketEnv(t, olderScopes+" tickets:write")
	b := e.browser()
	b.signIn()
	sent := fillIn(t, b.get("/tickets/new"), "  ", "Smoke & mirrors")
	resp := b.post("/tickets/new", sent)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422\n%s", resp.StatusCode, resp.body)
	}
	mustContain(t, resp.body, `aria-invalid="true" aria-describedby="subject-error"`, `id="subject-error">Subject: cannot be blank`,
		"Zendesk did not save it: Record validation errors.", "Smoke &amp; mirrors</textarea>")
	if strings.Contains(resp.body, `aria-describedby="description-error"`) {
		t.Error("the description is marked wrong")
	}
	if m := idempotencyKeyField.FindStringSubmatch(resp.body); m == nil || m[1] == sent.Get("idempotency_key") {
		t.Error("the corrected form keeps the refused one's Idempotency-Key")
	}
	assertOneLogLineFor(t, e, lastRequestID(e))
	if got := createdTickets(e); len(got) != 0 {
		t.Errorf("created %d tickets, want none", len(got))
	}
}

// lastRequestID is the request id of the app's last request log line.
func lastRequestID(e *env) string {
	lines := strings.Split(strings.TrimSpace(e.logs.String()), "\n")
	_, id, _ := strings.Cut(lines[len(lines)-1], "request_id=")
	return id
}

// Zendesk creates the ticket, and its answer is lost. The form says so,
// keeps its key, and sending it again gets the same ticket, not a second.
// A key that is no valid header value (typed into a copy of the form) is
// replaced, never sent.
func TestRecipeFormSentTwice(t *testing.T) {
	e := newTicketEnv(t, olderScopes+" tickets:write")
	b := e.browser()
	b.signIn()
	fields := fillIn(t, b.get("/tickets/new"), "Printer on fire", "Smoke everywhere.")
	// Every answer is lost while the fault lasts: Go's transport sends a
	// request with an Idempotency-Key once more by itself when a reused
	// connection breaks.
	create := zendesksim.Endpoint(createTicketAPI.Pattern)
	e.sim.Inject(create, zendesksim.LostReply, 0)
	lost := b.post("/tickets/new", fields)
	e.sim.Inject(create, zendesksim.NoFault, 0)
	if lost.StatusCode != http.StatusBadGateway {
		t.Errorf("the lost answer: status %d, want 502", lost.StatusCode)
	}
	mustContain(t, lost.body, "Send the form again", `value="`+fields.Get("idempotency_key")+`"`, "Printer on fire")
	assertOneLogLineFor(t, e, lastRequestID(e))

	again := b.post("/tickets/new", fillIn(t, lost, "Printer on fire", "Smoke everywhere."))
	if again.Header.Get("Location") != "/tickets/new?created=4" {
		t.Errorf("sent again: status %d to %q, want the first ticket", again.StatusCode, again.Header.Get("Location"))
	}
	if got := createdTickets(e); len(got) != 1 {
		t.Errorf("created %d tickets, want 1", len(got))
	}

	bad := fillIn(t, b.get("/tickets/new"), "Another", "One more.")
	bad.Set("idempotency_key", "key\r\nX-Injected: 1")
	if resp := b.post("/tickets/new", bad); resp.Header.Get("Location") != "/tickets/new?created=5" {
		t.Errorf("a bad key: status %d to %q, want a new ticket", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// Zendesk busy: the form again, with what was typed, the same key, and
// Zendesk's Retry-After, whatever shape its 429 takes.
func TestRecipeFormWhenZendeskIsBusy(t *testing.T) {
	for _, fault := range []zendesksim.Fault{zendesksim.RateLimited, zendesksim.RateLimitedJSON, zendesksim.RateLimitedNoRetryAfter} {
		e := newTicketEnv(t, olderScopes+" tickets:write")
		b := e.browser()
		b.signIn()
		fields := fillIn(t, b.get("/tickets/new"), "Printer on fire", "Smoke everywhere.")
		e.sim.Inject(zendesksim.Endpoint(createTicketAPI.Pattern), fault, 1)
		busy := b.post("/tickets/new", fields)
		if busy.StatusCode != http.StatusServiceUnavailable || busy.Header.Get("Retry-After") == "" {
			t.Errorf("fault %d: status %d, Retry-After %q: want 503 with a wait", fault, busy.StatusCode, busy.Header.Get("Retry-After"))
		}
		mustContain(t, busy.body, "Zendesk asked the app to slow down", `value="`+fields.Get("idempotency_key")+`"`, "Smoke everywhere.</textarea>")
	}
}

// An end user may not use the Tickets API: the form says what Zendesk
// refused, with what was typed, with no trip through Zendesk, and the
// person stays signed in.
func TestRecipeFormForAnEndUser(t *testing.T) {
	e := newTicketEnv(t, olderScopes+" tickets:write")
	b := e.browser()
	b.get(b.authorizeAs("/zendesk/auth", "allow", 2)) // Jane Roe, an end user
	resp := b.post("/tickets/new", fillIn(t, b.get("/tickets/new"), "Help", "Please."))
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("status %d to %q, want 403 on the form", resp.StatusCode, resp.Header.Get("Location"))
	}
	mustContain(t, resp.body, "Ask for help", "Zendesk refused this to your account", `value="Help"`, "Please.</textarea>")
	if st := e.sim.Stats(); st[zendesksim.Authorize] != 0 || len(createdTickets(e)) != 0 {
		t.Errorf("stats %v, %d tickets: want no new authorization and no ticket", st, len(createdTickets(e)))
	}
}

// A team adds the form and tickets:write: a session from before lacks the
// scope, so sending the form goes through Zendesk's consent page first.
// The ticket is not created then; the form comes back with what was typed,
// and says so; once, and only to this person.
func TestRecipeFormAfterNewAuthorization(t *testing.T) {
	e := newTicketEnv(t, olderScopes)
	b := e.browser()
	b.signIn()
	fields := fillIn(t, b.get("/tickets/new"), "Printer on fire", "Smoke everywhere.")

	e.restart(olderScopes + " tickets:write")
	e.advance(2 * recentSignIn)
	resp := b.post("/tickets/new", fields)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/zendesk/auth?again=1&return=%2Ftickets%2Fnew" {
		t.Fatalf("status %d to %q, want 303 to authorize and come back to the form", resp.StatusCode, resp.Header.Get("Location"))
	}
	mustContain(t, b.follow(resp).body, "tickets:write") // Zendesk asks for the new scope
	form := b.allowAgain(resp)
	mustContain(t, form.body, "your form was not sent", `value="Printer on fire"`, "Smoke everywhere.</textarea>", `value="`+fields.Get("idempotency_key")+`"`)
	if len(createdTickets(e)) != 0 {
		t.Fatal("a ticket was created before the person sent the form again")
	}
	if again := b.get("/tickets/new"); strings.Contains(again.body, "not sent") {
		t.Error("the draft was shown twice")
	}
}

// What was typed stays with its person: a draft is not shown after a
// sign-out, nor to another person; one that cannot fit one cookie sealed
// (JSON makes each < six bytes) is not kept, and the page says so.
func TestRecipeDraftStaysWithItsPerson(t *testing.T) {
	e := newTicketEnv(t, olderScopes+" tickets:write")
	// keepADraft sends the form when a new authorization must come first
	// (an admin deleted the app's tokens), and returns the app's redirect.
	keepADraft := func(b *browser, description string) *response {
		t.Helper()
		fields := fillIn(t, b.get("/tickets/new"), "Private", description)
		e.sim.DeleteClientTokens("test-client")
		e.advance(2 * recentSignIn)
		resp := b.post("/tickets/new", fields)
		if resp.StatusCode != http.StatusSeeOther || b.cookie("draft") == nil {
			t.Fatalf("status %d, draft %v: want 303 to authorize, and the draft kept", resp.StatusCode, b.cookie("draft"))
		}
		return resp
	}

	b := e.browser()
	b.signIn()
	keepADraft(b, "My salary is 100.")
	if resp := b.post("/zendesk/logout", nil); resp.StatusCode != http.StatusSeeOther || b.cookie("draft") != nil {
		t.Errorf("sign-out: status %d, draft %v: want the draft cleared", resp.StatusCode, b.cookie("draft"))
	}
	b.get(b.authorize("/zendesk/auth", "allow"))
	if strings.Contains(b.get("/tickets/new").body, "salary") {
		t.Error("the draft outlived the sign-out")
	}

	keepADraft(b, "My salary is 200.")
	other := e.browser() // the next person on the same computer
	other.client.Jar.SetCookies(mustParse(e.server.URL), []*http.Cookie{b.cookie("draft")})
	other.get(other.authorizeAs("/zendesk/auth", "allow", 2))
	if page := other.get("/tickets/new"); strings.Contains(page.body, "salary") || strings.Contains(page.body, "not sent") {
		t.Error("another person saw the draft")
	}

	b = e.browser()
	b.signIn()
	resp := keepADraft(b, strings.Repeat("<", 650)) // 650 bytes posted, 3,900 as JSON
	if c := b.cookie("draft"); len(c.Name)+1+len(c.Value) > 4000 || b.cookie("draft.1") != nil {
		t.Errorf("the draft takes more than one cookie: %d bytes", len(c.Value))
	}
	form := b.allowAgain(resp)
	mustContain(t, form.body, "Ask for help", "could not be kept")
	if strings.Contains(form.body, "&lt;&lt;&lt;") {
		t.Error("a draft too long to keep was shown")
	}
}
