package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"zendesk-oauth-app/internal/zendesksim"
)

// FuzzCallback feeds the callback any query string, with a real flow
// cookie whose state the fuzzer cannot guess: the answer is always a page
// (never a 500 or a panic) and Zendesk is never asked anything.
func FuzzCallback(f *testing.F) {
	for _, seed := range []string{
		"", "code=abc&state=xyz", "state=xyz", "code=abc", "code=a&code=b", "error=access_denied",
		"error=access_denied&error_description=The+end-user+denied", "error=%ff%fe&error_description=%3Cb%3E",
		"code=%zz&state=%", "state=&code=", ";;;&&&==", "error=" + string(make([]byte, 300)),
	} {
		f.Add(seed)
	}
	e := newEnv(f, envOptions{})
	handler := e.app.routes()
	flowValue := sealString(e.app.cookies.sealer, "oauth_flow", &flow{State: randomToken(), Verifier: randomToken(), Subdomain: "acme"}, time.Now().Add(time.Hour))

	f.Fuzz(func(t *testing.T, query string) {
		req := httptest.NewRequest("GET", "/zendesk/oauth/callback", nil)
		req.URL.RawQuery = query
		req.Header.Set("Cookie", "oauth_flow="+flowValue)
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusBadRequest, http.StatusForbidden, http.StatusBadGateway, http.StatusSeeOther:
		default:
			t.Fatalf("query %q: status %d", query, rec.Code)
		}
		if st := e.sim.Stats(); st[zendesksim.Exchange]+st[zendesksim.Me] != 0 {
			t.Fatalf("query %q reached Zendesk", query)
		}
	})
}

// FuzzOpenCookie: no value opens as a session or a flow unless this app
// sealed it, and no value makes opening panic.
func FuzzOpenCookie(f *testing.F) {
	sealer, err := newSealer([][]byte{[]byte(testSessionSecret)}, "test-client@acme")
	if err != nil {
		f.Fatal(err)
	}
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	c := &cookies{sealer: sealer, now: func() time.Time { return now }}
	sealed := session{Subdomain: "acme", UserID: 1, tokens: tokens{AccessToken: "token"}}
	valid := sealString(sealer, "session", &sealed, now.Add(time.Hour))
	for _, seed := range []string{valid, valid[:len(valid)-1], valid + "A", "", "=", "AAAA", "!!!!", string(make([]byte, 5000))} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, value string) {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Cookie", "session="+value+"; oauth_flow="+value)
		var s session
		found, _, err := c.get(req, sessionCookie, &s)
		// Under -fuzz each worker seals its own valid value (a new nonce), so
		// the check is on content: only what this test sealed may open.
		if found && err == nil && s != sealed {
			t.Fatalf("%q opened as a session: %+v", value, s)
		}
		var fl flow
		if found, _, err := c.get(req, flowCookie, &fl); found && err == nil {
			t.Fatalf("%q opened as a flow: %+v", value, fl)
		}
	})
}
