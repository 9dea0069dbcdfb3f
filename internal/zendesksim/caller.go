package zendesksim

// Caller is who calls an API endpoint: the signed-in user and the scopes
// of the access token they presented, and the account's store of users
// and tickets as that user may see and change it.
//
// User is the user as the request began, read from the store: a change
// the handler makes (UpdateUser) is in what UpdateUser returns, not in
// User. A Public endpoint called without a token gets a Caller with no
// user (SignedIn is false), whose store methods all answer 401.
//
// The store methods apply Zendesk's rules (see store.go and tickets.go)
// and return an *Error for what Zendesk refuses: 404 RecordNotFound for
// a record the caller may not see, 422 RecordInvalid for a closed ticket
// or an invalid value, the role-based 403. WriteError writes it. They are
// safe for concurrent use; what they take and return are copies.
type Caller struct {
	User     User
	Scopes   []string
	token    string
	clientID string
	sim      *Simulator
}

// SignedIn reports whether the caller presented a valid access token.
func (c Caller) SignedIn() bool {
	return c.User.ID != 0 && c.sim != nil
}

// ShowUser returns the user with id, as Show User would: agents and
// admins see anyone, an end user only themselves.
func (c Caller) ShowUser(id int64) (User, error) {
	if !c.SignedIn() {
		return User{}, unauthenticated()
	}
	return c.sim.store.showUser(c.User, id)
}

// UpdateUser changes the user with id, as Update User would: change gets
// a copy of the user, and its changes are kept if it returns nil and
// Zendesk would accept them (a known time zone and role; only an admin
// changes a role; an agent may update end users and themselves; an end
// user no one, not even themselves). It returns the user as kept. A change that
// suspends the user ends their sessions and tokens, as SuspendUser does.
// change runs under the store's lock: it must not call the Caller.
func (c Caller) UpdateUser(id int64, change func(*User) error) (User, error) {
	if !c.SignedIn() {
		return User{}, unauthenticated()
	}
	u, suspended, err := c.sim.store.updateUser(c.User, id, change)
	if suspended {
		c.sim.endAccess(id)
	}
	return u, err
}

// ListTickets returns the tickets the caller may see, by id: every ticket
// for an agent or admin, an end user's own requests.
func (c Caller) ListTickets() ([]Ticket, error) {
	if !c.SignedIn() {
		return nil, unauthenticated()
	}
	return c.sim.store.listTickets(c.User), nil
}

// ShowTicket returns the ticket with id, or NotFound if there is none or
// the caller may not see it.
func (c Caller) ShowTicket(id int64) (Ticket, error) {
	if !c.SignedIn() {
		return Ticket{}, unauthenticated()
	}
	return c.sim.store.showTicket(c.User, id)
}

// CreateTicket adds t, as Create Ticket or Create Request would, and
// returns it as kept: with the next id, status "new" if none, the caller
// as requester and comment author where t names none, and its times. A
// ticket without a first comment (its description) is 422 RecordInvalid,
// as are an unknown status, priority, requester or author; an end user
// may create tickets only for themselves.
func (c Caller) CreateTicket(t Ticket) (Ticket, error) {
	if !c.SignedIn() {
		return Ticket{}, unauthenticated()
	}
	return c.sim.store.createTicket(c.User, t)
}

// UpdateTicket changes the ticket with id, as Update Ticket or Update
// Request would: NotFound if the caller may not see it, 422 RecordInvalid
// on status if it is closed. change gets a copy; it may change any field
// and add comments (author 0 is the caller), but not alter the id, the
// creation time or earlier comments. The result is checked as
// CreateTicket checks a new ticket, and returned as kept, with its new
// update time. change runs under the store's lock: it must not call the
// Caller.
func (c Caller) UpdateTicket(id int64, change func(*Ticket) error) (Ticket, error) {
	if !c.SignedIn() {
		return Ticket{}, unauthenticated()
	}
	return c.sim.store.updateTicket(c.User, id, change)
}
