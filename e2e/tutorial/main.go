// Command tutorial is a literal Go port of app.js, the web app of Zendesk's
// tutorial "Using OAuth to authenticate Zendesk API requests in a web app":
// a sign-in link, a redirect to Zendesk's consent page, and a callback that
// exchanges the code at /oauth/tokens, calls /api/v2/users/me.json and
// greets the person.
//
// It has no state, no PKCE, no session, no error handling, no escaping and
// no security headers. It exists for BenchmarkSideBySide to measure the app
// against: the least work a sign-in can cost. Never copy it.
//
// Where app.js has constants, it reads the app's environment variables, so
// that the benchmark can point it at the Zendesk simulator:
// ZENDESK_SUBDOMAIN, ZENDESK_CLIENT_ID, ZENDESK_CLIENT_SECRET, PORT (3000),
// APP_URL (http://localhost:PORT) and ZENDESK_BASE_URL
// (https://ZENDESK_SUBDOMAIN.zendesk.com).
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"os"
)

func main() {
	port := getenv("PORT", "3000")
	clientID := os.Getenv("ZENDESK_CLIENT_ID")
	clientSecret := os.Getenv("ZENDESK_CLIENT_SECRET")
	subdomain := os.Getenv("ZENDESK_SUBDOMAIN")
	redirectURI := getenv("APP_URL", "http://localhost:"+port) + "/zendesk/oauth/callback"
	zendesk := getenv("ZENDESK_BASE_URL", "https://"+subdomain+".zendesk.com")

	// axios uses Node's global HTTP agent, which keeps connections alive
	// (Node 19 and later) and up to 256 idle ones per host: so does this
	// client. Go's default keeps only 2 idle per host, which would make
	// most calls open a new connection under concurrent sign-ins.
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 256
	client := &http.Client{Transport: transport}

	http.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<p><a href="/zendesk/auth">Sign in to Zendesk</a></p>`)
	})

	http.HandleFunc("GET /zendesk/auth", func(w http.ResponseWriter, r *http.Request) {
		params := url.Values{
			"response_type": {"code"},
			"redirect_uri":  {redirectURI},
			"client_id":     {clientID},
			"scope":         {"users:read"},
		}
		http.Redirect(w, r, zendesk+"/oauth/authorizations/new?"+params.Encode(), http.StatusFound)
	})

	http.HandleFunc("GET /zendesk/oauth/callback", func(w http.ResponseWriter, r *http.Request) {
		body, _ := json.Marshal(map[string]string{
			"grant_type":    "authorization_code",
			"code":          r.URL.Query().Get("code"),
			"client_id":     clientID,
			"client_secret": clientSecret,
			"redirect_uri":  redirectURI,
			"scope":         "users:read",
		})
		tokenResponse, err := client.Post(zendesk+"/oauth/tokens", "application/json", bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		tokenBody, _ := io.ReadAll(tokenResponse.Body)
		tokenResponse.Body.Close()
		// In production, you'd store the access token somewhere in your
		// app, such as a database.
		var token struct {
			AccessToken string `json:"access_token"`
		}
		json.Unmarshal(tokenBody, &token)

		req, _ := http.NewRequest("GET", zendesk+"/api/v2/users/me.json", nil)
		req.Header.Set("Authorization", "Bearer "+token.AccessToken)
		profileResponse, err := client.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		profileBody, _ := io.ReadAll(profileResponse.Body)
		profileResponse.Body.Close()
		var profile struct {
			User struct {
				Name string `json:"name"`
				Role string `json:"role"`
			} `json:"user"`
		}
		json.Unmarshal(profileBody, &profile)

		fmt.Fprintf(w, `
  <p>👋 Hi, %s!</p>

  <p>Your Zendesk Support user role is <code>%s</code>.</p>
`, profile.User.Name, profile.User.Role)
	})

	log.Printf("Server running on port %s. Visit http://localhost:%s", port, port)
	log.Fatal(http.ListenAndServe(":"+port, nil))
}

func getenv(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}
