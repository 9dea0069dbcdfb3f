package zendesksim

import (
	"net/http"
	"testing"
)

// TestZendeskPatterns lists endpoints as Zendesk's reference writes them,
// with .json after a wildcard, and calls them with and without .json.
func TestZendeskPatterns(t *testing.T) {
	const (
		show  = "GET /api/v2/tickets/{id}.json"
		count = "GET /api/v2/tickets/count.json"
		list  = "GET /api/v2/users/{id}/tickets/requested.json"
	)
	echo := func(w http.ResponseWriter, r *http.Request, _ Caller) {
		WriteJSON(w, http.StatusOK, map[string]string{"id": r.PathValue("id"), "path": r.URL.Path, "pattern": r.Pattern})
	}
	e := newEnv(t, Options{API: []API{{Pattern: show, Resource: "tickets", Handler: echo}, {Pattern: count, Resource: "tickets", Handler: echo}, {Pattern: list, Resource: "tickets", Handler: echo}}})
	auth := "Bearer " + str(e.loginWith("read")["access_token"])
	cases := []struct {
		path, id, pattern string
	}{
		{"/api/v2/tickets/35.json", "35", show},
		{"/api/v2/tickets/35", "35", show},
		{"/api/v2/tickets/35.json.json", "35.json", show}, // only one .json is Zendesk's
		{"/api/v2/tickets/a%2Fb.json", "a/b", show},
		{"/api/v2/tickets/count.json", "", count}, // a literal segment wins over {id}
		{"/api/v2/tickets/count", "", count},
		{"/api/v2/users/7/tickets/requested.json", "7", list},
		{"/api/v2/users/7/tickets/requested", "7", list},
	}
	for _, c := range cases {
		resp, b := e.do("GET", c.path, nil, "Authorization", auth)
		m := jsonMap(t, b)
		if resp.StatusCode != 200 || m["id"] != c.id || m["pattern"] != c.pattern {
			t.Errorf("GET %s: %d %s, want id %q from %s", c.path, resp.StatusCode, b, c.id, c.pattern)
		}
		if sent := resp.Request.URL.Path; m["path"] != sent {
			t.Errorf("GET %s: the handler saw path %v, want it as sent, %s", c.path, m["path"], sent)
		}
	}
	if st := e.sim.Stats(); st[Endpoint(show)] != 4 || st[Endpoint(count)] != 2 || st[Endpoint(list)] != 2 {
		t.Errorf("Stats() = %v, want each endpoint counted under its pattern, with or without .json", st)
	}
	// A wrong method, and paths the patterns do not cover, are Zendesk's 404.
	for _, c := range []struct{ method, path string }{
		{"PUT", "/api/v2/tickets/35.json"},
		{"GET", "/api/v2/tickets/35/comments.json"},
		{"GET", "/api/v2/tickets.json"},
		{"GET", "/oauth/tokens.json"}, // .json is routed away only under /api/
	} {
		if resp, b := e.do(c.method, c.path, nil, "Authorization", auth); resp.StatusCode != 404 || jsonMap(t, b)["error"] != "InvalidEndpoint" {
			t.Errorf("%s %s: %d %s, want 404 InvalidEndpoint", c.method, c.path, resp.StatusCode, b)
		}
	}
	// Built-in endpoints answer both forms too.
	for _, path := range []string{"/api/v2/users/me.json", "/api/v2/users/me"} {
		if resp, b := e.do("GET", path, nil, "Authorization", auth); resp.StatusCode != 200 || jsonMap(t, b)["user"].(map[string]any)["id"] != 1.0 {
			t.Errorf("GET %s: %d %s", path, resp.StatusCode, b)
		}
	}
	if n := e.sim.Stats()[Me]; n != 2 {
		t.Errorf("Stats()[Me] = %d, want 2", n)
	}
}

func TestZendeskPatternPanics(t *testing.T) {
	h := func(http.ResponseWriter, *http.Request, Caller) {}
	for _, c := range []struct {
		name string
		api  []API
	}{
		{"with and without .json", []API{{Pattern: "POST /api/v2/tickets.json", Resource: "tickets", Handler: h}, {Pattern: "POST /api/v2/tickets", Resource: "tickets", Handler: h}}},
		{"wildcard with and without .json", []API{{Pattern: "GET /api/v2/tickets/{id}.json", Resource: "tickets", Handler: h}, {Pattern: "GET /api/v2/tickets/{ticket_id}", Resource: "tickets", Handler: h}}},
		{".json in the middle", []API{{Pattern: "GET /api/v2/tickets/{id}.json/comments.json", Resource: "tickets", Handler: h}}},
		{"a wildcard and more in a segment", []API{{Pattern: "GET /api/v2/tickets/t{id}.json", Resource: "tickets", Handler: h}}},
		{"conflicting wildcards", []API{{Pattern: "GET /api/v2/{kind}/count.json", Resource: "tickets", Handler: h}, {Pattern: "GET /api/v2/tickets/{id}.json", Resource: "tickets", Handler: h}}},
		{"Show Self without .json", []API{{Pattern: "GET /api/v2/users/me", Resource: "users", Handler: h}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("New with API %v did not panic", c.api)
				}
			}()
			New(Options{API: c.api})
		})
	}
}
