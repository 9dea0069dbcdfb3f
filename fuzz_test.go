package main

import (
	"crypto/rand"

	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"zendesk-oauth-app/internal/zendesk"
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
	handler := e.app.handler(e.app.routes())
	state := rand.Text()
	flowValue := sealString(e.app.cookies.Codec, flowCookie+state, &flow{Verifier: zendesk.GenerateVerifier(), Subdomain: "acme"}, time.Now().Add(time.Hour))

	f.Fuzz(func(t *testing.T, query string) {
		req := httptest.NewRequest("GET", "/zendesk/oauth/callback", nil)
		req.URL.RawQuery = query
		req.Header.Set("Cookie", flowCookie+state+"="+flowValue)
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
