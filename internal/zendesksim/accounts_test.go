package zendesksim

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// twoAccounts serves acme, whose client is the global zdg-app, and beta,
// whose client beta-local is its own; each has the default users.
func twoAccounts(t *testing.T) *Accounts {
	t.Helper()
	a := NewAccounts(map[string]Options{
		"acme": {ClientID: "zdg-app", ClientSecret: "s3cret", RedirectURIs: []string{callback}},
		"beta": {ClientID: "beta-local", RedirectURIs: []string{callback}},
	})
	t.Cleanup(a.Close)
	return a
}

// accountEnv is an env on one account of a, reached under host.
func accountEnv(t *testing.T, a *Accounts, host string) *env {
	t.Helper()
	return &env{t, a.Account(accountOf(host)), "http://" + host, &http.Client{
		Transport:     &http.Transport{DialContext: a.DialContext},
		Timeout:       5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// zdgLogin signs in to e's account with the global client and returns
// the token response.
func (e *env) zdgLogin() map[string]any {
	e.t.Helper()
	q := authQuery("client_id", "zdg-app")
	p := exchangeParams(redirectedTo(e.t, e.allow(q, url.Values{})).Get("code"))
	p.Set("client_id", "zdg-app")
	p.Set("client_secret", "s3cret")
	status, m := e.token(p)
	if status != http.StatusCreated {
		e.t.Fatalf("exchange at %s: %d %v", e.url, status, m)
	}
	return m
}

func TestAccountsRouting(t *testing.T) {
	a := twoAccounts(t)
	if !strings.HasPrefix(a.Addr, "127.0.0.1:") || a.URL("acme") != "http://acme.zendesk.test:"+strings.TrimPrefix(a.Addr, "127.0.0.1:") {
		t.Errorf("Addr %q, URL(acme) %q", a.Addr, a.URL("acme"))
	}
	for _, host := range []string{"acme.zendesk.test", "acme.zendesk.test:1234", "ACME.zendesk.com", "acme"} {
		e := accountEnv(t, a, host)
		before := a.Account("beta").Stats()[Authorize]
		if resp, _ := e.authorize(authQuery("client_id", "zdg-app")); resp.StatusCode != 200 {
			t.Errorf("%s: %d, want acme's consent page", host, resp.StatusCode)
		}
		if after := a.Account("beta").Stats()[Authorize]; after != before {
			t.Errorf("%s reached beta", host)
		}
	}
	if n := a.Account("acme").Stats()[Authorize]; n != 4 {
		t.Errorf("acme counted %d authorization requests, want 4", n)
	}
	if got := accountEnv(t, a, a.URL("beta")[len("http://"):]); got.sim != a.Account("beta") {
		t.Error("URL(beta) does not name beta")
	}

	// A subdomain without an account: a 404 page, on every path, and no
	// account sees the request.
	e := accountEnv(t, a, "gamma.zendesk.test")
	for _, path := range []string{"/oauth/authorizations/new?" + authQuery().Encode(), meP, tokensP} {
		method := map[bool]string{true: "POST", false: "GET"}[path == tokensP]
		resp, b := e.do(method, path, nil)
		if resp.StatusCode != 404 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
			!strings.Contains(string(b), "There is no Zendesk account <strong>gamma</strong>") {
			t.Errorf("%s %s at gamma: %d %s\n%s", method, path, resp.StatusCode, resp.Header.Get("Content-Type"), b)
		}
		checkPage(t, resp, string(b), "Simulated Zendesk")
	}
	if a.Account("gamma") != nil {
		t.Error("Account(gamma) is not nil")
	}
	resp, b := accountEnv(t, a, a.Addr).do("GET", meP, nil)
	if resp.StatusCode != 404 || !strings.Contains(string(b), "<strong>127</strong>") {
		t.Errorf("the bare address: %d, want the 404 page for account 127", resp.StatusCode)
	}
}

// TestAccountsAreSeparate is the test the app needs: a session that names
// beta with acme's tokens goes to authorization at beta, and never
// reaches acme's data.
func TestAccountsAreSeparate(t *testing.T) {
	a := twoAccounts(t)
	acme, beta := accountEnv(t, a, "acme.zendesk.test"), accountEnv(t, a, "beta.zendesk.test")

	// A local client works only where it was made: beta-local at acme is
	// "No such client", and never a redirect.
	resp, page := acme.authorize(authQuery("client_id", "beta-local"))
	if resp.StatusCode != 400 || resp.Header.Get("Location") != "" || !strings.Contains(page, "No such client") {
		t.Errorf("beta's client at acme: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := beta.authorize(authQuery("client_id", "beta-local")); resp.StatusCode != 200 {
		t.Errorf("beta's client at beta: %d, want the consent page", resp.StatusCode)
	}
	p := exchangeParams("any")
	p.Set("client_id", "beta-local")
	if status, m := acme.token(p); status != 401 || m["error"] != "invalid_client" {
		t.Errorf("beta's client at acme's token endpoint: %d %v", status, m)
	}

	// The global client works at both, with tokens that work only where
	// they were issued.
	fromAcme, fromBeta := acme.zdgLogin(), beta.zdgLogin()
	for _, c := range []struct {
		name   string
		e      *env
		tokens map[string]any
		status int
	}{{"acme's at acme", acme, fromAcme, 200}, {"beta's at beta", beta, fromBeta, 200}, {"acme's at beta", beta, fromAcme, 401}, {"beta's at acme", acme, fromBeta, 401}} {
		if status, m := c.e.me(str(c.tokens["access_token"])); status != c.status || (c.status == 401 && m["error"] != "invalid_token") {
			t.Errorf("%s: Show Self %d %v, want %d", c.name, status, m, c.status)
		}
	}
	p = refreshParams(str(fromAcme["refresh_token"]))
	p.Set("client_id", "zdg-app")
	p.Set("client_secret", "s3cret")
	if status, m := beta.token(p); status != 400 || m["error"] != "invalid_grant" {
		t.Errorf("acme's refresh token at beta: %d %v, want invalid_grant", status, m)
	}
	if status, m := acme.token(p); status != 201 {
		t.Errorf("acme's refresh token at acme: %d %v", status, m)
	}

	// Stores, faults and operations are per account.
	if _, err := callerOf(t, a.Account("acme"), 1).CreateTicket(Ticket{Subject: "acme only", Comments: []Comment{{Body: "x"}}}); err != nil {
		t.Fatal(err)
	}
	if n, m := len(a.Account("acme").Tickets()), len(a.Account("beta").Tickets()); n != 4 || m != 3 {
		t.Errorf("acme has %d tickets and beta %d, want 4 and 3", n, m)
	}
	a.Account("acme").Inject(Me, ServerError, 0)
	if status, _ := beta.me(str(fromBeta["access_token"])); status != 200 {
		t.Errorf("beta with a fault at acme: %d", status)
	}
	a.Account("acme").Inject(Me, NoFault, 0)
	a.Account("acme").DeleteClientTokens("zdg-app")
	if status, _ := beta.me(str(fromBeta["access_token"])); status != 200 {
		t.Errorf("beta's token after acme's admin deleted the client's tokens: %d, want 200", status)
	}
	if resp, _ := beta.authorize(authQuery("client_id", "zdg-app")); resp.StatusCode != http.StatusFound {
		t.Errorf("beta's remembered grant after acme's deletion: %d, want 302", resp.StatusCode)
	}
	if resp, _ := acme.authorize(authQuery("client_id", "zdg-app")); resp.StatusCode != 200 {
		t.Errorf("acme after its deletion: %d, want the consent page", resp.StatusCode)
	}
	a.Account("beta").SuspendUser(1)
	if resp, page := acme.authorize(authQuery("client_id", "zdg-app")); resp.StatusCode != 200 || checked(t, page) != "John Doe" {
		t.Errorf("acme after beta suspended its John: %d, want John offered", resp.StatusCode)
	}
}

func TestAccountsPanics(t *testing.T) {
	for name, accounts := range map[string]map[string]Options{
		"none":             {},
		"upper case":       {"Acme": {}},
		"a dot":            {"acme.eu": {}},
		"leading hyphen":   {"-acme": {}},
		"empty name":       {"": {}},
		"global, two ways": {"acme": {ClientID: "zdg-app", ClientSecret: "a"}, "beta": {ClientID: "zdg-app", ClientSecret: "b"}},
		"global, two redirect lists": {"acme": {ClientID: "zdg-app", RedirectURIs: []string{callback}},
			"beta": {ClientID: "zdg-app", RedirectURIs: []string{callback, callback + "2"}}},
		"invalid options": {"acme": {Users: []User{}}},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("NewAccounts(%v) did not panic", accounts)
				}
			}()
			NewAccounts(accounts).Close()
		})
	}
	// The same global client listed alike by two accounts is fine.
	NewAccounts(map[string]Options{"acme": {ClientID: "zdg-app", RedirectURIs: []string{callback}},
		"beta": {ClientID: "zdg-app", RedirectURIs: []string{callback}}}).Close()
}

func TestAccountsClose(t *testing.T) {
	entered := make(chan struct{})
	a := NewAccounts(map[string]Options{"acme": {}, "beta": {API: []API{{Pattern: "GET /api/v2/slow.json", Public: true,
		Handler: func(_ http.ResponseWriter, r *http.Request, _ Caller) {
			close(entered)
			<-r.Context().Done() // until Close ends the connection
		}}}}})
	client := &http.Client{Transport: &http.Transport{DialContext: a.DialContext}}
	errc := make(chan error, 1)
	go func() {
		resp, err := client.Get(a.URL("beta") + "/api/v2/slow.json")
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	<-entered
	resp, err := client.Get(a.URL("acme") + meP)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("acme while beta is busy: %v %v", resp, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if n := a.Connections(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
	start := time.Now()
	a.Close()
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v", d)
	}
	if err := <-errc; err == nil {
		t.Error("the request Close interrupted got an answer")
	}
	a.Close() // again: nothing
}
