package main

import (
	"crypto/rand"
	"os"

	"zendesk-oauth-app/internal/securecookie"

	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"zendesk-oauth-app/internal/zendesk"
	"zendesk-oauth-app/internal/zendesksim"
)

// A cookie sealed by an app with the same secret but configured for
// another client or Zendesk instance, or for any instance, is no session
// here: signed out, cleared, logged. The same for a sign-in in progress.
func TestCookiesAreBoundToTheInstance(t *testing.T) {
	e := newEnv(t, envOptions{})
	payload := &session{Subdomain: "evilcorp", UserID: 666, Token: zendesk.Token{AccessToken: "stolen"}}
	state := rand.Text()
	flowPayload := &flow{Verifier: zendesk.GenerateVerifier(), Subdomain: "acme"}
	for _, instance := range []string{"test-client@*", "test-client@evilcorp", "other-client@acme"} {
		t.Run(instance, func(t *testing.T) {
			foreign, err := securecookie.New([][]byte{[]byte(testSessionSecret)}, instance)
			if err != nil {
				t.Fatal(err)
			}
			b := e.browser()
			b.setCookie("session", sealString(foreign, "session", payload, e.appClock.Now().Add(time.Hour)))
			resp := b.get("/")
			mustContain(t, resp.body, "Sign in to Zendesk")
			if strings.Contains(resp.body, "evilcorp") {
				t.Error("the page shows the foreign instance")
			}
			if c := setCookieHeader(resp, "session"); c == nil || c.MaxAge >= 0 {
				t.Errorf("the foreign session cookie was not cleared: %v", resp.Header["Set-Cookie"])
			}

			b.setCookie(flowCookie+state, sealString(foreign, flowCookie+state, flowPayload, e.appClock.Now().Add(time.Hour)))
			if resp := b.get("/zendesk/oauth/callback?code=c&state=" + state); resp.StatusCode != http.StatusBadRequest {
				t.Errorf("callback with a foreign flow: status %d, want 400", resp.StatusCode)
			}
		})
	}
	if n := strings.Count(e.logs.String(), "session cookie refused"); n != 3 {
		t.Errorf("%d log lines about refused session cookies, want 3", n)
	}
	if st := e.sim.Stats(); st[zendesksim.Exchange]+st[zendesksim.Me] != 0 {
		t.Errorf("a foreign cookie made the app call Zendesk: %+v", st)
	}
}

// Cookies read back as written. A field added to a struct costs no format
// change: a cookie sealed before the field existed opens, with the field
// zero. A value of another shape does not open.
func TestCookiesReadBack(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.app.cookies
	when := e.appClock.Now().Add(time.Hour)
	roundTrip := func(in, out any) error {
		req := httptest.NewRequest("GET", "/", nil)
		req.AddCookie(&http.Cookie{Name: "session", Value: sealString(c.Codec, "session", in, when)})
		_, _, err := c.Get(req, sessionCookie, out)
		return err
	}
	in := session{Subdomain: "acme", UserID: 42, SignedInAt: when.Add(-time.Hour), Token: zendesk.Token{
		AccessToken: "a.b.c", RefreshToken: "r", Scope: defaultScopes, AccessExpiry: when, RefreshExpiry: when.Add(time.Hour)}}
	var out session
	if err := roundTrip(&in, &out); err != nil || out.Subdomain != in.Subdomain || out.UserID != in.UserID || out.Scope != in.Scope ||
		!out.SignedInAt.Equal(in.SignedInAt) || out.AccessToken != in.AccessToken || out.RefreshToken != in.RefreshToken ||
		!out.AccessExpiry.Equal(in.AccessExpiry) || !out.RefreshExpiry.Equal(in.RefreshExpiry) {
		t.Errorf("read back %+v (%v), want %+v", out, err, in)
	}

	// The session as it was before SignedInAt and the scope existed.
	type olderSession struct {
		Subdomain   string
		UserID      int64
		AccessToken string
	}
	var upgraded session
	if err := roundTrip(&olderSession{Subdomain: "acme", UserID: 7, AccessToken: "a"}, &upgraded); err != nil ||
		upgraded.Subdomain != "acme" || upgraded.UserID != 7 || upgraded.AccessToken != "a" || upgraded.Scope != "" || !upgraded.SignedInAt.IsZero() {
		t.Errorf("an older session read back as %+v (%v)", upgraded, err)
	}

	if err := roundTrip("a string", &out); err != securecookie.ErrInvalid {
		t.Errorf("a string read as a session: %v, want securecookie.ErrInvalid", err)
	}
	if err := roundTrip(map[string]any{"UserID": "not a number"}, &out); err != securecookie.ErrInvalid {
		t.Errorf("a session with a field of another type: %v, want securecookie.ErrInvalid", err)
	}
}

// A session cookie sealed by the app before its machinery moved into
// internal packages still opens: people stay signed in across the change.
// testdata/session-before-the-split.txt was sealed then, with the test
// secret, for acme and test-client, until 2100.
func TestCookieSealedBeforeTheSplit(t *testing.T) {
	sealed, err := os.ReadFile("testdata/session-before-the-split.txt")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, envOptions{})
	e.appClock.Advance(-time.Hour) // the fixture signed in at 11:00, an hour before the test clock
	b := e.browser()
	b.setCookie("session", strings.TrimSpace(string(sealed)))
	s := b.session()
	signedIn := time.Date(2026, 11, 28, 11, 0, 0, 0, time.UTC)
	want := session{Subdomain: "acme", UserID: 1, SignedInAt: signedIn, Token: zendesk.Token{
		AccessToken: "access-token-sealed-before-the-split", RefreshToken: "refresh-token-sealed-before-the-split",
		Scope: "users:read", AccessExpiry: signedIn.Add(30 * time.Minute), RefreshExpiry: signedIn.Add(30 * 24 * time.Hour)}}
	if !s.SignedInAt.Equal(want.SignedInAt) || !s.AccessExpiry.Equal(want.AccessExpiry) || !s.RefreshExpiry.Equal(want.RefreshExpiry) {
		t.Errorf("times: %+v, want %+v", s, want)
	}
	s.SignedInAt, s.AccessExpiry, s.RefreshExpiry = want.SignedInAt, want.AccessExpiry, want.RefreshExpiry
	if s != want {
		t.Errorf("opened %+v, want %+v", s, want)
	}
	if _, ok := e.app.loadSession(httptest.NewRecorder(), b.request("/")); !ok {
		t.Error("the app does not take it as a session")
	}
}
