package oauthstate_test

import (
	"fmt"
	"net/http/httptest"
	"time"

	"zendesk-oauth-app/internal/oauthstate"
	"zendesk-oauth-app/internal/securecookie"
)

func Example() {
	codec, _ := securecookie.New([][]byte{[]byte("a secret of 32 bytes or more, from the settings")}, "my-client@acme")
	type signIn struct{ Verifier, Return string }
	flows := oauthstate.New[signIn](&securecookie.Cookies{Codec: codec}, "oauth_flow_", 10*time.Minute, 3)

	// The sign-in's first step keeps the verifier, and sends the state to
	// the authorization server.
	start := httptest.NewRecorder()
	state, _ := flows.Start(start, httptest.NewRequest("GET", "/auth", nil), signIn{"the-pkce-verifier", "/tickets"})

	// The callback, in the same browser, with the state that came back.
	callback := httptest.NewRequest("GET", "/callback?code=c&state="+state, nil)
	callback.AddCookie(start.Result().Cookies()[0])
	f, ok := flows.Take(httptest.NewRecorder(), callback, state)
	fmt.Println(ok, f.Return, flows.Use(state))
	fmt.Println(flows.Use(state)) // a copy of the callback
	// Output:
	// true /tickets true
	// false
}
