package zendesk_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/url"

	"zendesk-oauth-app/internal/zendesk"
	"zendesk-oauth-app/internal/zendesksim"
)

// A sign-in, as a web app's two routes make it: the link to Zendesk's
// consent page, then, at the redirect URL, the code exchange and a first
// API call with the new token. The built-in simulator plays Zendesk.
func Example() {
	sim := zendesksim.NewServer(zendesksim.Options{ClientID: "my-client", ClientSecret: "my-secret",
		RedirectURIs: []string{"http://localhost:3000/zendesk/oauth/callback"}})
	defer sim.Close()
	conf := &zendesk.Config{
		ClientID:     "my-client",
		ClientSecret: "my-secret",
		Scopes:       "users:read",
		RedirectURL:  "http://localhost:3000/zendesk/oauth/callback",
		BaseURL:      func(string) string { return sim.URL }, // nil in production: https://{subdomain}.zendesk.com
	}

	// GET /zendesk/auth: remember state and verifier (in a sealed cookie,
	// say), and send the browser to Zendesk.
	state, verifier := rand.Text(), zendesk.GenerateVerifier()
	authURL := conf.AuthCodeURL("acme", state, verifier)

	// The person clicks Allow; Zendesk sends the browser back.
	callback := allow(authURL)

	// GET /zendesk/oauth/callback: check state, then exchange the code.
	if callback.Get("state") != state {
		panic("not the sign-in this browser started")
	}
	ctx := context.Background()
	token, err := conf.Exchange(ctx, "acme", callback.Get("code"), verifier)
	if err != nil {
		panic(err)
	}
	var me struct {
		User struct{ Name, Role string }
	}
	req := zendesk.Request{Method: "GET", Subdomain: "acme", Path: "/api/v2/users/me.json", Token: token.AccessToken}
	if err := conf.Do(ctx, req, &me); err != nil {
		panic(err)
	}
	fmt.Printf("%s, %s; scope %s, refreshable: %v\n", me.User.Name, me.User.Role, token.Scope, token.RefreshToken != "")
	// Output: John Doe, admin; scope users:read, refreshable: true
}

// allow plays the browser: it opens Zendesk's consent page, clicks Allow,
// and returns the query Zendesk sends the browser back with.
func allow(authURL string) url.Values {
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.PostForm(authURL, url.Values{"decision": {"allow"}})
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		panic(err)
	}
	return back.Query()
}
