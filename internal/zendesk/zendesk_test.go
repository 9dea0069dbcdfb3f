package zendesk

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
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
		wantKind     Kind
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
			wantKind: BadAnswer, wantNotInErr: "LEAKED-VALUE"},
		{name: "token type not bearer", status: 201, body: `{"access_token":"a","token_type":"mac"}`, wantKind: BadAnswer},
		{name: "redirect", status: 302, header: http.Header{"Location": {"https://elsewhere.example/"}}, wantKind: BadAnswer},
		{name: "invalid_client", status: 401, body: `{"error":"invalid_client","error_description":"LEAKED-VALUE"}`, wantKind: Rejected, wantNotInErr: "LEAKED-VALUE"},
		{name: "error as an object", status: 400, body: `{"error":{"title":"x"}}`, wantKind: Rejected},
		{name: "HTML 404", status: 404, contentType: "text/html", body: `<h1>LEAKED-VALUE</h1>`, wantKind: Rejected, wantNotInErr: "LEAKED-VALUE"},
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
			c := &Config{HTTPClient: NewHTTPClient(time.Second), ClientID: "id", BaseURL: func(string) string { return upstream.URL }, Now: func() time.Time { return now }}

			got, err := c.Exchange(context.Background(), "acme", "code", "verifier")
			var ze *Error
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
// expiry, and the grant's scope (RFC 6749 §6).
func TestRefreshWithoutNewRefreshToken(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(201)
		w.Write([]byte(`{"access_token":"new-access","token_type":"bearer","expires_in":1800}`))
	}))
	defer upstream.Close()
	c := &Config{ClientID: "id", BaseURL: func(string) string { return upstream.URL }}
	old := Token{AccessToken: "old-access", RefreshToken: "old-refresh", Scope: "users:read", RefreshExpiry: time.Date(2026, 12, 30, 0, 0, 0, 0, time.UTC)}
	got, err := c.Refresh(context.Background(), "acme", old)
	if err != nil {
		t.Fatal(err)
	}
	if got.AccessToken != "new-access" || got.RefreshToken != old.RefreshToken || !got.RefreshExpiry.Equal(old.RefreshExpiry) || got.Scope != old.Scope {
		t.Errorf("after refresh: %+v\nbefore: %+v", got, old)
	}
}

// A request the caller cannot build never leaves, and its error is not a
// *Error: it is the caller's bug, not Zendesk failing.
func TestRequestsThatCannotLeave(t *testing.T) {
	called := false
	upstream := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }))
	defer upstream.Close()
	c := &Config{BaseURL: func(string) string { return upstream.URL }}
	for name, req := range map[string]Request{
		"a body JSON cannot encode":  {Method: "POST", Path: "/api/v2/tickets.json", Body: make(chan int)},
		"a path no URL holds":        {Method: "GET", Path: "/api/v2/\x7f.json"},
		"an Idempotency-Key of CRLF": {Method: "POST", Path: "/api/v2/tickets.json", IdempotencyKey: "a\r\nX-Injected: 1"},
		"a header of the settings":   {Method: "GET", Path: "/api/v2/users/me.json", Token: "tok\x00en"},
	} {
		var e *Error
		if err := c.Do(context.Background(), req, nil); err == nil || errors.As(err, &e) || strings.Contains(err.Error(), "tok") {
			t.Errorf("%s: %v", name, err)
		}
	}
	if called {
		t.Error("Zendesk was called")
	}
	for v, want := range map[string]bool{"Acme app 1.0": true, "": true, "tab\there": false, "é": false, "a\nb": false} {
		if ValidHeaderValue(v) != want {
			t.Errorf("ValidHeaderValue(%q) = %v", v, !want)
		}
	}
}
