package zendesksim

import (
	"errors"
	"slices"
	"sync"
	"time"
)

// store is an account's users and tickets, with the rules Zendesk applies
// to who may see and change them. Its methods are safe for concurrent use
// and never hand out what they keep: they take and return copies.
type store struct {
	now func() time.Time

	mu      sync.Mutex // guards everything below
	users   []User     // in Options order: the first signs in by default
	tickets map[int64]*Ticket
	lastID  int64 // the highest ticket id so far
}

// newStore returns a store of users and tickets. It panics if either list
// is invalid (see checkUsers and checkTickets).
func newStore(users []User, tickets []Ticket, now func() time.Time) *store {
	checkUsers(users)
	st := &store{now: now, tickets: map[int64]*Ticket{}}
	for _, u := range users {
		st.users = append(st.users, u.clone())
	}
	checkTickets(tickets, st.users)
	for _, t := range tickets {
		t = t.clone()
		t.fill(now())
		st.tickets[t.ID] = &t
		st.lastID = max(st.lastID, t.ID)
	}
	return st
}

// userLocked returns a pointer to the user with id, or nil. st.mu must be
// held.
func (st *store) userLocked(id int64) *User {
	i := slices.IndexFunc(st.users, func(u User) bool { return u.ID == id })
	if i < 0 {
		return nil
	}
	return &st.users[i]
}

// user returns the user with id.
func (st *store) user(id int64) (User, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	u := st.userLocked(id)
	if u == nil {
		return User{}, false
	}
	return u.clone(), true
}

// allUsers returns every user, in Options order.
func (st *store) allUsers() []User {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := make([]User, len(st.users))
	for i, u := range st.users {
		out[i] = u.clone()
	}
	return out
}

// suspend marks the user with id suspended, and reports whether there is
// such a user.
func (st *store) suspend(id int64) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	u := st.userLocked(id)
	if u != nil {
		u.Suspended = true
	}
	return u != nil
}

// Who may see and change users. Show User and Update User are for agents:
// an end user sees only themselves, through Show Self, and changes their
// own profile through the End Users API, not Update User
// (https://developer.zendesk.com/api-reference/ticketing/users/end_user/).
// Agents work with end users and administrators manage everyone, so an
// agent may update end users and themselves, and only an admin may change
// a role. The reference does not spell these out for every pair of roles:
// beyond "agents only" they are a guess, and a refusal is the role-based
// 403. https://developer.zendesk.com/api-reference/ticketing/users/users/

// showUser returns the user with id as caller may see it.
func (st *store) showUser(caller User, id int64) (User, error) {
	if caller.Role == roleEndUser && id != caller.ID {
		return User{}, forbidden()
	}
	u, ok := st.user(id)
	if !ok {
		return User{}, NotFound()
	}
	return u, nil
}

// updateUser applies change to the user with id on behalf of caller, and
// returns the user as changed and whether the change suspended them.
// change gets a copy; nothing is kept unless it returns nil and the result
// passes Zendesk's checks.
func (st *store) updateUser(caller User, id int64, change func(*User) error) (User, bool, error) {
	if caller.Role == roleEndUser {
		return User{}, false, forbidden()
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	kept := st.userLocked(id)
	if kept == nil {
		return User{}, false, NotFound()
	}
	if caller.Role == roleAgent && id != caller.ID && kept.Role != roleEndUser {
		return User{}, false, forbidden()
	}
	u := kept.clone()
	if err := change(&u); err != nil {
		return User{}, false, err
	}
	switch {
	case u.ID != kept.ID:
		return User{}, false, errors.New("zendesksim: a change may not alter a user's id")
	case u.Role != kept.Role && caller.Role != roleAdmin:
		return User{}, false, forbidden()
	}
	if err := checkUser(u); err != nil {
		return User{}, false, err
	}
	suspended := u.Suspended && !kept.Suspended
	*kept = u.clone()
	return u, suspended, nil
}
