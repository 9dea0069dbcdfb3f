package main

import (
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"zendesk-oauth-app/internal/zendesk"
	"zendesk-oauth-app/internal/zendesksim"
)

// A team's API call that Zendesk answers with 404 gets a 404 page, not
// "check the OAuth client".
func TestZendeskNotFound(t *testing.T) {
	e := newEnv(t, envOptions{})
	rec := httptest.NewRecorder()
	err := &zendesk.Error{Op: "GET /api/v2/tickets/9.json", Kind: zendesk.Rejected, Status: 404, Code: "RecordNotFound"}
	e.app.fail(rec, httptest.NewRequest("GET", "/tickets/9", nil), e.app.zendeskErrorPage(err), err)
	if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "Not found at Zendesk") {
		t.Errorf("status %d\n%s", rec.Code, rec.Body)
	}
}

// A request the app cannot even build is the app's own bug: a 500 page,
// not "Zendesk is not available", and Zendesk is never called.
func TestAppBugIsNotZendesksFault(t *testing.T) {
	for name, call := range map[string]func(api *userAPI) error{
		"a body JSON cannot encode": func(api *userAPI) error { return api.Post("/api/v2/tickets.json", make(chan int), nil) },
		"a path no URL can hold":    func(api *userAPI) error { return api.Get("/api/v2/\x7f.json", nil) },
		"a header no request can carry": func(api *userAPI) error {
			return api.Create("/api/v2/tickets.json", "key\r\nX-Injected: 1", map[string]string{}, nil)
		},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			e.serve(withRoutes(e.app, route{"GET", "/bug", e.app.requireSignIn(func(w http.ResponseWriter, r *http.Request, api *userAPI) error {
				return call(api)
			})}))
			b := e.browser()
			b.signIn()
			before := e.sim.Stats()
			resp := b.get("/bug")
			if resp.StatusCode != http.StatusInternalServerError {
				t.Errorf("status %d, want 500", resp.StatusCode)
			}
			mustContain(t, resp.body, "Something went wrong")
			assertOneLogLine(t, e, resp)
			if after := e.sim.Stats(); !maps.Equal(before, after) {
				t.Errorf("Zendesk was called: %v, then %v", before, after)
			}
		})
	}
}

// Every method of userAPI sends its method, its JSON body and the bearer
// token, and decodes Zendesk's JSON answer.
func TestUserAPIMethods(t *testing.T) {
	var got []string
	echo := func(w http.ResponseWriter, r *http.Request, c zendesksim.Caller) {
		body, _ := io.ReadAll(r.Body)
		got = append(got, r.Method+" "+r.URL.Path+" "+string(body)+" "+r.Header.Get("Idempotency-Key"))
		zendesksim.WriteJSON(w, http.StatusOK, map[string]any{"ticket": map[string]any{"id": 7}})
	}
	var api []zendesksim.API
	for _, pattern := range []string{"GET /api/v2/tickets/7.json", "PUT /api/v2/tickets/7.json", "PATCH /api/v2/tickets/7.json", "DELETE /api/v2/tickets/7.json", "POST /api/v2/tickets/7/tags.json"} {
		api = append(api, zendesksim.API{Pattern: pattern, Resource: "tickets", Handler: echo})
	}
	e := newEnv(t, envOptions{vars: map[string]string{"ZENDESK_SCOPES": "read write"}, sim: zendesksim.Options{API: api}})
	var ids []int64
	e.serve(withRoutes(e.app, route{"GET", "/all", e.app.requireSignIn(func(w http.ResponseWriter, r *http.Request, api *userAPI) error {
		for _, call := range []func(out any) error{
			func(out any) error { return api.Get("/api/v2/tickets/7.json", out) },
			func(out any) error {
				return api.Put("/api/v2/tickets/7.json", map[string]string{"status": "solved"}, out)
			},
			func(out any) error {
				return api.Patch("/api/v2/tickets/7.json", map[string]string{"priority": "high"}, out)
			},
			func(out any) error { return api.Post("/api/v2/tickets/7/tags.json", []string{"urgent"}, out) },
		} {
			var reply struct{ Ticket struct{ ID int64 } }
			if err := call(&reply); err != nil {
				return err
			}
			ids = append(ids, reply.Ticket.ID)
		}
		return api.Delete("/api/v2/tickets/7.json")
	})}))
	b := e.browser()
	b.signIn()
	if resp := b.get("/all"); resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d\n%s", resp.StatusCode, resp.body)
	}
	want := []string{
		"GET /api/v2/tickets/7.json  ",
		`PUT /api/v2/tickets/7.json {"status":"solved"} `,
		`PATCH /api/v2/tickets/7.json {"priority":"high"} `,
		`POST /api/v2/tickets/7/tags.json ["urgent"] `,
		"DELETE /api/v2/tickets/7.json  ",
	}
	if !slices.Equal(got, want) || !slices.Equal(ids, []int64{7, 7, 7, 7}) {
		t.Errorf("Zendesk saw\n%q\nwant\n%q\nand the answers decoded to %v", got, want, ids)
	}
}
