package zendesksim

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// team is an account with each role: an admin, an agent and two end users,
// and a ticket requested by each end user, one of them closed.
func team(now func() time.Time) Options {
	return Options{
		Now: now,
		Users: []User{
			{ID: 1, Name: "Ada Admin", Role: "admin"},
			{ID: 2, Name: "Alan Agent", Role: "agent"},
			{ID: 3, Name: "Erin End", Role: "end-user"},
			{ID: 4, Name: "Eve End", Role: "end-user", TimeZone: "Amsterdam"},
		},
		Tickets: []Ticket{
			{ID: 10, Subject: "Erin's", Status: "open", RequesterID: 3, Comments: []Comment{{Body: "Help.", Public: true}}},
			{ID: 20, Subject: "Eve's", Status: "closed", RequesterID: 4, Comments: []Comment{{Body: "Done.", Public: true}}},
		},
	}
}

// callerOf is the Caller a handler of sim gets for the user with id.
func callerOf(t *testing.T, sim *Simulator, id int64) Caller {
	t.Helper()
	u, ok := sim.store.user(id)
	if !ok {
		t.Fatalf("no user %d", id)
	}
	return Caller{User: u, Scopes: []string{"read", "write"}, sim: sim}
}

// status is the HTTP status WriteError would send for err, 200 for nil.
func status(err error) int {
	if err == nil {
		return http.StatusOK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return http.StatusInternalServerError
}

// body is what WriteError writes for err.
func body(err error) string {
	rec := httptest.NewRecorder()
	WriteError(rec, err)
	return rec.Body.String()
}

func TestDefaultAccount(t *testing.T) {
	sim := New(Options{})
	users := sim.Users()
	if len(users) != 2 || users[0].Name != "John Doe" || users[0].Role != "admin" || users[0].ID != 1 ||
		users[1].Name != "Jane Roe" || users[1].Role != "end-user" || users[1].Email != "jane@example.com" {
		t.Errorf("default users %+v", users)
	}
	tickets := sim.Tickets()
	requested := map[int64]int{}
	closed := 0
	for _, tk := range tickets {
		requested[tk.RequesterID]++
		if tk.Status == "closed" {
			closed++
		}
		if len(tk.Comments) == 0 || tk.CreatedAt.IsZero() {
			t.Errorf("ticket %d has no description or no creation time", tk.ID)
		}
	}
	if len(tickets) != 3 || requested[1] != 2 || requested[2] != 1 || closed != 1 {
		t.Errorf("default tickets %+v", tickets)
	}
	// Users of one's own: no demo tickets unless asked for.
	if n := len(New(Options{Users: []User{{ID: 9, Name: "A", Role: "agent"}}}).Tickets()); n != 0 {
		t.Errorf("%d tickets with Options.Users set, want none", n)
	}
	if n := len(New(Options{Users: DefaultUsers(), Tickets: DefaultTickets()}).Tickets()); n != 3 {
		t.Errorf("%d tickets with the defaults asked for, want 3", n)
	}
	if n := len(New(Options{Tickets: []Ticket{}}).Tickets()); n != 0 {
		t.Errorf("%d tickets with an empty Options.Tickets, want none", n)
	}
}

func TestStorePanics(t *testing.T) {
	ok := []User{{ID: 1, Name: "A", Role: "admin"}}
	for _, c := range []struct {
		name string
		opts Options
	}{
		{"no users", Options{Users: []User{}}},
		{"id 0", Options{Users: []User{{Name: "A", Role: "admin"}}}},
		{"same id twice", Options{Users: []User{{ID: 1, Role: "admin"}, {ID: 1, Role: "agent"}}}},
		{"unknown role", Options{Users: []User{{ID: 1, Role: "owner"}}}},
		{"IANA time zone", Options{Users: []User{{ID: 1, Role: "admin", TimeZone: "Europe/Copenhagen"}}}},
		{"ticket id 0", Options{Users: ok, Tickets: []Ticket{{RequesterID: 1}}}},
		{"same ticket twice", Options{Users: ok, Tickets: []Ticket{{ID: 5, RequesterID: 1}, {ID: 5, RequesterID: 1}}}},
		{"unknown requester", Options{Users: ok, Tickets: []Ticket{{ID: 5, RequesterID: 2}}}},
		{"unknown author", Options{Users: ok, Tickets: []Ticket{{ID: 5, RequesterID: 1, Comments: []Comment{{AuthorID: 2, Body: "x"}}}}}},
		{"unknown status", Options{Users: ok, Tickets: []Ticket{{ID: 5, RequesterID: 1, Status: "done"}}}},
		{"unknown priority", Options{Users: ok, Tickets: []Ticket{{ID: 5, RequesterID: 1, Priority: "p1"}}}},
		{"default tickets without their users", Options{Users: ok, Tickets: DefaultTickets()}},
	} {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("New(%+v) did not panic", c.opts)
				}
			}()
			New(c.opts)
		})
	}
}

func TestUserJSON(t *testing.T) {
	u := User{ID: 3, Name: "Erin", Email: "erin@example.com", Role: "end-user",
		Fields: map[string]any{"locale": "da", "user_fields": map[string]any{"plan": "gold"}, "id": 99, "suspended": true}}
	var m map[string]any
	b, _ := json.Marshal(u)
	if json.Unmarshal(b, &m) != nil {
		t.Fatalf("not JSON: %s", b)
	}
	want := map[string]any{"id": 3.0, "name": "Erin", "email": "erin@example.com", "role": "end-user", "role_type": nil,
		"locale": "da", "time_zone": "Copenhagen", "iana_time_zone": "Europe/Copenhagen", "suspended": false, "active": true,
		"user_fields": map[string]any{"plan": "gold"}}
	if len(m) != len(want) {
		t.Errorf("user JSON %s, want the keys of %v", b, want)
	}
	for k, v := range want {
		if got, _ := json.Marshal(m[k]); string(got) != string(must(json.Marshal(v))) {
			t.Errorf("%s = %s, want %v", k, got, v)
		}
	}
	b, _ = json.Marshal(User{ID: 1, Role: "agent", TimeZone: "Eastern Time (US & Canada)"})
	m = nil
	if json.Unmarshal(b, &m) != nil || m["time_zone"] != "Eastern Time (US & Canada)" || m["iana_time_zone"] != "America/New_York" || m["locale"] != "en-US" {
		t.Errorf("user JSON %s", b)
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func TestUserRules(t *testing.T) {
	sim := New(team(nil))
	const admin, agent, erin, eve = 1, 2, 3, 4
	show := []struct {
		caller, id int64
		status     int
	}{
		{admin, agent, 200}, {admin, eve, 200}, {agent, admin, 200}, {agent, erin, 200},
		{erin, erin, 200}, {erin, eve, 403}, {erin, admin, 403}, {erin, 99, 403},
		{admin, 99, 404}, {agent, 99, 404},
	}
	for _, c := range show {
		u, err := callerOf(t, sim, c.caller).ShowUser(c.id)
		if status(err) != c.status || (err == nil && u.ID != c.id) {
			t.Errorf("user %d shows user %d: %v, want %d", c.caller, c.id, err, c.status)
		}
	}

	rename := func(u *User) error { u.Name += "!"; return nil }
	update := []struct {
		name       string
		caller, id int64
		change     func(*User) error
		status     int
	}{
		{"admin renames an agent", admin, agent, rename, 200},
		{"agent renames an end user", agent, erin, rename, 200},
		{"agent renames themselves", agent, agent, rename, 200},
		{"agent renames the admin", agent, admin, rename, 403},
		{"end user renames themselves", erin, erin, rename, 403},
		{"end user renames another", erin, eve, rename, 403},
		{"end user makes themselves admin", erin, erin, func(u *User) error { u.Role = "admin"; return nil }, 403},
		{"agent makes an end user agent", agent, eve, func(u *User) error { u.Role = "agent"; return nil }, 403},
		{"unknown user", admin, 99, rename, 404},
		{"unknown time zone", admin, erin, func(u *User) error { u.TimeZone = "Mars"; return nil }, 422},
		{"IANA time zone", admin, erin, func(u *User) error { u.TimeZone = "Europe/Paris"; return nil }, 422},
		{"unknown role", admin, erin, func(u *User) error { u.Role = "owner"; return nil }, 422},
		{"the change refuses", admin, erin, func(u *User) error { u.Name = "x"; return Invalid("name", "Name: no", "Nope") }, 422},
		{"the change alters the id", admin, erin, func(u *User) error { u.ID = 5; return nil }, 500},
	}
	for _, c := range update {
		before, _ := sim.store.user(c.id)
		u, err := callerOf(t, sim, c.caller).UpdateUser(c.id, c.change)
		after, _ := sim.store.user(c.id)
		if status(err) != c.status {
			t.Errorf("%s: %v, want %d", c.name, err, c.status)
		}
		if changed := !sameUser(before, after); changed != (c.status == 200) {
			t.Errorf("%s: kept %+v, before %+v: changed %v, want %v", c.name, after, before, changed, c.status == 200)
		}
		if c.status == 200 && !sameUser(u, after) {
			t.Errorf("%s: returned %+v, kept %+v", c.name, u, after)
		}
	}
	if _, err := callerOf(t, sim, admin).UpdateUser(erin, func(u *User) error { u.TimeZone = "Mars"; return nil }); body(err) !=
		`{"error":"RecordInvalid","description":"Record validation errors","details":{"time_zone":[{"description":"Time zone: is not included in the list","error":"InvalidValue"}]}}` {
		t.Errorf("unknown time zone: %s", body(err))
	}
	if _, err := callerOf(t, sim, erin).ShowUser(eve); body(err) != zendeskForbidden {
		t.Errorf("end user shows another: %s, want the role-based 403", body(err))
	}
}

func sameUser(a, b User) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func TestTicketRules(t *testing.T) {
	clock := newClock()
	sim := New(team(clock.Now))
	const admin, agent, erin, eve = 1, 2, 3, 4
	ids := func(ts []Ticket) []int64 {
		var out []int64
		for _, tk := range ts {
			out = append(out, tk.ID)
		}
		return out
	}
	for caller, want := range map[int64][]int64{admin: {10, 20}, agent: {10, 20}, erin: {10}, eve: {20}} {
		got, err := callerOf(t, sim, caller).ListTickets()
		if err != nil || !slices.Equal(ids(got), want) {
			t.Errorf("user %d lists %v %v, want %v", caller, ids(got), err, want)
		}
	}
	for _, c := range []struct {
		caller, id int64
		status     int
	}{{agent, 10, 200}, {agent, 20, 200}, {erin, 10, 200}, {erin, 20, 404}, {eve, 10, 404}, {admin, 99, 404}} {
		tk, err := callerOf(t, sim, c.caller).ShowTicket(c.id)
		if status(err) != c.status || (err == nil && tk.ID != c.id) {
			t.Errorf("user %d shows ticket %d: %v, want %d", c.caller, c.id, err, c.status)
		}
		if c.status == 404 && body(err) != `{"error":"RecordNotFound","description":"Not found"}` {
			t.Errorf("user %d shows ticket %d: %s", c.caller, c.id, body(err))
		}
	}

	// Create: the account fills in what Zendesk fills in.
	clock.Advance(time.Hour)
	tk, err := callerOf(t, sim, erin).CreateTicket(Ticket{ID: 7, Subject: "Mine", RequesterID: 0,
		Comments: []Comment{{AuthorID: 1, Body: "Please help.", Public: false}}})
	if err != nil || tk.ID != 21 || tk.Status != "new" || tk.RequesterID != erin || !tk.CreatedAt.Equal(clock.Now()) ||
		!tk.UpdatedAt.Equal(clock.Now()) || tk.Comments[0] != (Comment{AuthorID: erin, Body: "Please help.", Public: true}) {
		t.Errorf("end user creates: %+v %v", tk, err)
	}
	tk, err = callerOf(t, sim, agent).CreateTicket(Ticket{Subject: "For Eve", RequesterID: eve, Priority: "high",
		Comments: []Comment{{Body: "Note to self.", Public: false}}})
	if err != nil || tk.ID != 22 || tk.RequesterID != eve || tk.Comments[0] != (Comment{AuthorID: agent, Body: "Note to self."}) {
		t.Errorf("agent creates for Eve: %+v %v", tk, err)
	}
	for _, c := range []struct {
		name   string
		caller int64
		ticket Ticket
		body   string
	}{
		{"no comment", agent, Ticket{Subject: "x"}, `{"error":"RecordInvalid","description":"Record validation errors","details":{"base":[{"description":"Description: cannot be blank","error":"BlankValue"}]}}`},
		{"blank comment", agent, Ticket{Comments: []Comment{{Body: " \n"}}}, `"base"`},
		{"end user for another", erin, Ticket{RequesterID: eve, Comments: []Comment{{Body: "x"}}}, `"requester_id"`},
		{"unknown requester", agent, Ticket{RequesterID: 99, Comments: []Comment{{Body: "x"}}}, `"requester_id"`},
		{"unknown author", agent, Ticket{Comments: []Comment{{AuthorID: 99, Body: "x"}}}, `"author_id"`},
		{"unknown status", agent, Ticket{Status: "done", Comments: []Comment{{Body: "x"}}}, `"status"`},
		{"unknown priority", agent, Ticket{Priority: "p1", Comments: []Comment{{Body: "x"}}}, `"priority"`},
	} {
		if _, err := callerOf(t, sim, c.caller).CreateTicket(c.ticket); status(err) != 422 || !strings.Contains(body(err), c.body) {
			t.Errorf("create, %s: %s, want 422 with %s", c.name, body(err), c.body)
		}
	}
	if n := len(sim.Tickets()); n != 4 {
		t.Errorf("%d tickets after the refused creations, want 4", n)
	}

	// Update.
	clock.Advance(time.Hour)
	reply := func(tk *Ticket) error {
		tk.Status = "solved"
		tk.Comments = append(tk.Comments, Comment{Body: "Thanks!"})
		return nil
	}
	tk, err = callerOf(t, sim, erin).UpdateTicket(10, reply)
	if err != nil || tk.Status != "solved" || len(tk.Comments) != 2 || tk.Comments[1] != (Comment{AuthorID: erin, Body: "Thanks!", Public: true}) ||
		!tk.UpdatedAt.Equal(clock.Now()) || tk.CreatedAt.Equal(clock.Now()) {
		t.Errorf("end user replies: %+v %v", tk, err)
	}
	if kept, _ := callerOf(t, sim, admin).ShowTicket(10); kept.Status != "solved" || len(kept.Comments) != 2 {
		t.Errorf("kept %+v", kept)
	}
	closed := `{"error":"RecordInvalid","description":"Record validation errors","details":{"status":[{"description":"Status: closed prevents ticket update","error":"ClosedTicketUpdate"}]}}`
	for _, c := range []struct {
		name       string
		caller, id int64
		change     func(*Ticket) error
		status     int
		body       string
	}{
		{"closed", admin, 20, reply, 422, closed},
		{"closed, its own requester", eve, 20, reply, 422, closed},
		{"another's, closed or not", erin, 20, reply, 404, `{"error":"RecordNotFound","description":"Not found"}`},
		{"unknown", agent, 99, reply, 404, ""},
		{"end user gives it away", erin, 10, func(tk *Ticket) error { tk.RequesterID = eve; return nil }, 422, `"requester_id"`},
		{"unknown status", agent, 10, func(tk *Ticket) error { tk.Status = "done"; return nil }, 422, `"status"`},
		{"the change refuses", agent, 10, func(tk *Ticket) error { tk.Subject = "x"; return errors.New("no") }, 500, `{"error":"InternalError"}`},
		{"the change alters the id", agent, 10, func(tk *Ticket) error { tk.ID = 11; return nil }, 500, ""},
		{"the change edits a comment", agent, 10, func(tk *Ticket) error { tk.Comments[0].Body = "x"; return nil }, 500, ""},
		{"the change drops a comment", agent, 10, func(tk *Ticket) error { tk.Comments = tk.Comments[1:]; return nil }, 500, ""},
	} {
		before, _ := callerOf(t, sim, admin).ShowTicket(c.id)
		_, err := callerOf(t, sim, c.caller).UpdateTicket(c.id, c.change)
		after, _ := callerOf(t, sim, admin).ShowTicket(c.id)
		if status(err) != c.status || !strings.Contains(body(err), c.body) {
			t.Errorf("update, %s: %d %s, want %d %s", c.name, status(err), body(err), c.status, c.body)
		}
		if a, b := must(json.Marshal(after)), must(json.Marshal(before)); string(a) != string(b) || len(after.Comments) != len(before.Comments) {
			t.Errorf("update, %s: the ticket changed to %s", c.name, a)
		}
	}
	// An agent may solve, reopen and reassign.
	if tk, err := callerOf(t, sim, agent).UpdateTicket(10, func(tk *Ticket) error { tk.Status, tk.RequesterID = "open", eve; return nil }); err != nil ||
		tk.Status != "open" || tk.RequesterID != eve {
		t.Errorf("agent reopens for Eve: %+v %v", tk, err)
	}
	if _, err := callerOf(t, sim, erin).ShowTicket(10); status(err) != 404 {
		t.Errorf("Erin after the ticket went to Eve: %v, want 404", err)
	}
}

// TestStoreCopies: nothing handed in or out shares memory with the store,
// and two simulators made from one Options share nothing.
func TestStoreCopies(t *testing.T) {
	opts := Options{Users: []User{{ID: 1, Name: "A", Role: "admin", Fields: map[string]any{"tags": []any{"vip"}}}},
		Tickets: []Ticket{{ID: 1, RequesterID: 1, Comments: []Comment{{Body: "x"}}}}}
	one, two := New(opts), New(opts)
	opts.Users[0].Fields["tags"].([]any)[0] = "changed"
	opts.Tickets[0].Comments[0].Body = "changed"
	u := one.Users()[0]
	u.Fields["tags"].([]any)[0] = "changed too"
	tk := one.Tickets()[0]
	tk.Comments[0].Body = "changed too"
	if _, err := callerOf(t, one, 1).UpdateTicket(1, func(tk *Ticket) error {
		tk.Comments = append(tk.Comments, Comment{Body: "y"})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for name, sim := range map[string]*Simulator{"one": one, "two": two} {
		if tag := sim.Users()[0].Fields["tags"].([]any)[0]; tag != "vip" {
			t.Errorf("%s: tag %v", name, tag)
		}
		if body := sim.Tickets()[0].Comments[0].Body; body != "x" {
			t.Errorf("%s: first comment %q", name, body)
		}
	}
	if n, m := len(one.Tickets()[0].Comments), len(two.Tickets()[0].Comments); n != 2 || m != 1 {
		t.Errorf("comments: %d and %d, want 2 in the simulator updated and 1 in the other", n, m)
	}
}

// TestStoreConcurrency: updates from many handlers at once all land.
func TestStoreConcurrency(t *testing.T) {
	sim := New(team(nil))
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			c := callerOf(t, sim, int64(1+i%3)) // admin, agent, Erin: all may see ticket 10
			if _, err := c.UpdateTicket(10, func(tk *Ticket) error {
				tk.Comments = append(tk.Comments, Comment{Body: "+1"})
				return nil
			}); err != nil {
				t.Error(err)
			}
			if _, err := c.ListTickets(); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if tk, _ := callerOf(t, sim, 1).ShowTicket(10); len(tk.Comments) != 21 {
		t.Errorf("%d comments, want 21", len(tk.Comments))
	}
}

func TestSignedOutCaller(t *testing.T) {
	for name, c := range map[string]Caller{"zero": {}, "no user": {sim: New(Options{})}} {
		if c.SignedIn() {
			t.Errorf("%s: SignedIn", name)
		}
		_, e1 := c.ShowUser(1)
		_, e2 := c.UpdateUser(1, func(*User) error { return nil })
		_, e3 := c.ListTickets()
		_, e4 := c.ShowTicket(1)
		_, e5 := c.CreateTicket(Ticket{Comments: []Comment{{Body: "x"}}})
		_, e6 := c.UpdateTicket(1, func(*Ticket) error { return nil })
		for i, err := range []error{e1, e2, e3, e4, e5, e6} {
			if body(err) != `{"error":"Couldn't authenticate you"}` || status(err) != 401 {
				t.Errorf("%s: method %d: %d %s", name, i, status(err), body(err))
			}
		}
	}
}

func TestWriteErrorAndHelpers(t *testing.T) {
	for _, c := range []struct {
		err    error
		status int
		body   string
	}{
		{NotFound(), 404, `{"error":"RecordNotFound","description":"Not found"}`},
		{Invalid("subject", "Subject: cannot be blank", "BlankValue"), 422,
			`{"error":"RecordInvalid","description":"Record validation errors","details":{"subject":[{"description":"Subject: cannot be blank","error":"BlankValue"}]}}`},
		{forbidden(), 403, zendeskForbidden},
		{errors.New("boom"), 500, `{"error":"InternalError"}`},
	} {
		rec := httptest.NewRecorder()
		WriteError(rec, c.err)
		if rec.Code != c.status || rec.Body.String() != c.body || rec.Header().Get("Content-Type") != jsonType {
			t.Errorf("WriteError(%v): %d %s %s", c.err, rec.Code, rec.Header().Get("Content-Type"), rec.Body)
		}
	}

	read := func(contentType, body string) (string, error) {
		r := httptest.NewRequest("PUT", "/api/v2/users/1.json", strings.NewReader(body))
		if contentType != "" {
			r.Header.Set("Content-Type", contentType)
		}
		var v struct {
			User struct {
				TimeZone string `json:"time_zone"`
			} `json:"user"`
		}
		err := ReadJSON(httptest.NewRecorder(), r, &v)
		return v.User.TimeZone, err
	}
	if tz, err := read("application/json; charset=utf-8", `{"user":{"time_zone":"Amsterdam"}}`); err != nil || tz != "Amsterdam" {
		t.Errorf("ReadJSON: %q %v", tz, err)
	}
	for name, c := range map[string][2]string{
		"form":       {"application/x-www-form-urlencoded", `{"user":{}}`},
		"no type":    {"", `{"user":{}}`},
		"broken":     {"application/json", `{"user":`},
		"wrong type": {"application/json", `{"user":[]}`},
		"too large":  {"application/json", `{"user":{"name":"` + strings.Repeat("x", 1<<20) + `"}}`},
	} {
		if _, err := read(c[0], c[1]); status(err) != 400 || !strings.HasPrefix(body(err), `{"error":"InvalidJSON","description":`) {
			t.Errorf("ReadJSON, %s: %d %s", name, status(err), body(err))
		}
	}

	for path, want := range map[string]int64{"/t/35": 35, "/t/0": 0, "/t/-3": 0, "/t/me": 0, "/t/35.json": 0, "/t/99999999999999999999": 0} {
		r := httptest.NewRequest("GET", path, nil)
		r.SetPathValue("id", strings.TrimPrefix(path, "/t/"))
		id, err := PathID(r, "id")
		if id != want || (want == 0) != (status(err) == 404) {
			t.Errorf("PathID(%s) = %d, %v; want %d", path, id, err, want)
		}
	}
}

// updateUser is Update User as a team lists it: it changes name and time
// zone, through the store.
// https://developer.zendesk.com/api-reference/ticketing/users/users/#update-user
var updateUser = API{Pattern: "PUT /api/v2/users/{id}.json", Resource: "users", Handler: func(w http.ResponseWriter, r *http.Request, c Caller) {
	id, err := PathID(r, "id")
	if err != nil {
		WriteError(w, err)
		return
	}
	var in struct {
		User struct {
			Name     *string `json:"name"`
			TimeZone *string `json:"time_zone"`
		} `json:"user"`
	}
	if err := ReadJSON(w, r, &in); err != nil {
		WriteError(w, err)
		return
	}
	u, err := c.UpdateUser(id, func(u *User) error {
		if in.User.Name != nil {
			u.Name = *in.User.Name
		}
		if in.User.TimeZone != nil {
			u.TimeZone = *in.User.TimeZone
		}
		return nil
	})
	if err != nil {
		WriteError(w, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"user": u})
}}

// TestShowSelfFollowsTheStore: what a team's endpoint changes, Show Self
// shows, and the token stays bound to its user.
func TestShowSelfFollowsTheStore(t *testing.T) {
	e := newEnv(t, Options{API: []API{updateUser}})
	token := str(e.loginWith("users:read users:write")["access_token"])
	if _, claims, _ := jwtParts(t, token); claims["sub"] != "1" {
		t.Errorf("the token's subject is %v, want John Doe's id 1", claims["sub"])
	}
	me := func() map[string]any {
		t.Helper()
		status, m := e.me(token)
		if status != 200 {
			t.Fatalf("Show Self: %d %v", status, m)
		}
		return m["user"].(map[string]any)
	}
	put := func(path, body string) (int, string) {
		t.Helper()
		resp, b := e.do("PUT", path, strings.NewReader(body), "Authorization", "Bearer "+token, "Content-Type", "application/json")
		return resp.StatusCode, string(b)
	}
	if u := me(); u["time_zone"] != "Copenhagen" || u["iana_time_zone"] != "Europe/Copenhagen" || u["name"] != "John Doe" {
		t.Errorf("before: %v", u)
	}
	if status, b := put("/api/v2/users/1.json", `{"user":{"time_zone":"Eastern Time (US & Canada)","name":"John Q. Doe"}}`); status != 200 ||
		!strings.Contains(b, `"iana_time_zone":"America/New_York"`) {
		t.Errorf("update: %d %s", status, b)
	}
	if u := me(); u["time_zone"] != "Eastern Time (US & Canada)" || u["iana_time_zone"] != "America/New_York" || u["name"] != "John Q. Doe" {
		t.Errorf("after: %v", u)
	}
	for _, c := range []struct {
		path, body string
		status     int
		answer     string
	}{
		{"/api/v2/users/1.json", `{"user":{"time_zone":"Mars"}}`, 422,
			`{"error":"RecordInvalid","description":"Record validation errors","details":{"time_zone":[{"description":"Time zone: is not included in the list","error":"InvalidValue"}]}}`},
		{"/api/v2/users/1", `{"user":{"time_zone":"America/New_York"}}`, 422, ""},
		{"/api/v2/users/99.json", `{"user":{"time_zone":"Amsterdam"}}`, 404, `{"error":"RecordNotFound","description":"Not found"}`},
		{"/api/v2/users/me.json", `{"user":{"time_zone":"Amsterdam"}}`, 404, ""},
		{"/api/v2/users/1.json", `{"user":`, 400, ""},
	} {
		if status, b := put(c.path, c.body); status != c.status || (c.answer != "" && b != c.answer) {
			t.Errorf("PUT %s %s: %d %s, want %d %s", c.path, c.body, status, b, c.status, c.answer)
		}
	}
	if u := me(); u["time_zone"] != "Eastern Time (US & Canada)" {
		t.Errorf("after the refused updates: %v", u)
	}
	if u, _ := e.sim.store.user(2); u.TimeZone != "" || u.Name != "Jane Roe" {
		t.Errorf("Jane changed too: %+v", u)
	}
	// users:read alone may not write.
	reader := str(e.loginWith("users:read")["access_token"])
	resp, b := e.do("PUT", "/api/v2/users/1.json", strings.NewReader(`{"user":{"name":"x"}}`), "Authorization", "Bearer "+reader, "Content-Type", "application/json")
	if resp.StatusCode != 403 || string(b) != missingScopeBody("users:write") {
		t.Errorf("with users:read: %d %s", resp.StatusCode, b)
	}
}

// TestTicketsAPINeedsAnAgent: an end user's token on any path under
// /api/v2/tickets gets the role-based 403 before the handler runs; the
// Requests API and other paths that merely mention tickets serve them.
func TestTicketsAPINeedsAnAgent(t *testing.T) {
	var runs sync.Map // pattern -> *int
	count := func(w http.ResponseWriter, r *http.Request, c Caller) {
		n, _ := runs.LoadOrStore(r.Pattern, new(int))
		*n.(*int)++
		WriteJSON(w, http.StatusOK, map[string]any{"caller": c.User.ID})
	}
	api := []API{
		{Pattern: "GET /api/v2/tickets.json", Resource: "tickets", Handler: count},
		{Pattern: "POST /api/v2/tickets.json", Resource: "tickets", Handler: count},
		{Pattern: "GET /api/v2/tickets/count.json", Resource: "tickets", Handler: count},
		{Pattern: "GET /api/v2/tickets/{id}.json", Resource: "tickets", Handler: count},
		{Pattern: "PUT /api/v2/tickets/{id}.json", Resource: "tickets", Handler: count},
		{Pattern: "GET /api/v2/tickets/{id}/comments.json", Resource: "tickets", Handler: count},
		{Pattern: "GET /api/v2/requests.json", Resource: "requests", Handler: count},
		{Pattern: "GET /api/v2/users/{id}/tickets/requested.json", Resource: "tickets", Handler: count},
		{Pattern: "GET /api/v2/ticket_fields.json", Resource: "tickets", Handler: count},
	}
	endUser := User{ID: 3, Name: "Erin End", Role: "end-user"}
	agent := User{ID: 2, Name: "Alan Agent", Role: "agent"}
	for _, c := range []struct {
		name      string
		users     []User
		scope     string
		method    string
		path      string
		status    int
		forbidden string
	}{
		{"end user lists tickets", []User{endUser, agent}, "read write", "GET", "/api/v2/tickets.json", 403, zendeskForbidden},
		{"end user lists tickets without .json", []User{endUser, agent}, "read", "GET", "/api/v2/tickets", 403, zendeskForbidden},
		{"end user creates a ticket", []User{endUser, agent}, "write", "POST", "/api/v2/tickets.json", 403, zendeskForbidden},
		{"end user counts tickets", []User{endUser, agent}, "tickets:read", "GET", "/api/v2/tickets/count.json", 403, zendeskForbidden},
		{"end user shows a ticket", []User{endUser, agent}, "tickets:read", "GET", "/api/v2/tickets/10.json", 403, zendeskForbidden},
		{"end user updates a ticket", []User{endUser, agent}, "tickets:write", "PUT", "/api/v2/tickets/10", 403, zendeskForbidden},
		{"end user lists comments", []User{endUser, agent}, "read", "GET", "/api/v2/tickets/10/comments.json", 403, zendeskForbidden},
		{"end user without the scope: the scope first", []User{endUser, agent}, "users:read", "GET", "/api/v2/tickets.json", 403, missingScopeBody("tickets:read")},
		{"end user lists requests", []User{endUser, agent}, "requests:read", "GET", "/api/v2/requests.json", 200, ""},
		{"end user lists requested tickets", []User{endUser, agent}, "tickets:read", "GET", "/api/v2/users/3/tickets/requested.json", 403, zendeskForbidden},
		{"end user reads ticket fields", []User{endUser, agent}, "read", "GET", "/api/v2/ticket_fields.json", 200, ""},
		{"agent lists tickets", []User{agent, endUser}, "tickets:read", "GET", "/api/v2/tickets.json", 200, ""},
		{"agent updates a ticket", []User{agent, endUser}, "tickets:write", "PUT", "/api/v2/tickets/10.json", 200, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			runs.Clear()
			e := newEnv(t, Options{Users: c.users, API: api})
			token := str(e.loginWith(c.scope)["access_token"])
			resp, b := e.do(c.method, c.path, nil, "Authorization", "Bearer "+token)
			ran := 0
			runs.Range(func(_, n any) bool { ran += *n.(*int); return true })
			if resp.StatusCode != c.status || (c.forbidden != "" && string(b) != c.forbidden) {
				t.Errorf("%d %s, want %d %s", resp.StatusCode, b, c.status, c.forbidden)
			}
			if want := map[bool]int{true: 1, false: 0}[c.status == 200]; ran != want {
				t.Errorf("the handler ran %d times, want %d", ran, want)
			}
		})
	}
}
