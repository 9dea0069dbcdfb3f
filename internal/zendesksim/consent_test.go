package zendesksim

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// browserEnv is newEnv with a client that keeps cookies, as a browser does.
func browserEnv(t *testing.T, opts Options) *env {
	t.Helper()
	e := newEnv(t, opts)
	e.client = idpBrowser()
	return e
}

// signedInAs exchanges the code in an authorization answer and returns
// the name Show Self gives for the token.
func (e *env) signedInAs(resp *http.Response) string {
	e.t.Helper()
	q := redirectedTo(e.t, resp)
	status, m := e.token(exchangeParams(q.Get("code")))
	if status != http.StatusCreated {
		e.t.Fatalf("exchange: %d %v", status, m)
	}
	status, me := e.me(str(m["access_token"]))
	if status != 200 {
		e.t.Fatalf("Show Self: %d %v", status, me)
	}
	return str(me["user"].(map[string]any)["name"])
}

// allow posts the consent form's Allow with form (the user field, or none).
func (e *env) allow(q url.Values, form url.Values) *http.Response {
	e.t.Helper()
	form.Set("decision", "allow")
	resp, _ := e.do("POST", authorizeP+"?"+q.Encode(), strings.NewReader(form.Encode()), "Content-Type", "application/x-www-form-urlencoded")
	return resp
}

// checked returns the name of the user the consent page has checked, and
// names in its sentence.
func checked(t *testing.T, page string) string {
	t.Helper()
	m := regexp.MustCompile(`<input type="radio" name="user" value="\d+" id="(user-\d+)" checked> <label for="(user-\d+)">([^<(]*) \(`).FindAllStringSubmatch(page, -1)
	if len(m) != 1 || m[0][1] != m[0][2] {
		t.Fatalf("want one checked user with its label, got %q in\n%s", m, page)
	}
	if !strings.Contains(page, "wants to access your Zendesk account as <strong>"+m[0][3]+"</strong>.") {
		t.Errorf("the page's sentence does not name %s, the user checked:\n%s", m[0][3], page)
	}
	return m[0][3]
}

func TestSignInAs(t *testing.T) {
	e := browserEnv(t, Options{})
	resp, page := e.authorize(authQuery())
	if resp.StatusCode != 200 || checked(t, page) != "John Doe" {
		t.Fatalf("first visit: %d, want the consent page with John Doe chosen", resp.StatusCode)
	}

	// Allow as Jane: the code is hers, and so is the browser's session.
	resp = e.allow(authQuery(), url.Values{"user": {"2"}})
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie {
			session = c
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Path != "/" || session.Secure {
		t.Fatalf("Allow set the session cookie %+v, want HttpOnly, SameSite=Lax, Path=/, not Secure over HTTP", session)
	}
	if name := e.signedInAs(resp); name != "Jane Roe" {
		t.Errorf("allowed as Jane, Show Self says %q", name)
	}

	// The remembered grant goes straight back as Jane; other scopes ask
	// again, Jane chosen.
	resp, _ = e.authorize(authQuery("state", "again"))
	if name := e.signedInAs(resp); name != "Jane Roe" {
		t.Errorf("remembered grant: signed in as %q, want Jane Roe", name)
	}
	if resp, page := e.authorize(authQuery("scope", "users:read tickets:read")); resp.StatusCode != 200 || checked(t, page) != "Jane Roe" {
		t.Errorf("other scopes: %d, want the consent page with Jane Roe chosen", resp.StatusCode)
	}

	// Another browser is nobody's session: John, who allowed nothing yet.
	other := newEnv(t, Options{})
	other.url, other.sim = e.url, e.sim
	if resp, page := other.authorize(authQuery()); resp.StatusCode != 200 || checked(t, page) != "John Doe" {
		t.Errorf("another browser: %d, want the consent page with John Doe chosen", resp.StatusCode)
	}

	// A form without the user field is the first user's, and the session
	// becomes his.
	if name := e.signedInAs(e.allow(authQuery("scope", "read"), url.Values{})); name != "John Doe" {
		t.Errorf("Allow without a user field: signed in as %q, want John Doe", name)
	}
	if resp, page := e.authorize(authQuery()); resp.StatusCode != 200 || checked(t, page) != "John Doe" {
		t.Errorf("after John allowed: %d, want the consent page (John allowed only read) with John Doe chosen", resp.StatusCode)
	}

	// Deny changes no session.
	e.decide(authQuery("scope", "write"), "deny")
	if _, page := e.authorize(authQuery("scope", "write")); checked(t, page) != "John Doe" {
		t.Error("Deny changed who is signed in")
	}

	// Users that do not exist are refused, and no grant or code is made.
	for _, bad := range []string{"99", "abc", "", "-1"} {
		resp := e.allow(authQuery("scope", "users:write"), url.Values{"user": {bad}})
		if resp.StatusCode != 400 || resp.Header.Get("Location") != "" {
			t.Errorf("Allow as user %q: %d to %q, want the 400 page", bad, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	if st := e.sim.Stats(); st[Exchange] != 3 || st[Consent] != 5 {
		t.Errorf("Stats() = %v, want 3 exchanges and 5 consent pages", st)
	}
}

func TestSignInChoices(t *testing.T) {
	e := browserEnv(t, Options{Users: []User{
		{ID: 7, Name: "Sam <Suspended>", Role: "admin", Suspended: true},
		{ID: 8, Name: "Alan Agent", Role: "agent"},
		{ID: 9, Name: "Erin & Co", Role: "end-user"},
	}})
	resp, page := e.authorize(authQuery())
	if resp.StatusCode != 200 || checked(t, page) != "Alan Agent" {
		t.Fatalf("%d, want the consent page with the first user who is not suspended", resp.StatusCode)
	}
	checkPage(t, resp, page, "Simulated Zendesk")
	if strings.Contains(page, "Suspended") || !strings.Contains(page, `<label for="user-9">Erin &amp; Co (end user)</label>`) ||
		!strings.Contains(page, `<label for="user-8">Alan Agent (agent)</label>`) {
		t.Errorf("the page must offer Alan and Erin, escaped, and not the suspended user:\n%s", page)
	}
	// Every radio button has a label, inside one fieldset with a legend.
	inputs := regexp.MustCompile(`<input type="radio" name="user" value="(\d+)" id="([^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(inputs) != 2 || strings.Count(page, "<fieldset>") != 1 || !strings.Contains(page, "<legend>Sign in as</legend>") {
		t.Errorf("%d radio buttons; want 2 in a fieldset with a legend", len(inputs))
	}
	for _, in := range inputs {
		if in[2] != "user-"+in[1] || !strings.Contains(page, `<label for="`+in[2]+`">`) {
			t.Errorf("radio button %s has no label", in[2])
		}
	}
	// The suspended user cannot be chosen; a form without a user is Alan.
	if resp := e.allow(authQuery(), url.Values{"user": {"7"}}); resp.StatusCode != 400 {
		t.Errorf("Allow as the suspended user: %d, want 400", resp.StatusCode)
	}
	if name := e.signedInAs(e.allow(authQuery(), url.Values{})); name != "Alan Agent" {
		t.Errorf("Allow without a user: %q, want Alan Agent", name)
	}
	// Nobody may sign in when everyone is suspended.
	none := browserEnv(t, Options{Users: []User{{ID: 1, Name: "A", Role: "admin", Suspended: true}}})
	if resp, _ := none.authorize(authQuery()); resp.StatusCode != 403 || resp.Header.Get("Location") != "" {
		t.Errorf("every user suspended: %d, want the 403 page", resp.StatusCode)
	}
}

// TestSessionCookieName: the simulator's cookie is not one of the app's,
// which it shares a host with in tests (cookies ignore ports).
func TestSessionCookieName(t *testing.T) {
	for _, app := range []string{"session", "draft", "zendesk_subdomain"} {
		if sessionCookie == app {
			t.Errorf("the simulator's session cookie is the app's %q", app)
		}
	}
	if strings.HasPrefix(sessionCookie, "oauth_flow") {
		t.Errorf("the simulator's session cookie %q looks like the app's oauth_flow cookies", sessionCookie)
	}
}

// TestSignInAsAfterSingleSignOn: with an identity provider, the consent
// page's choice goes into the session single sign-on started.
func TestSignInAsAfterSingleSignOn(t *testing.T) {
	srv := NewServer(Options{IdentityProvider: true, RedirectURIs: []string{callback}})
	defer srv.Close()
	e := &env{t, srv.Simulator, srv.URL, idpBrowser()}
	resp, _ := e.authorize(authQuery())
	resp, _ = fetch(t, e.client, "POST", resp.Header.Get("Location")[:strings.Index(resp.Header.Get("Location"), "?")],
		url.Values{"return_to": {authorizeP + "?" + authQuery().Encode()}})
	resp, _ = fetch(t, e.client, "GET", resp.Header.Get("Location"), nil) // /access/jwt: signed in
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("single sign-on: %d", resp.StatusCode)
	}
	resp = e.allow(authQuery(), url.Values{"user": {"2"}})
	if len(resp.Cookies()) != 0 {
		t.Errorf("Allow set %v; the session single sign-on started is the one to keep", resp.Cookies())
	}
	if name := e.signedInAs(resp); name != "Jane Roe" {
		t.Errorf("signed in as %q, want Jane Roe", name)
	}
	resp, _ = e.authorize(authQuery("state", "again"))
	if name := e.signedInAs(resp); name != "Jane Roe" {
		t.Errorf("remembered grant: signed in as %q, want Jane Roe", name)
	}
}
