package zendesksim

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"net/http"
	"strings"
)

// The simulator's HTML pages: the error page, the consent page, the page
// for an account that does not exist and the identity provider's sign-in
// page. Each says loudly that it is simulated, and each is served with the
// same strict Content-Security-Policy: no scripts, and exactly one style
// element, allowed by its hash. The policy has no form-action: the consent
// and sign-in forms end in redirects to other origins, which a form-action
// would have to list.

// pageCSS is the pages' only style.
const pageCSS = `
body { font-family: system-ui, sans-serif; margin: 0; background: #f5f5f5; color: #1f2937; }
.banner { background: #b45309; color: #fff; padding: .6em 1em; font-weight: bold; text-align: center; }
.idp .banner { background: #4338ca; }
main { max-width: 32em; margin: 2em auto; background: #fff; padding: 1.5em 2em; border-radius: 8px; }
fieldset { border: 1px solid #ccc; border-radius: 4px; margin: 1em 0; padding: .5em 1em; }
legend { font-weight: bold; padding: 0 .3em; }
fieldset div { margin: .3em 0; }
button { font-size: 1em; padding: .5em 1.5em; margin-right: .5em; border-radius: 4px; border: 1px solid #888; cursor: pointer; }
#allow, #sign-in { background: #03363d; color: #fff; }
`

// layout is every page's frame; a page defines "title" and "body", and
// may redefine "class" and "banner".
var layout = template.Must(template.New("layout").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{template "title" .}}</title>
<style>` + pageCSS + `</style>
</head>
<body class="{{template "class" .}}">
<div class="banner">{{template "banner" .}}</div>
<main>
{{template "body" .}}</main>
</body>
</html>
`))

// page returns the layout filled with the definitions in defs. Pages of
// the simulated Zendesk get its banner unless they define their own.
func page(defs string) *template.Template {
	t := template.Must(layout.Clone())
	template.Must(t.Parse(`{{define "class"}}zendesk{{end}}{{define "banner"}}Simulated Zendesk (demo and tests only, not the real Zendesk){{end}}`))
	return template.Must(t.Parse(defs))
}

var (
	// errorPage shows a message (a string): Zendesk's page for a bad
	// authorization request, which never redirects.
	errorPage = page(`{{define "title"}}Invalid Authorization Request - Simulated Zendesk{{end}}
{{define "body"}}<h1>Invalid Authorization Request</h1>
<p>{{.}}</p>
{{end}}`)

	// consentPage asks the person to allow or deny the client
	// (consentView), naming who is signed in, as Zendesk's page does. A
	// real Zendesk knows who that is; the simulated one also lets the
	// person choose, so that a demo or a test can be any of the account's
	// users: a fieldset of radio buttons, each with its label.
	consentPage = page(`{{define "title"}}Authorize {{.Client}} - Simulated Zendesk{{end}}
{{define "body"}}<h1>Authorize {{.Client}}</h1>
<p><strong>{{.Client}}</strong> wants to access your Zendesk account as <strong>{{.User}}</strong>.</p>
<p>Requested scope:</p>
<ul>{{range .Scopes}}<li><code>{{.}}</code></li>{{end}}</ul>
<form method="post" action="{{.Action}}">
<fieldset>
<legend>Sign in as</legend>
{{range .Users}}<div><input type="radio" name="user" value="{{.ID}}" id="user-{{.ID}}"{{if .Checked}} checked{{end}}> <label for="user-{{.ID}}">{{.Name}} ({{.Role}})</label></div>
{{end}}</fieldset>
<button name="decision" value="allow" id="allow">Allow</button>
<button name="decision" value="deny" id="deny">Deny</button>
</form>
{{end}}`)

	// noAccountPage is the page for a host that names no account (a
	// string: the name), under Accounts.
	noAccountPage = page(`{{define "title"}}No such account - Simulated Zendesk{{end}}
{{define "body"}}<h1>This account does not exist</h1>
<p>There is no Zendesk account <strong>{{.}}</strong>.</p>
{{end}}`)

	// idpSignInPage is the identity provider's sign-in page (idpView).
	idpSignInPage = page(`{{define "title"}}Sign in - Simulated identity provider{{end}}
{{define "class"}}idp{{end}}
{{define "banner"}}Simulated identity provider (demo and tests only){{end}}
{{define "body"}}<h1>Simulated identity provider</h1>
<p>This account signs in to Zendesk through single sign-on. Sign in here to continue to Zendesk.</p>
<form method="post" action="{{.Action}}">
<input type="hidden" name="return_to" value="{{.ReturnTo}}">
<button id="sign-in">Sign in</button>
</form>
{{end}}`)

	pageCSP = func() string {
		sum := sha256.Sum256([]byte(pageCSS))
		return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
			"'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'"
	}()
)

type consentView struct {
	Client string
	User   string        // the name of whom the page signs in unless told otherwise
	Users  []consentUser // who may sign in
	Scopes []string
	Action string // the authorization request's path and query
}

// consentUser is a user the consent page offers to sign in as.
type consentUser struct {
	ID      int64
	Name    string
	Role    string // as a person reads it: "admin", "agent", "end user"
	Checked bool
}

// choices returns users as the consent page offers them, the user with
// id checked.
func choices(users []User, id int64) []consentUser {
	out := make([]consentUser, len(users))
	for i, u := range users {
		out[i] = consentUser{ID: u.ID, Name: u.Name, Role: strings.ReplaceAll(u.Role, "-", " "), Checked: u.ID == id}
	}
	return out
}

type idpView struct {
	Action, ReturnTo string
}

// renderPage renders t with data into a buffer, then writes it with the
// pages' security headers.
func renderPage(w http.ResponseWriter, status int, t *template.Template, data any) {
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
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
