package zendesksim

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// signIn signs the browser of e in as the user with id, through the
// consent page, and returns the token response.
func (e *env) signIn(id string, scope string) map[string]any {
	e.t.Helper()
	q := redirectedTo(e.t, e.allow(authQuery("scope", scope), url.Values{"user": {id}}))
	p := exchangeParams(q.Get("code"))
	p.Set("scope", scope)
	status, m := e.token(p)
	if status != http.StatusCreated {
		e.t.Fatalf("exchange: %d %v", status, m)
	}
	return m
}

func TestDeleteClientTokens(t *testing.T) {
	e := browserEnv(t, Options{})
	john := e.signIn("1", "users:read")
	jane := e.signIn("2", "users:read") // the browser's session is Jane's
	pending := redirectedTo(t, e.allow(authQuery(), url.Values{"user": {"2"}})).Get("code")
	if resp, _ := e.authorize(authQuery()); resp.StatusCode != http.StatusFound {
		t.Fatalf("before: %d, want Jane's remembered grant", resp.StatusCode)
	}

	e.sim.DeleteClientTokens("someone-else") // another client's tokens: nothing here
	if status, _ := e.me(str(john["access_token"])); status != 200 {
		t.Fatalf("after deleting another client's tokens: %d", status)
	}

	e.sim.DeleteClientTokens("demo-client")
	for name, m := range map[string]map[string]any{"John": john, "Jane": jane} {
		if status, body := e.me(str(m["access_token"])); status != 401 || body["error"] != "invalid_token" {
			t.Errorf("%s's access token: %d %v, want 401 invalid_token", name, status, body)
		}
		if status, body := e.token(refreshParams(str(m["refresh_token"]))); status != 400 || body["error"] != "invalid_grant" {
			t.Errorf("%s's refresh: %d %v, want 400 invalid_grant", name, status, body)
		}
		if e.sim.Revoked(str(m["access_token"])) {
			t.Errorf("%s's token counts as revoked; it was deleted", name)
		}
	}
	if status, body := e.token(exchangeParams(pending)); status != 400 || body["error"] != "invalid_grant" {
		t.Errorf("a code issued before: %d %v, want 400 invalid_grant", status, body)
	}
	// Authorizing again shows the consent page, still as Jane: the Zendesk
	// session survives, the grant does not.
	resp, page := e.authorize(authQuery())
	if resp.StatusCode != 200 || checked(t, page) != "Jane Roe" {
		t.Fatalf("after: %d, want the consent page with Jane Roe chosen", resp.StatusCode)
	}
	if name := e.signedInAs(e.allow(authQuery(), url.Values{"user": {"2"}})); name != "Jane Roe" {
		t.Errorf("signing in again: %q", name)
	}
}

func TestSuspendUser(t *testing.T) {
	e := browserEnv(t, Options{API: []API{updateUser}})
	john := e.signIn("1", "users:read users:write")
	jane := e.signIn("2", "users:read") // the browser's session is Jane's
	e.sim.SuspendUser(2)

	if status, body := e.me(str(jane["access_token"])); status != 401 || body["error"] != "invalid_token" {
		t.Errorf("Jane's access token: %d %v, want 401", status, body)
	}
	if status, body := e.token(refreshParams(str(jane["refresh_token"]))); status != 400 || body["error"] != "invalid_grant" {
		t.Errorf("Jane's refresh: %d %v, want invalid_grant", status, body)
	}
	if status, _ := e.me(str(john["access_token"])); status != 200 {
		t.Errorf("John's access token: %d, want 200", status)
	}
	if u := e.sim.Users()[1]; !u.Suspended {
		t.Errorf("Jane %+v, want suspended", u)
	}
	// Her session ended: the browser is John's again, and Jane is not offered.
	resp, page := e.authorize(authQuery("scope", "read"))
	if resp.StatusCode != 200 || checked(t, page) != "John Doe" || strings.Contains(page, "Jane Roe") {
		t.Errorf("after: %d, want the consent page with John Doe chosen and without Jane Roe", resp.StatusCode)
	}
	if resp := e.allow(authQuery(), url.Values{"user": {"2"}}); resp.StatusCode != 400 {
		t.Errorf("Allow as Jane: %d, want 400", resp.StatusCode)
	}

	// A team's endpoint that suspends ends access the same way.
	viaAPI := browserEnv(t, Options{API: []API{updateUser, {Pattern: "PUT /api/v2/users/{id}/suspend.json", Resource: "users",
		Handler: func(w http.ResponseWriter, r *http.Request, c Caller) {
			id, _ := PathID(r, "id")
			u, err := c.UpdateUser(id, func(u *User) error { u.Suspended = true; return nil })
			if err != nil {
				WriteError(w, err)
				return
			}
			WriteJSON(w, http.StatusOK, map[string]any{"user": u})
		}}}})
	admin := str(viaAPI.signIn("1", "users:read users:write")["access_token"])
	victim := viaAPI.signIn("2", "users:read")
	resp, b := viaAPI.do("PUT", "/api/v2/users/2/suspend.json", nil, "Authorization", "Bearer "+admin)
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"suspended":true`) {
		t.Fatalf("suspend through the API: %d %s", resp.StatusCode, b)
	}
	if status, _ := viaAPI.me(str(victim["access_token"])); status != 401 {
		t.Errorf("the suspended user's token: %d, want 401", status)
	}
	if status, body := viaAPI.token(refreshParams(str(victim["refresh_token"]))); status != 400 || body["error"] != "invalid_grant" {
		t.Errorf("the suspended user's refresh: %d %v", status, body)
	}

	// A code whose user is suspended before the exchange is worthless,
	// even one that slipped past the suspension.
	late := browserEnv(t, Options{})
	code := redirectedTo(t, late.allow(authQuery(), url.Values{"user": {"2"}})).Get("code")
	late.sim.store.suspend(2) // the suspension alone, not the end of access that follows it
	if status, body := late.token(exchangeParams(code)); status != 400 || body["error"] != "invalid_grant" {
		t.Errorf("exchange of a suspended user's code: %d %v, want invalid_grant", status, body)
	}

	defer func() {
		if recover() == nil {
			t.Error("SuspendUser(99) did not panic")
		}
	}()
	e.sim.SuspendUser(99)
}

func TestCreateToken(t *testing.T) {
	e := newEnv(t, Options{})
	access, refresh := e.sim.CreateToken(2, "users:read")
	status, me := e.me(access)
	if status != 200 || me["user"].(map[string]any)["name"] != "Jane Roe" {
		t.Fatalf("Show Self with a created token: %d %v", status, me)
	}
	if _, claims, _ := jwtParts(t, access); claims["sub"] != "2" || claims["client_id"] != "demo-client" || claims["scope"] != "users:read" {
		t.Errorf("claims %v", claims)
	}
	if status, m := e.token(refreshParams(refresh)); status != 201 || m["scope"] != "users:read" {
		t.Errorf("refresh of a created token: %d %v", status, m)
	}
	// No consent was given: signing in still asks.
	if resp, _ := e.authorize(authQuery()); resp.StatusCode != 200 {
		t.Errorf("authorization after CreateToken: %d, want the consent page", resp.StatusCode)
	}
	if _, refresh := New(Options{NoRefreshToken: true}).CreateToken(1, "read"); refresh != "" {
		t.Error("NoRefreshToken: CreateToken made a refresh token")
	}
	for name, f := range map[string]func(){
		"unknown user":   func() { e.sim.CreateToken(99, "read") },
		"suspended user": func() { s := New(Options{}); s.SuspendUser(2); s.CreateToken(2, "read") },
		"no scope":       func() { e.sim.CreateToken(1, " ") },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("CreateToken, %s: did not panic", name)
				}
			}()
			f()
		}()
	}
}
