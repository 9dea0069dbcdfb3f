package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"zendesk-oauth-app/internal/zendesk"
	"zendesk-oauth-app/internal/zendesksim"
)

// slowZendesk answers every request after delay, in the bubble's time,
// unless the request is given up first: a Zendesk that is slow but works.
type slowZendesk struct {
	sim   http.Handler
	delay time.Duration
}

func (z slowZendesk) RoundTrip(r *http.Request) (*http.Response, error) {
	select {
	case <-time.After(z.delay):
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
	rec := httptest.NewRecorder()
	z.sim.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// A page whose Zendesk calls each take most of the time one may take, a
// refresh among them, answers before the server's write timeout: the 504
// page, carrying the rotated pair, so the next view needs no new
// authorization. (In a testing/synctest bubble: the waits take no time.)
func TestSlowZendeskAnswersInTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sim := zendesksim.New(zendesksim.Options{ClientID: "test-client", ClientSecret: "test-client-secret",
			RedirectURIs: []string{"http://localhost:3000/zendesk/oauth/callback"}})
		cfg, err := loadConfig(map[string]string{"ZENDESK_SUBDOMAIN": "acme", "ZENDESK_CLIENT_ID": "test-client",
			"ZENDESK_CLIENT_SECRET": "test-client-secret", "SESSION_SECRET": testSessionSecret, "ZENDESK_BASE_URL": "http://localhost:9"}, false)
		if err != nil {
			t.Fatal(err)
		}
		a, err := newApp(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		callTimeout := cfg.zendeskTimeout
		a.zendesk.HTTPClient = &http.Client{Timeout: callTimeout, Transport: slowZendesk{sim, callTimeout * 8 / 10}}

		// A session whose access token is about to expire.
		verifier := zendesk.GenerateVerifier()
		consent := httptest.NewRequest("POST", a.zendesk.AuthCodeURL("acme", "state", verifier), strings.NewReader("decision=allow"))
		consent.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		allowed := httptest.NewRecorder()
		sim.ServeHTTP(allowed, consent)
		back, _ := url.Parse(allowed.Header().Get("Location"))
		tok, err := a.zendesk.Exchange(context.Background(), "acme", back.Query().Get("code"), verifier)
		if err != nil {
			t.Fatal(err)
		}
		signedIn := httptest.NewRecorder()
		if err := a.saveSession(signedIn, httptest.NewRequest("GET", "/", nil), &session{Subdomain: "acme", UserID: 1, SignedInAt: time.Now(), Token: *tok}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(zendesk.AccessTokenLifetime - 30*time.Second)

		page := route{"GET", "/slow", a.requireSignIn(func(w http.ResponseWriter, r *http.Request, api *userAPI) error {
			for range 5 {
				if _, err := showSelf(api.Get); err != nil {
					return err
				}
			}
			return nil
		})}
		handler := withRoutes(a, page)
		req := httptest.NewRequest("GET", "/slow", nil)
		for _, c := range signedIn.Result().Cookies() {
			req.AddCookie(c)
		}
		resp := httptest.NewRecorder()
		start := time.Now()
		handler.ServeHTTP(resp, req)
		if elapsed, limit := time.Since(start), newServer(a).WriteTimeout; elapsed >= limit-writeMargin/2 {
			t.Errorf("answered after %v: the write timeout (%v) leaves no room to write the page", elapsed, limit)
		}
		if resp.Code != http.StatusGatewayTimeout {
			t.Errorf("status %d, want 504", resp.Code)
		}

		next := httptest.NewRequest("GET", "/", nil)
		for _, c := range resp.Result().Cookies() {
			next.AddCookie(c)
		}
		var s session
		if found, _, err := a.cookies.Get(next, sessionCookie, &s); !found || err != nil || s.RefreshToken == tok.RefreshToken {
			t.Fatalf("the 504 page does not carry the rotated pair (found %v, %v)", found, err)
		}
		again := httptest.NewRecorder()
		handler.ServeHTTP(again, next)
		if again.Code != http.StatusOK || !strings.Contains(again.Body.String(), "Hi, John Doe!") {
			t.Errorf("the next view: status %d", again.Code)
		}
		if st := sim.Stats(); st[zendesksim.Refresh] != 1 || st[zendesksim.Authorize] != 0 {
			t.Errorf("stats %v: want one refresh and no new authorization", st)
		}
	})
}
