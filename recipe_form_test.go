package main

import (
	"crypto/rand"

	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"zendesk-oauth-app/internal/zendesk"
	"zendesk-oauth-app/internal/zendesksim"
)

// The recipe "Add a form" from the README: a form that creates a ticket
// for the signed-in person, with Zendesk's Create Ticket endpoint
// (https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#create-ticket),
// which needs the scope tickets:write. It follows POST/redirect/GET, shows
// Zendesk's word on each field next to it, and sends an Idempotency-Key
// that belongs to the rendered form, so that sending it again after a
// timeout cannot create a second ticket. In the app, the template is
// templates/new-ticket.html, the two routes two lines in routes(), and the
// simulated endpoint one entry in simulatedAPI.

var newTicketPage = recipePage("new-ticket")

// ticketForm is what the form shows.
type ticketForm struct {
	Subject, Description string
	Key                  string              // this rendering's Idempotency-Key
	Errors               map[string][]string // Zendesk's word on each field
	Error                string              // on the form as a whole
	Notice               string              // from takeDraft
	Created              int64               // the ticket just created
}

// handleTicketForm shows the form: empty, with what the person typed
// before a new authorization, or with the ticket just created.
func (a *app) handleTicketForm(w http.ResponseWriter, r *http.Request, api *userAPI) error {
	form := ticketForm{Key: rand.Text()}
	if draft, notice, ok := a.takeDraft(w, r, api.session); ok {
		form.Subject, form.Description, form.Notice = draft.Get("subject"), draft.Get("description"), notice
		form.Key = cmp.Or(draft.Get("idempotency_key"), form.Key)
	}
	form.Created, _ = strconv.ParseInt(r.URL.Query().Get("created"), 10, 64)
	a.render(w, r, http.StatusOK, newTicketPage, form)
	return nil
}

// handleCreateTicket creates the ticket and sends the browser back to the
// form's page, or shows the form again with what went wrong.
func (a *app) handleCreateTicket(w http.ResponseWriter, r *http.Request, api *userAPI) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		a.fail(w, r, problem(http.StatusBadRequest, "The form could not be read", "Please go back and send it again."), err)
		return nil
	}
	form := ticketForm{Subject: r.PostForm.Get("subject"), Description: r.PostForm.Get("description"), Key: r.PostForm.Get("idempotency_key")}
	if form.Key == "" {
		form.Key = rand.Text()
	}
	var reply struct {
		Ticket struct {
			ID int64 `json:"id"`
		} `json:"ticket"`
	}
	body := map[string]any{"ticket": map[string]any{"subject": form.Subject, "comment": map[string]string{"body": form.Description}}}
	err := api.Create("/api/v2/tickets.json", form.Key, body, &reply)
	var ze *zendesk.Error
	switch {
	case err == nil:
		http.Redirect(w, r, fmt.Sprintf("/tickets/new?created=%d", reply.Ticket.ID), http.StatusSeeOther)
		return nil
	case errors.As(err, &ze) && ze.Status == http.StatusUnprocessableEntity:
		// Zendesk's answer is final: show it, and give the corrected form
		// a new key.
		form.Errors, form.Key = ze.Fields, rand.Text()
		form.Error = "Zendesk did not create the ticket: " + cmp.Or(ze.Description, "it refused the form") + "."
		a.log.InfoContext(r.Context(), "ticket refused by Zendesk", "error", err)
		a.render(w, r, http.StatusUnprocessableEntity, newTicketPage, form)
		return nil
	case zendesk.Transient(err):
		// Maybe created, maybe not: the same key makes sending it again
		// safe.
		page := a.zendeskErrorPage(err)
		form.Error = page.Message + " Send the form again: if Zendesk created the ticket, it answers with that one instead of a second."
		a.log.WarnContext(r.Context(), "creating a ticket failed", "error", err)
		a.render(w, r, page.Status, newTicketPage, form)
		return nil
	}
	return err // requireSignIn answers it
}

// ticketDesk is the simulator's side: Create Ticket, keeping what it
// created. Zendesk's RecordInvalid names each field that is wrong. The
// simulator itself honours Idempotency-Key on this endpoint.
type ticketDesk struct {
	mu      sync.Mutex
	created []string // subjects, by ticket id - 1
}

func (d *ticketDesk) api() zendesksim.API {
	return zendesksim.API{Pattern: "POST /api/v2/tickets.json", Resource: "tickets", Handler: d.create}
}

func (d *ticketDesk) create(w http.ResponseWriter, r *http.Request, c zendesksim.Caller) {
	var req struct {
		Ticket struct {
			Subject string `json:"subject"`
			Comment struct {
				Body string `json:"body"`
			} `json:"comment"`
		} `json:"ticket"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		zendesksim.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "InvalidJSON"})
		return
	}
	details := map[string][]map[string]string{}
	if strings.TrimSpace(req.Ticket.Subject) == "" {
		details["subject"] = []map[string]string{{"description": "Subject: cannot be blank", "error": "BlankValue"}}
	}
	if strings.TrimSpace(req.Ticket.Comment.Body) == "" {
		details["description"] = []map[string]string{{"description": "Description: cannot be blank", "error": "BlankValue"}}
	}
	if len(details) > 0 {
		zendesksim.WriteJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": "RecordInvalid", "description": "Record validation errors", "details": details})
		return
	}
	d.mu.Lock()
	d.created = append(d.created, req.Ticket.Subject)
	id := len(d.created)
	d.mu.Unlock()
	zendesksim.WriteJSON(w, http.StatusCreated, map[string]any{"ticket": map[string]any{"id": id, "subject": req.Ticket.Subject, "requester_id": c.User.ID}})
}

func (d *ticketDesk) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.created)
}

// formEnv is the app with the form mounted, as routes() would list it,
// against a simulator that serves Create Ticket.
func formEnv(t *testing.T, scopes string) (*env, *ticketDesk) {
	desk := &ticketDesk{}
	e := newEnv(t, envOptions{vars: map[string]string{"ZENDESK_SCOPES": scopes}, sim: zendesksim.Options{API: []zendesksim.API{desk.api()}}})
	mountForm(e, e.app)
	return e, desk
}

func mountForm(e *env, a *app) {
	e.serve(withRoutes(a,
		route{"GET", "/tickets/new", a.requireSignIn(a.handleTicketForm)},
		route{"POST", "/tickets/new", a.requireSignIn(a.handleCreateTicket)},
	))
}

var formKey = regexp.MustCompile(`name="idempotency_key" value="([^"]+)"`)

// fillIn reads the form's page and returns its fields with the given
// values, as a browser would send them.
func fillIn(t *testing.T, page *response, subject, description string) url.Values {
	t.Helper()
	m := formKey.FindStringSubmatch(page.body)
	if m == nil {
		t.Fatalf("no Idempotency-Key in the form:\n%s", page.body)
	}
	return url.Values{"idempotency_key": {m[1]}, "subject": {subject}, "description": {description}}
}

func TestRecipeCreateTicket(t *testing.T) {
	e, desk := formEnv(t, defaultScopes+" tickets:write")
	b := e.browser()
	b.signIn()

	page := b.get("/tickets/new")
	mustContain(t, page.body, "Ask for help", `<textarea id="description"`)
	resp := b.post("/tickets/new", fillIn(t, page, "Printer <on fire>", "Smoke everywhere."))
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/tickets/new?created=1" {
		t.Fatalf("status %d to %q, want 303 to the form with the new ticket", resp.StatusCode, resp.Header.Get("Location"))
	}
	mustContain(t, b.get(resp.Header.Get("Location")).body, "Ticket #1 is created")
	if desk.count() != 1 {
		t.Errorf("%d tickets created, want 1", desk.count())
	}
	if sent := e.sim.Stats()[zendesksim.Endpoint("POST /api/v2/tickets.json")]; sent != 1 {
		t.Errorf("%d requests to Create Ticket, want 1", sent)
	}
}

// Zendesk's RecordInvalid: each field's message next to it, marked for
// assistive technology, what was typed kept, and a new key.
func TestRecipeFormErrors(t *testing.T) {
	e, desk := formEnv(t, defaultScopes+" tickets:write")
	b := e.browser()
	b.signIn()
	page := b.get("/tickets/new")
	sent := fillIn(t, page, "  ", "Smoke & mirrors")
	resp := b.post("/tickets/new", sent)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422\n%s", resp.StatusCode, resp.body)
	}
	mustContain(t, resp.body, `aria-invalid="true" aria-describedby="subject-error"`, `id="subject-error">Subject: cannot be blank`,
		"Zendesk did not create the ticket: Record validation errors.", "Smoke &amp; mirrors</textarea>")
	if strings.Contains(resp.body, `aria-describedby="description-error"`) {
		t.Error("the description is marked wrong")
	}
	if m := formKey.FindStringSubmatch(resp.body); m == nil || m[1] == sent.Get("idempotency_key") {
		t.Error("the corrected form keeps the refused one's Idempotency-Key")
	}
	assertOneLogLineFor(t, e, lastRequestID(e))
	if desk.count() != 0 {
		t.Errorf("%d tickets created, want none", desk.count())
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
func TestRecipeFormSentTwice(t *testing.T) {
	e, desk := formEnv(t, defaultScopes+" tickets:write")
	b := e.browser()
	b.signIn()
	fields := fillIn(t, b.get("/tickets/new"), "Printer on fire", "Smoke everywhere.")
	// Every answer is lost while the fault lasts: Go's transport sends a
	// request with an Idempotency-Key once more by itself when a reused
	// connection breaks.
	create := zendesksim.Endpoint("POST /api/v2/tickets.json")
	e.sim.Inject(create, zendesksim.LostReply, 0)
	lost := b.post("/tickets/new", fields)
	e.sim.Inject(create, zendesksim.NoFault, 0)
	if lost.StatusCode != http.StatusBadGateway {
		t.Errorf("the lost answer: status %d, want 502", lost.StatusCode)
	}
	mustContain(t, lost.body, "Send the form again", `value="`+fields.Get("idempotency_key")+`"`, "Printer on fire")
	assertOneLogLineFor(t, e, lastRequestID(e))

	again := b.post("/tickets/new", fillIn(t, lost, "Printer on fire", "Smoke everywhere."))
	if again.Header.Get("Location") != "/tickets/new?created=1" {
		t.Errorf("sent again: status %d to %q, want the first ticket", again.StatusCode, again.Header.Get("Location"))
	}
	if desk.count() != 1 {
		t.Errorf("%d tickets created, want 1", desk.count())
	}
}

// A team adds the form and tickets:write: a session from before lacks the
// scope, so sending the form goes through Zendesk's consent page first.
// The ticket is not created then; the form comes back with what was typed,
// and says so.
func TestRecipeFormAfterNewAuthorization(t *testing.T) {
	e, desk := formEnv(t, defaultScopes)
	b := e.browser()
	b.signIn()
	fields := fillIn(t, b.get("/tickets/new"), "Printer on fire", "Smoke everywhere.")

	a := withScopes(t, e, defaultScopes+" tickets:write") // the app restarts with the new scope
	mountForm(e, a)
	e.advance(2 * recentSignIn)
	resp := b.post("/tickets/new", fields)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/zendesk/auth?again=1&return=%2Ftickets%2Fnew" {
		t.Fatalf("status %d to %q, want 303 to authorize and come back to the form", resp.StatusCode, resp.Header.Get("Location"))
	}
	consent := b.follow(resp)
	mustContain(t, consent.body, "tickets:write") // Zendesk asks for the new scope
	callback := b.post(consent.Request.URL.String(), url.Values{"decision": {"allow"}}).Header.Get("Location")
	form := b.follow(b.get(callback))
	mustContain(t, form.body, "your form was not sent", `value="Printer on fire"`, "Smoke everywhere.</textarea>", `value="`+fields.Get("idempotency_key")+`"`)
	if desk.count() != 0 {
		t.Fatalf("%d tickets created before the person sent the form again", desk.count())
	}
	if again := b.get("/tickets/new"); strings.Contains(again.body, "not sent") {
		t.Error("the draft was shown twice")
	}

	// What does not fit a cookie is not kept, and the page says so.
	long := fillIn(t, b.get("/tickets/new"), "Long", strings.Repeat("All work and no play. ", 200))
	a = withScopes(t, e, defaultScopes+" tickets:write tickets:read") // another scope
	mountForm(e, a)
	e.advance(2 * recentSignIn)
	consent = b.follow(b.post("/tickets/new", long))
	callback = b.post(consent.Request.URL.String(), url.Values{"decision": {"allow"}}).Header.Get("Location")
	form = b.follow(b.get(callback))
	mustContain(t, form.body, "your form was not sent", "could not be kept")
	if strings.Contains(form.body, "All work") {
		t.Error("a draft too long to keep was shown")
	}
	if desk.count() != 0 {
		t.Errorf("%d tickets created", desk.count())
	}
}
