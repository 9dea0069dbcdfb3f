package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"zendesk-oauth-app/internal/zendesksim"
)

// A value too large for one cookie is split over several, each within
// what a browser keeps; a smaller value later deletes the parts it no
// longer needs; a second write in the same response replaces the first.
func TestLargeValuesSpanCookies(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.app.cookies
	expires := e.appClock.Now().Add(time.Hour)
	big := session{Subdomain: "acme", tokens: tokens{AccessToken: strings.Repeat("a", 4096), RefreshToken: strings.Repeat("r", 4096)}}

	rec := httptest.NewRecorder()
	if err := c.set(rec, httptest.NewRequest("GET", "/", nil), sessionCookie, &big, expires); err != nil {
		t.Fatal(err)
	}
	written := rec.Result().Cookies()
	if len(written) != 3 {
		t.Fatalf("%d cookies for two 4 KB tokens, want 3", len(written))
	}
	req := httptest.NewRequest("GET", "/", nil)
	for i, ck := range written {
		if n := len(ck.Name) + 1 + len(ck.Value); n > 4096 {
			t.Errorf("cookie %s: %d bytes of name=value, more than a browser keeps", ck.Name, n)
		}
		if want := c.chunkName(sessionCookie, i); ck.Name != want {
			t.Errorf("cookie %d is %s, want %s", i, ck.Name, want)
		}
		req.AddCookie(ck)
	}
	var got session
	if found, _, err := c.get(req, sessionCookie, &got); !found || err != nil || got.AccessToken != big.AccessToken || got.RefreshToken != big.RefreshToken {
		t.Fatalf("reading the parts back: found %v, err %v", found, err)
	}

	// A value in one part opens, whatever later part the browser may
	// still send: only a full part has another after it.
	small := httptest.NewRecorder()
	c.set(small, httptest.NewRequest("GET", "/", nil), sessionCookie, &session{Subdomain: "acme"}, expires)
	one := httptest.NewRequest("GET", "/", nil)
	one.AddCookie(small.Result().Cookies()[0])
	one.AddCookie(&http.Cookie{Name: "session.1", Value: written[1].Value})
	if found, _, err := c.get(one, sessionCookie, &got); !found || err != nil || got.Subdomain != "acme" {
		t.Errorf("one part beside a stray second: found %v, err %v", found, err)
	}

	// A small value deletes the parts the browser has beyond it, and
	// replaces what this response already set.
	rec = httptest.NewRecorder()
	c.set(rec, req, sessionCookie, &big, expires)
	if err := c.set(rec, req, sessionCookie, &session{Subdomain: "acme"}, expires); err != nil {
		t.Fatal(err)
	}
	var kept, deleted []string
	for _, ck := range rec.Result().Cookies() {
		if ck.MaxAge < 0 {
			deleted = append(deleted, ck.Name)
		} else {
			kept = append(kept, ck.Name)
		}
	}
	if strings.Join(kept, " ") != "session" || strings.Join(deleted, " ") != "session.1 session.2" {
		t.Errorf("kept %q and deleted %q, want session kept and its parts deleted", kept, deleted)
	}

	// Too large for the cookies the app allows itself: refused.
	huge := session{tokens: tokens{AccessToken: strings.Repeat("a", 8000), RefreshToken: strings.Repeat("r", 8000)}}
	if err := c.set(httptest.NewRecorder(), req, sessionCookie, &huge, expires); err != errCookieTooLarge {
		t.Errorf("a 16 KB session: %v, want errCookieTooLarge", err)
	}
}

// A cookie sealed by an app with the same secret but configured for
// another client or Zendesk instance, or for any instance, is no session
// here: signed out, cleared, logged. The same for a sign-in in progress.
func TestCookiesAreBoundToTheInstance(t *testing.T) {
	e := newEnv(t, envOptions{})
	payload := &session{Subdomain: "evilcorp", UserID: 666, tokens: tokens{AccessToken: "stolen"}}
	flowPayload := &flow{State: "s", Verifier: "v", Subdomain: "evilcorp"}
	for _, instance := range []string{"test-client@*", "test-client@evilcorp", "other-client@acme"} {
		t.Run(instance, func(t *testing.T) {
			foreign, err := newSealer([][]byte{[]byte(testSessionSecret)}, instance)
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

			b.setCookie("oauth_flow", sealString(foreign, "oauth_flow", flowPayload, e.appClock.Now().Add(time.Hour)))
			if resp := b.get("/zendesk/oauth/callback?code=c&state=s"); resp.StatusCode != http.StatusBadRequest {
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
		req.AddCookie(&http.Cookie{Name: "session", Value: sealString(c.sealer, "session", in, when)})
		_, _, err := c.get(req, sessionCookie, out)
		return err
	}
	in := session{Subdomain: "acme", UserID: 42, SignedInAt: when.Add(-time.Hour), tokens: tokens{
		AccessToken: "a.b.c", RefreshToken: "r", Scope: defaultScopes, AccessExpiry: when, RefreshExpiry: when.Add(time.Hour)}}
	var out session
	if err := roundTrip(&in, &out); err != nil || out.Subdomain != in.Subdomain || out.UserID != in.UserID || out.Scope != in.Scope ||
		!out.SignedInAt.Equal(in.SignedInAt) || out.AccessToken != in.AccessToken || out.RefreshToken != in.RefreshToken ||
		!out.AccessExpiry.Equal(in.AccessExpiry) || !out.RefreshExpiry.Equal(in.RefreshExpiry) {
		t.Errorf("read back %+v (%v), want %+v", out, err, in)
	}

	// The session as it was before SignedInAt and the scope existed.
	type olderSession struct {
		Subdomain string
		UserID    int64
		tokens
	}
	var upgraded session
	if err := roundTrip(&olderSession{Subdomain: "acme", UserID: 7, tokens: tokens{AccessToken: "a"}}, &upgraded); err != nil ||
		upgraded.Subdomain != "acme" || upgraded.UserID != 7 || upgraded.AccessToken != "a" || upgraded.Scope != "" || !upgraded.SignedInAt.IsZero() {
		t.Errorf("an older session read back as %+v (%v)", upgraded, err)
	}

	if err := roundTrip("a string", &out); err != errBadCookie {
		t.Errorf("a string read as a session: %v, want errBadCookie", err)
	}
	if err := roundTrip(map[string]any{"UserID": "not a number"}, &out); err != errBadCookie {
		t.Errorf("a session with a field of another type: %v, want errBadCookie", err)
	}
}
