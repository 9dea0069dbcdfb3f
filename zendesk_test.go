package main

import (
	"cmp"
	"context"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"zendesk-oauth-app/internal/zendesksim"
)

// Replies no simulator fault produces, against a bare upstream.
func TestTokenReplies(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name         string
		status       int
		contentType  string
		body         string
		header       http.Header
		wantKind     errorKind
		wantAccess   time.Time // when the reply is accepted
		wantRefresh  time.Time
		wantNotInErr string
	}{
		{name: "201 with numbers", status: 201, body: `{"access_token":"a","token_type":"bearer","refresh_token":"r","expires_in":1800,"refresh_token_expires_in":2592000}`,
			wantAccess: now.Add(30 * time.Minute), wantRefresh: now.Add(30 * 24 * time.Hour)},
		{name: "lifetimes as strings", status: 200, body: `{"access_token":"a","token_type":"Bearer","expires_in":"600"}`,
			wantAccess: now.Add(10 * time.Minute)},
		{name: "null lifetime: no expiry", status: 201, body: `{"access_token":"a","expires_in":null}`},
		{name: "lifetime capped at 90 days", status: 201, body: `{"access_token":"a","expires_in":99999999999999}`,
			wantAccess: now.Add(90 * 24 * time.Hour)},
		{name: "a bad lifetime is not quoted", status: 201, body: `{"access_token":"a","expires_in":{"secret":"LEAKED-VALUE"}}`,
			wantKind: badAnswer, wantNotInErr: "LEAKED-VALUE"},
		{name: "token type not bearer", status: 201, body: `{"access_token":"a","token_type":"mac"}`, wantKind: badAnswer},
		{name: "redirect", status: 302, header: http.Header{"Location": {"https://elsewhere.example/"}}, wantKind: badAnswer},
		{name: "invalid_client", status: 401, body: `{"error":"invalid_client","error_description":"LEAKED-VALUE"}`, wantKind: rejected, wantNotInErr: "LEAKED-VALUE"},
		{name: "error as an object", status: 400, body: `{"error":{"title":"x"}}`, wantKind: rejected},
		{name: "HTML 404", status: 404, contentType: "text/html", body: `<h1>LEAKED-VALUE</h1>`, wantKind: rejected, wantNotInErr: "LEAKED-VALUE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tc.header {
					w.Header()[k] = v
				}
				w.Header().Set("Content-Type", cmp.Or(tc.contentType, "application/json"))
				w.WriteHeader(tc.status)
				w.Write([]byte(tc.body))
			}))
			defer upstream.Close()
			c := &zendeskClient{http: newHTTPClient(time.Second), clientID: "id", instanceURL: func(string) string { return upstream.URL }, now: func() time.Time { return now }}

			got, err := c.exchange(context.Background(), "acme", "code", "verifier")
			var ze *zendeskError
			if tc.wantKind != 0 {
				if !errors.As(err, &ze) || ze.Kind != tc.wantKind {
					t.Fatalf("err = %v, want kind %d", err, tc.wantKind)
				}
				if tc.wantNotInErr != "" && strings.Contains(err.Error(), tc.wantNotInErr) {
					t.Errorf("the error quotes the reply: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.AccessExpiry.Equal(tc.wantAccess) || !got.RefreshExpiry.Equal(tc.wantRefresh) {
				t.Errorf("expiry %v / %v, want %v / %v", got.AccessExpiry, got.RefreshExpiry, tc.wantAccess, tc.wantRefresh)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	for value, want := range map[string]time.Duration{
		"30":                            30 * time.Second,
		"999999999999":                  time.Hour,
		"Sat, 28 Nov 2026 12:01:00 GMT": time.Minute,
		"Sat, 28 Nov 2026 11:00:00 GMT": 0,
		"soon":                          0,
		"":                              0,
	} {
		if got := retryAfter(http.Header{"Retry-After": {value}}, now); got != want {
			t.Errorf("Retry-After %q: %v, want %v", value, got, want)
		}
	}
}

// A refresh reply without a new refresh token keeps the old one, and its
// expiry.
func TestRefreshWithoutNewRefreshToken(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	b.signIn()
	before := b.session()

	// The refresh reply carries no refresh_token.
	e.intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/oauth/tokens" {
			return false
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(201)
		w.Write([]byte(`{"access_token":"new-access","token_type":"bearer","expires_in":1800}`))
		return true
	})

	e.advance(29*time.Minute + 30*time.Second)
	s := before
	if err := e.app.userAPI(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil), &s).refresh(); err != nil {
		t.Fatal(err)
	}
	if s.AccessToken != "new-access" || s.RefreshToken != before.RefreshToken || !s.RefreshExpiry.Equal(before.RefreshExpiry) {
		t.Errorf("after refresh: %+v\nbefore: %+v", s, before)
	}
}

// A team's API call that Zendesk answers with 404 gets a 404 page, not
// "check the OAuth client".
func TestZendeskNotFound(t *testing.T) {
	e := newEnv(t, envOptions{})
	rec := httptest.NewRecorder()
	e.app.failZendesk(rec, httptest.NewRequest("GET", "/tickets/9", nil), &zendeskError{Op: "GET /api/v2/tickets/9.json", Kind: rejected, Status: 404, Code: "RecordNotFound"})
	if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "Not found at Zendesk") {
		t.Errorf("status %d\n%s", rec.Code, rec.Body)
	}
}

// A request the app cannot even build is the app's own bug: a 500 page,
// not "Zendesk is not available", and Zendesk is never called.
func TestAppBugIsNotZendesksFault(t *testing.T) {
	for name, call := range map[string]func(api *userAPI) error{
		"a body JSON cannot encode": func(api *userAPI) error { return api.post("/api/v2/tickets.json", make(chan int), nil) },
		"a path no URL can hold":    func(api *userAPI) error { return api.get("/api/v2/\x7f.json", nil) },
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			e.serve(e.app.routes(route{"GET", "/bug", e.app.requireSignIn("tickets:write", func(w http.ResponseWriter, r *http.Request, api *userAPI) error {
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
	e.serve(e.app.routes(route{"GET", "/all", e.app.requireSignIn("tickets:write", func(w http.ResponseWriter, r *http.Request, api *userAPI) error {
		for _, call := range []func(out any) error{
			func(out any) error { return api.get("/api/v2/tickets/7.json", out) },
			func(out any) error {
				return api.put("/api/v2/tickets/7.json", map[string]string{"status": "solved"}, out)
			},
			func(out any) error {
				return api.patch("/api/v2/tickets/7.json", map[string]string{"priority": "high"}, out)
			},
			func(out any) error { return api.post("/api/v2/tickets/7/tags.json", []string{"urgent"}, out) },
		} {
			var reply struct{ Ticket struct{ ID int64 } }
			if err := call(&reply); err != nil {
				return err
			}
			ids = append(ids, reply.Ticket.ID)
		}
		return api.delete("/api/v2/tickets/7.json")
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
