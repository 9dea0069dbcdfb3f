package zendesksim

import (
	"context"
	"fmt"
	"maps"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
)

// Accounts serves several simulated Zendesk accounts on one listener of
// 127.0.0.1, and routes each request by the first label of its Host:
// acme.zendesk.com and acme.zendesk.test:1234 are both account "acme".
// Each account is an independent Simulator, with its own clients, users,
// tickets, tokens, grants, sessions, stats and faults: a token issued by
// one account is 401 at another, and a local client is "No such client"
// at another's authorization page. A global client (an identifier that
// begins with zdg-) listed in any account's Options is known to every
// account (see clients.go).
//
// Point a client at any host whose first label is an account, e.g.
// http://acme.zendesk.test, and let it dial Addr whatever the host:
//
//	client := &http.Client{Transport: &http.Transport{DialContext: accounts.DialContext}}
//
// Options.IdentityProvider needs a simulator reached as 127.0.0.1 or
// localhost; under Accounts its authorization requests get an error page.
type Accounts struct {
	// Addr is the listener's address, "127.0.0.1:PORT".
	Addr string

	accounts map[string]*Simulator
	l        *listener
}

// accountName is what a Zendesk subdomain may be.
var accountName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// NewAccounts starts the accounts named by the keys of accounts (lower
// case letters, digits and hyphens), each configured by its Options as
// New would configure it. It panics if there is no account, a name is
// not a subdomain, two accounts describe the same global client
// differently, an account's Options are invalid, or it cannot listen.
// Call Close when done.
func NewAccounts(accounts map[string]Options) *Accounts {
	if len(accounts) == 0 {
		panic("zendesksim: NewAccounts needs an account")
	}
	names := slices.Sorted(maps.Keys(accounts))
	globals := map[string]client{}
	for _, name := range names {
		if !accountName.MatchString(name) {
			panic(fmt.Sprintf("zendesksim: %q is not a Zendesk subdomain", name))
		}
		c := clientOf(accounts[name])
		if !c.global() {
			continue
		}
		if other, ok := globals[c.id]; ok && !other.same(c) {
			panic("zendesksim: accounts describe the global client " + c.id + " differently")
		}
		globals[c.id] = c
	}
	a := &Accounts{accounts: map[string]*Simulator{}}
	var sims []*Simulator
	for _, name := range names {
		sim := newSimulator(accounts[name], globals)
		a.accounts[name] = sim
		sims = append(sims, sim)
	}
	a.l = listen(http.HandlerFunc(a.route), sims...)
	a.Addr = a.l.addr
	return a
}

// Account returns the account with name, for Stats, Inject, SuspendUser
// and the rest; nil if there is none.
func (a *Accounts) Account(name string) *Simulator {
	return a.accounts[name]
}

// URL returns a base URL of the account with name,
// "http://NAME.zendesk.test:PORT", for a client that dials Addr (see
// DialContext): no resolver knows the host.
func (a *Accounts) URL(name string) string {
	_, port, _ := net.SplitHostPort(a.Addr)
	return "http://" + name + ".zendesk.test:" + port
}

// DialContext dials Addr whatever address it is asked for, so that an
// http.Transport with it reaches every account under any host name.
func (a *Accounts) DialContext(ctx context.Context, network, _ string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, network, a.Addr)
}

// Close stops serving every account: it closes the listener and all
// connections, makes hanging handlers (Hang, Slow) return, and waits for
// every handler to finish. Calling Close again does nothing.
func (a *Accounts) Close() {
	a.l.close()
}

// Connections returns the number of TCP connections accepted so far.
func (a *Accounts) Connections() int {
	return int(a.l.conns.Load())
}

// route serves r with the account its Host names. A host that names no
// account gets a 404 page, whatever the path: what Zendesk serves for a
// subdomain without an account is not documented, and the simulator's
// page (HTML even where an app expects JSON) is a guess.
func (a *Accounts) route(w http.ResponseWriter, r *http.Request) {
	name := accountOf(r.Host)
	sim := a.accounts[name]
	if sim == nil {
		renderPage(w, http.StatusNotFound, noAccountPage, name)
		return
	}
	sim.ServeHTTP(w, r)
}

// accountOf returns the account a Host header names: its first label, in
// lower case.
func accountOf(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	label, _, _ := strings.Cut(host, ".")
	return strings.ToLower(label)
}
