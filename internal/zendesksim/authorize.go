package zendesksim

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// authRequest is the part of an authorization request that the code is bound to.
type authRequest struct {
	clientID, redirectURI, scope, state, challenge string
}

// parseAuthRequest validates the query of GET or POST
// /oauth/authorizations/new. On failure it returns a message for the error
// page; like Zendesk, a bad request never redirects.
func (s *Simulator) parseAuthRequest(q url.Values) (authRequest, string) {
	a := authRequest{q.Get("client_id"), q.Get("redirect_uri"), q.Get("scope"), q.Get("state"), q.Get("code_challenge")}
	switch {
	case a.clientID != s.opts.ClientID:
		return a, "No such client"
	case !slices.Contains(s.opts.RedirectURIs, a.redirectURI):
		return a, "The redirect_uri is not registered for this client."
	case q.Get("response_type") != "code":
		return a, "response_type must be code."
	case a.scope == "":
		return a, "scope is required."
	case a.challenge != "" && q.Get("code_challenge_method") != "S256":
		return a, "code_challenge_method must be S256."
	case a.challenge != "" && !validChallenge(a.challenge):
		return a, "code_challenge must be an unpadded base64url SHA-256 hash."
	case a.challenge == "" && s.opts.ClientSecret == "":
		return a, "This public client must use PKCE: code_challenge is required."
	}
	return a, ""
}

func validChallenge(c string) bool {
	b, err := base64.RawURLEncoding.DecodeString(c)
	return err == nil && len(b) == sha256.Size
}

// authorizePage serves GET /oauth/authorizations/new: the consent page.
func (s *Simulator) authorizePage(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.stats.AuthorizePages++
	s.mu.Unlock()
	a, problem := s.parseAuthRequest(r.URL.Query())
	if problem != "" {
		renderPage(w, http.StatusBadRequest, pageData{Error: problem})
		return
	}
	renderPage(w, http.StatusOK, pageData{
		Client: a.clientID,
		User:   s.opts.User.Name,
		Scopes: strings.Fields(a.scope),
		Action: r.URL.RequestURI(), // same path and query
	})
}

// authorizeDecision serves POST /oauth/authorizations/new with
// decision=allow|deny: it redirects to redirect_uri with a code or an error.
func (s *Simulator) authorizeDecision(w http.ResponseWriter, r *http.Request) {
	a, problem := s.parseAuthRequest(r.URL.Query())
	if problem != "" {
		renderPage(w, http.StatusBadRequest, pageData{Error: problem})
		return
	}
	target, err := url.Parse(a.redirectURI)
	if err != nil {
		renderPage(w, http.StatusBadRequest, pageData{Error: "The registered redirect_uri is not a valid URL."})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	if err := r.ParseForm(); err != nil {
		renderPage(w, http.StatusBadRequest, pageData{Error: "The form could not be read."})
		return
	}
	params := url.Values{}
	switch r.PostForm.Get("decision") {
	case "allow":
		params.Set("code", s.issueCode(a))
	case "deny":
		params.Set("error", "access_denied")
		params.Set("error_description", "The end-user or authorization server denied the request")
	default:
		renderPage(w, http.StatusBadRequest, pageData{Error: "decision must be allow or deny."})
		return
	}
	if a.state != "" {
		params.Set("state", a.state)
	}
	if target.RawQuery != "" { // keep the query the registered URI already has
		target.RawQuery += "&"
	}
	target.RawQuery += params.Encode()
	http.Redirect(w, r, target.String(), http.StatusFound)
}

// issueCode stores a fresh single-use code, valid for 120 seconds, bound to a.
func (s *Simulator) issueCode(a authRequest) string {
	code := randomToken()
	now := s.opts.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, c := range s.codes { // forget expired codes so the map stays small
		if now.After(c.expires) {
			delete(s.codes, k)
		}
	}
	s.codes[code] = &authCode{a.clientID, a.redirectURI, a.scope, a.challenge, now.Add(codeTTL)}
	return code
}

// pageData fills pageTemplate: an error page when Error is set, else the
// consent page.
type pageData struct {
	Error        string
	Client, User string
	Scopes       []string
	Action       string
}

// pageCSS is the page's only style; the CSP allows exactly it by hash.
const pageCSS = `
body { font-family: system-ui, sans-serif; margin: 0; background: #f5f5f5; color: #1f2937; }
.banner { background: #b45309; color: #fff; padding: .6em 1em; font-weight: bold; text-align: center; }
main { max-width: 32em; margin: 2em auto; background: #fff; padding: 1.5em 2em; border-radius: 8px; }
button { font-size: 1em; padding: .5em 1.5em; margin-right: .5em; border-radius: 4px; border: 1px solid #888; cursor: pointer; }
#allow { background: #03363d; color: #fff; }
`

var (
	pageTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{if .Error}}Invalid Authorization Request{{else}}Authorize {{.Client}}{{end}} - Simulated Zendesk</title>
<style>` + pageCSS + `</style>
</head>
<body>
<div class="banner">Simulated Zendesk (demo and tests only, not the real Zendesk)</div>
<main>
{{if .Error}}<h1>Invalid Authorization Request</h1>
<p>{{.Error}}</p>
{{else}}<h1>Authorize {{.Client}}</h1>
<p><strong>{{.Client}}</strong> wants to access your Zendesk account as <strong>{{.User}}</strong>.</p>
<p>Requested scope:</p>
<ul>{{range .Scopes}}<li><code>{{.}}</code></li>{{end}}</ul>
<form method="post" action="{{.Action}}">
<button name="decision" value="allow" id="allow">Allow</button>
<button name="decision" value="deny" id="deny">Deny</button>
</form>
{{end}}</main>
</body>
</html>
`))
	pageCSP = func() string {
		sum := sha256.Sum256([]byte(pageCSS))
		return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
			"'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'"
	}()
)

func renderPage(w http.ResponseWriter, status int, d pageData) {
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, d); err != nil {
		http.Error(w, "template error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	writeRaw(w, status, "text/html; charset=utf-8", buf.Bytes())
}
