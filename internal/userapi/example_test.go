package userapi_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"zendesk-oauth-app/internal/userapi"
	"zendesk-oauth-app/internal/zendesk"
	"zendesk-oauth-app/internal/zendesksim"
)

// A page for a signed-in person: its handler gets a Client for the
// person's tokens, whose save function keeps every rotated pair (in the
// person's session cookie, say). Here the access token has expired: the
// Client refreshes it, saves the new pair, and then makes the call.
func Example() {
	sim := zendesksim.NewServer(zendesksim.Options{ClientID: "my-client", ClientSecret: "my-secret",
		RedirectURIs: []string{"http://localhost:3000/zendesk/oauth/callback"}})
	defer sim.Close()
	conf := &zendesk.Config{ClientID: "my-client", ClientSecret: "my-secret", Scopes: "users:read",
		RedirectURL: "http://localhost:3000/zendesk/oauth/callback", BaseURL: func(string) string { return sim.URL }}
	refresher := userapi.NewRefresher(conf) // one per process: it makes each refresh once
	token := signIn(conf)                   // the person's tokens, from their session
	sim.ExpireAccessTokens()                // half an hour later

	save := func(t *zendesk.Token) error {
		fmt.Println("saved a new pair:", t.AccessToken != "" && t.RefreshToken != "")
		return nil // the app seals it into the session cookie of its response
	}
	api := refresher.Client(context.Background(), "acme", token, save)
	var me struct {
		User struct{ Name string }
	}
	if err := api.Get("/api/v2/users/me.json", &me); err != nil {
		panic(err) // a *userapi.ReauthorizeError: send the person through Zendesk's authorization
	}
	fmt.Println("Hi,", me.User.Name)
	// Output:
	// saved a new pair: true
	// Hi, John Doe
}

// signIn gets a pair as the app's callback does, the person clicking Allow.
func signIn(conf *zendesk.Config) *zendesk.Token {
	verifier := zendesk.GenerateVerifier()
	client := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.PostForm(conf.AuthCodeURL("acme", rand.Text(), verifier), url.Values{"decision": {"allow"}})
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	back, _ := url.Parse(resp.Header.Get("Location"))
	token, err := conf.Exchange(context.Background(), "acme", back.Query().Get("code"), verifier)
	if err != nil {
		panic(err)
	}
	return token
}
