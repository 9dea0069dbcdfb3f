package zendesksim

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Ticket is a ticket of the simulated account. Its JSON is the ticket
// object of Zendesk's Tickets API:
// https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#json-format
type Ticket struct {
	// ID is assigned by the account when a ticket is created.
	ID      int64
	Subject string
	// Status is "new", "open", "pending", "hold", "solved" or "closed";
	// "" means "new" when the ticket is created.
	Status string
	// Priority is "", "low", "normal", "high" or "urgent".
	Priority string
	// RequesterID is the user who asked; 0 at creation means the caller.
	RequesterID int64
	// Comments are the ticket's conversation, oldest first; the first is
	// the ticket's description.
	Comments []Comment
	// CreatedAt and UpdatedAt are set by the account.
	CreatedAt, UpdatedAt time.Time
}

// Comment is one comment of a ticket, as List Comments answers it:
// https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_comments/
type Comment struct {
	// AuthorID is who wrote it; 0 when a caller adds it means the caller.
	AuthorID int64  `json:"author_id"`
	Body     string `json:"body"`
	// Public is false for an internal note, which end users never see.
	Public bool `json:"public"`
}

// The ticket statuses and priorities:
// https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#json-format
var (
	statuses   = []string{"new", "open", "pending", "hold", "solved", "closed"}
	priorities = []string{"", "low", "normal", "high", "urgent"}
)

// DefaultTickets returns the tickets of an account whose Options.Users and
// Options.Tickets are both nil: two requested by John Doe, one of them
// closed, and one by Jane Roe, so that the demo has something to show.
func DefaultTickets() []Ticket {
	return []Ticket{
		{ID: 1, Subject: "The printer is on fire", Status: "open", Priority: "urgent", RequesterID: 1,
			Comments: []Comment{{AuthorID: 1, Body: "Smoke is coming out of the printer on the second floor.", Public: true}}},
		{ID: 2, Subject: "Invoice for May", Status: "closed", Priority: "normal", RequesterID: 1,
			Comments: []Comment{
				{AuthorID: 1, Body: "Could you send the invoice for May again?", Public: true},
				{AuthorID: 1, Body: "Found it, thank you.", Public: true},
			}},
		{ID: 3, Subject: "Cannot sign in to the help centre", Status: "pending", Priority: "high", RequesterID: 2,
			Comments: []Comment{
				{AuthorID: 2, Body: "The help centre says my password is wrong.", Public: true},
				{AuthorID: 1, Body: "Which browser do you use?", Public: true},
			}},
	}
}

// MarshalJSON writes t as Zendesk's ticket object: id, subject,
// description (the first comment), status, priority (null if none),
// requester_id, created_at and updated_at.
func (t Ticket) MarshalJSON() ([]byte, error) {
	var priority, description any
	if t.Priority != "" {
		priority = t.Priority
	}
	if len(t.Comments) > 0 {
		description = t.Comments[0].Body
	}
	return json.Marshal(map[string]any{
		"id": t.ID, "subject": t.Subject, "description": description, "status": t.Status, "priority": priority,
		"requester_id": t.RequesterID, "created_at": timestamp(t.CreatedAt), "updated_at": timestamp(t.UpdatedAt),
	})
}

// timestamp writes t as Zendesk does, ISO 8601 in UTC to the second.
func timestamp(t time.Time) string {
	return t.UTC().Format(time.RFC3339)
}

// clone returns a copy of t that shares nothing with it.
func (t Ticket) clone() Ticket {
	t.Comments = slices.Clone(t.Comments)
	return t
}

// fill gives a seeded ticket what the account would have given it: status
// "new", comments by the requester, and the time it was made.
func (t *Ticket) fill(now time.Time) {
	if t.Status == "" {
		t.Status = "new"
	}
	for i := range t.Comments {
		if t.Comments[i].AuthorID == 0 {
			t.Comments[i].AuthorID = t.RequesterID
		}
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = now
	}
	if t.UpdatedAt.IsZero() {
		t.UpdatedAt = t.CreatedAt
	}
}

// checkTickets panics unless tickets is a valid list for Options.Tickets:
// ids positive and unique, requesters and comment authors among users,
// status and priority known.
func checkTickets(tickets []Ticket, users []User) {
	seen := map[int64]bool{}
	isUser := func(id int64) bool { return slices.ContainsFunc(users, func(u User) bool { return u.ID == id }) }
	for _, t := range tickets {
		bad := func(what string) {
			panic(fmt.Sprintf("zendesksim: Options.Tickets: ticket %d: %s", t.ID, what))
		}
		switch {
		case t.ID <= 0 || seen[t.ID]:
			bad("the id is not positive or not unique")
		case !isUser(t.RequesterID):
			bad("the requester is not one of Options.Users")
		case t.Status != "" && !slices.Contains(statuses, t.Status), !slices.Contains(priorities, t.Priority):
			bad("the status or priority is not Zendesk's")
		}
		for _, c := range t.Comments {
			if c.AuthorID != 0 && !isUser(c.AuthorID) {
				bad("a comment's author is not one of Options.Users")
			}
		}
		seen[t.ID] = true
	}
}

// Who may see and change tickets. Agents and admins see every ticket; an
// end user sees only the tickets they requested, through the Requests API
// (the Tickets API itself refuses end users: see serveAPI). A ticket the
// caller may not see is answered as one that does not exist, 404
// RecordNotFound:
// https://developer.zendesk.com/api-reference/ticketing/tickets/ticket-requests/
// https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/

// visible reports whether caller may see t.
func visible(caller User, t *Ticket) bool {
	return caller.Role != roleEndUser || t.RequesterID == caller.ID
}

// listTickets returns the tickets caller may see, by id.
func (st *store) listTickets(caller User) []Ticket {
	st.mu.Lock()
	defer st.mu.Unlock()
	var out []Ticket
	for _, t := range st.tickets {
		if visible(caller, t) {
			out = append(out, t.clone())
		}
	}
	slices.SortFunc(out, func(a, b Ticket) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// allTickets returns every ticket, by id.
func (st *store) allTickets() []Ticket {
	return st.listTickets(User{Role: roleAdmin})
}

// showTicket returns the ticket with id if caller may see it.
func (st *store) showTicket(caller User, id int64) (Ticket, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	t := st.tickets[id]
	if t == nil || !visible(caller, t) {
		return Ticket{}, NotFound()
	}
	return t.clone(), nil
}

// createTicket adds t on behalf of caller with the next id, and returns it
// as kept. A ticket needs a description, its first comment: without one
// Zendesk answers 422 with details on "base":
// https://github.com/zendesk/zendesk_api_client_php/issues/231
// https://github.com/zendesk/zendesk_api_client_rb/issues/492
func (st *store) createTicket(caller User, t Ticket) (Ticket, error) {
	t = t.clone()
	if t.Status == "" {
		t.Status = "new"
	}
	if t.RequesterID == 0 {
		t.RequesterID = caller.ID
	}
	if len(t.Comments) == 0 || strings.TrimSpace(t.Comments[0].Body) == "" {
		return Ticket{}, Invalid("base", "Description: cannot be blank", "BlankValue")
	}
	stamp(caller, t.Comments)
	st.mu.Lock()
	defer st.mu.Unlock()
	if err := st.checkTicketLocked(caller, t, 0); err != nil {
		return Ticket{}, err
	}
	st.lastID++
	t.ID = st.lastID
	t.CreatedAt = st.now()
	t.UpdatedAt = t.CreatedAt
	st.tickets[t.ID] = &t
	return t.clone(), nil
}

// updateTicket applies change to the ticket with id on behalf of caller,
// and returns the ticket as changed. change gets a copy; nothing is kept
// unless it returns nil and the result passes Zendesk's checks. A closed
// ticket refuses every update with 422 RecordInvalid on status; the field
// report below shows that answer (its inner "error" code,
// ClosedTicketUpdate here, is a guess):
// https://github.com/Speedygeek/ZendeskApi_v2/issues/59
func (st *store) updateTicket(caller User, id int64, change func(*Ticket) error) (Ticket, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	kept := st.tickets[id]
	if kept == nil || !visible(caller, kept) {
		return Ticket{}, NotFound()
	}
	if kept.Status == "closed" {
		return Ticket{}, Invalid("status", "Status: closed prevents ticket update", "ClosedTicketUpdate")
	}
	t := kept.clone()
	if err := change(&t); err != nil {
		return Ticket{}, err
	}
	switch {
	case t.ID != kept.ID || !t.CreatedAt.Equal(kept.CreatedAt):
		return Ticket{}, errors.New("zendesksim: a change may not alter a ticket's id or creation time")
	case len(t.Comments) < len(kept.Comments) || !slices.Equal(t.Comments[:len(kept.Comments)], kept.Comments):
		return Ticket{}, errors.New("zendesksim: a change may add comments but not alter or remove them")
	}
	stamp(caller, t.Comments[len(kept.Comments):])
	if err := st.checkTicketLocked(caller, t, kept.RequesterID); err != nil {
		return Ticket{}, err
	}
	t.UpdatedAt = st.now()
	*kept = t.clone()
	return t, nil
}

// checkTicketLocked returns what Zendesk would refuse in t, created or
// changed by caller (requester is the ticket's requester before the
// change, 0 for a new ticket). Zendesk's messages for these are not
// documented; they are guesses in its "Field: problem" style. An end user
// asks for themselves: a ticket they create or change must stay theirs.
// st.mu must be held.
func (st *store) checkTicketLocked(caller User, t Ticket, requester int64) error {
	switch {
	case !slices.Contains(statuses, t.Status):
		return Invalid("status", "Status: is not included in the list", "InvalidValue")
	case !slices.Contains(priorities, t.Priority):
		return Invalid("priority", "Priority: is not included in the list", "InvalidValue")
	case st.userLocked(t.RequesterID) == nil,
		caller.Role == roleEndUser && t.RequesterID != caller.ID && t.RequesterID != requester:
		return Invalid("requester_id", "Requester: is invalid", "InvalidValue")
	}
	for _, c := range t.Comments {
		if st.userLocked(c.AuthorID) == nil {
			return Invalid("author_id", "Author: is invalid", "InvalidValue")
		}
	}
	return nil
}

// stamp completes comments added by caller: 0 as author means the
// caller, and an end user's comments are their own and public, as every
// comment an end user writes through the Requests API is (it has no
// author or public field for them):
// https://developer.zendesk.com/api-reference/ticketing/tickets/ticket-requests/
func stamp(caller User, comments []Comment) {
	for i := range comments {
		if comments[i].AuthorID == 0 || caller.Role == roleEndUser {
			comments[i].AuthorID = caller.ID
		}
		if caller.Role == roleEndUser {
			comments[i].Public = true
		}
	}
}
