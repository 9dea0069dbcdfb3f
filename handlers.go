package main

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"zendesk-oauth-app/internal/requestlog"
	"zendesk-oauth-app/internal/userapi"
	"zendesk-oauth-app/internal/zendesk"
)

// callbackPath is where Zendesk sends the browser back: APP_URL followed by
// it is the redirect URL to register with the OAuth client.
const callbackPath = "/zendesk/oauth/callback"

// route is one URL the app answers, for one method.
type route struct {
	method, path string
	handler      http.HandlerFunc
}

// routes lists every URL the app answers, for one method each. A page you
// add is one more line.
func (a *app) routes() []route {
	return []route{
		{"GET", "/{$}", a.handleIndex},
		{"GET", "/zendesk/auth", a.handleAuth},
		{"GET", callbackPath, a.handleCallback},
		{"POST", "/zendesk/logout", a.handleLogout},
		{"GET", "/healthz", handleHealthz},
		{"GET", "/static/style.css", handleStylesheet},
		{"GET", "/favicon.ico", handleFavicon},
	}
}

// handler serves routes, wrapped in the middleware. A path answered for
// some methods gets 405 with Allow for the others; any other path 404.
func (a *app) handler(routes []route) http.Handler {
	mux := http.NewServeMux()
	methods := map[string][]string{} // path → its methods
	for _, rt := range routes {
		mux.HandleFunc(rt.method+" "+rt.path, rt.handler)
		methods[rt.path] = append(methods[rt.path], rt.method)
	}
	for path, allowed := range methods {
		mux.HandleFunc(path, a.handleMethodNotAllowed(allowed))
	}
	mux.HandleFunc("/", a.handleNotFound)

	// Refuse cross-site POSTs (sign out, forms) by the browser's
	// Sec-Fetch-Site and Origin headers: no CSRF tokens to plumb (OWASP
	// CSRF cheat sheet).
	crossOrigin := http.NewCrossOriginProtection()
	crossOrigin.SetDenyHandler(http.HandlerFunc(a.handleCrossOrigin))
	panicked := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.fail(w, r, problem(http.StatusInternalServerError, "Something went wrong", "The app hit an unexpected error. It has been logged; please try again."), nil)
	})
	return requestlog.Middleware(a.log, panicked, a.secureHeaders(a.oneLoopbackName(crossOrigin.Handler(a.withDeadline(mux)))))
}

// handleIndex shows the sign-in page to a signed-out person, and the
// profile to a signed-in one.
func (a *app) handleIndex(w http.ResponseWriter, r *http.Request) {
	s, ok := a.loadSession(w, r)
	if !ok {
		q := r.URL.Query()
		view := a.signInView(r)
		view.Notice = signOutNotices[userapi.Revocation(q.Get("signed_out"))]
		view.Return = localPath(q.Get("return"))
		a.renderSignIn(w, r, http.StatusOK, view)
		return
	}
	a.serveSignedIn(w, r, &s, a.handleProfile)
}

// handleProfile calls Show Self with the person's token on every visit, so
// that a revoked grant shows at once.
func (a *app) handleProfile(w http.ResponseWriter, r *http.Request, api *userAPI) error {
	u, err := api.me()
	if err != nil {
		return err
	}
	a.renderProfile(w, r, u, api.session.Subdomain)
	return nil
}

func (a *app) renderProfile(w http.ResponseWriter, r *http.Request, u *user, subdomain string) {
	a.render(w, r, http.StatusOK, profilePage, profileView{Name: u.Name, Role: u.Role, Instance: subdomain + ".zendesk.com"})
}

// handleAuth starts a sign-in: it keeps a fresh PKCE verifier under a
// fresh state (a sealed cookie of the sign-in's own) and sends the browser
// to Zendesk's consent page.
func (a *app) handleAuth(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	subdomain, ok := a.chosenSubdomain(w, r, q)
	if !ok {
		return
	}
	f := flow{Verifier: zendesk.GenerateVerifier(), Subdomain: subdomain, Return: localPath(q.Get("return")), Again: q.Get("again") == "1"}
	state, err := a.flows.Start(w, r, f)
	if err != nil {
		a.fail(w, r, problem(http.StatusInternalServerError, "Something went wrong", "The app could not start the sign-in. Please try again."), err)
		return
	}
	http.Redirect(w, r, a.zendesk.AuthCodeURL(subdomain, state, f.Verifier), http.StatusFound)
}

// localPath returns p if it is a path on this app, else "": the page to
// return to after a sign-in must never lead to another site (RFC 9700
// §4.11.1). Browsers drop tabs and newlines inside URLs and read "\" as
// "/", so "/\t/evil.example" would become "//evil.example": a path with
// a control character or a backslash, or not starting with exactly one
// "/", is refused.
func localPath(p string) string {
	if len(p) > 500 || !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") ||
		strings.ContainsFunc(p, func(r rune) bool { return r < ' ' || r == 0x7f || r == '\\' }) {
		return ""
	}
	return p
}

// chosenSubdomain returns the Zendesk instance to sign in to: the
// configured one, or in the many-instances mode the one the person typed.
// On a bad value it writes the answer itself and returns false.
func (a *app) chosenSubdomain(w http.ResponseWriter, r *http.Request, q url.Values) (string, bool) {
	typed, given := q["subdomain"]
	if a.cfg.subdomain != "" {
		if given {
			label, _ := zendesk.NormalizeSubdomain(typed[0])
			if len(typed) != 1 || label != a.cfg.subdomain {
				a.fail(w, r, problem(http.StatusBadRequest, "Wrong Zendesk", "This app signs in to "+a.cfg.subdomain+".zendesk.com only."), errors.New("the subdomain parameter names another Zendesk"))
				return "", false
			}
		}
		return a.cfg.subdomain, true
	}
	view := indexView{AskSubdomain: true, Subdomain: shorten(strings.Join(typed, " "), 200), Return: localPath(q.Get("return"))}
	if len(typed) == 1 {
		subdomain, ok := zendesk.NormalizeSubdomain(typed[0])
		switch {
		case ok && a.fromTheApp(r):
			return subdomain, true
		case ok:
			// A link from another site may not pick the person's Zendesk,
			// whose sign-on page could be any site (RFC 9700 §4.11): the
			// form shows where the sign-in would go, and one click goes.
			a.log.InfoContext(r.Context(), "subdomain from another site: asking", "subdomain", subdomain)
			view.Subdomain = subdomain
			a.renderSignIn(w, r, http.StatusOK, view)
			return "", false
		}
	}
	a.log.InfoContext(r.Context(), "subdomain refused")
	view.Error = "Type the first part of your Zendesk address: for acme.zendesk.com, type acme. Letters, digits and hyphens only."
	a.renderSignIn(w, r, http.StatusBadRequest, view)
	return "", false
}

// fromTheApp reports whether a navigation comes from the app's own pages
// or from the person (typed, a bookmark): Sec-Fetch-Site same-origin or
// none. A browser that sends no Sec-Fetch-Site is judged by Origin, as
// http.CrossOriginProtection does: none, or the app's own.
func (a *app) fromTheApp(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		return true
	case "":
		origin := r.Header.Get("Origin")
		return origin == "" || origin == a.cfg.appURL
	}
	return false
}

// handleCallback is where Zendesk sends the browser back. It follows the
// protocol in order: the flow, the code exchange, Show Self, the session,
// the page. It calls the Zendesk client directly: there is no session yet
// for userapi to keep fresh.
func (a *app) handleCallback(w http.ResponseWriter, r *http.Request) {
	f, code, ok := a.takeFlow(w, r)
	if !ok {
		return
	}
	// Exchange the code at once: it is valid for 120 seconds and only once.
	t, err := a.zendesk.Exchange(r.Context(), f.Subdomain, code, f.Verifier)
	if err != nil {
		a.fail(w, r, a.zendeskErrorPage(err), err)
		return
	}
	// Show Self with the new token as it is: a token issued a moment ago
	// needs no refresh, and a 401 or 403 now is final. If Zendesk is only
	// busy or unavailable, the tokens are good: they are kept.
	u, meErr := a.showSelfWith(r.Context(), f.Subdomain, t.AccessToken)
	if meErr != nil && !zendesk.Transient(meErr) {
		err := fmt.Errorf("%w (its tokens: %s)", meErr, a.revokeTokens(r, f.Subdomain, *t))
		a.fail(w, r, a.zendeskErrorPage(err), err)
		return
	}
	s := session{Subdomain: f.Subdomain, SignedInAt: a.cfg.now(), Reauthorized: f.Again, Token: *t}
	if meErr == nil {
		s.UserID = u.ID
	}
	old, replacing := a.loadSession(w, r)
	if err := a.saveSession(w, r, &s); err != nil {
		err = fmt.Errorf("saving the new session: %w (its tokens: %s)", err, a.revokeTokens(r, s.Subdomain, s.Token))
		a.fail(w, r, a.zendeskErrorPage(err), err)
		return
	}
	replaced := "none"
	if replacing {
		replaced = a.revokeTokens(r, old.Subdomain, old.Token)
	}
	if a.cfg.subdomain == "" {
		if err := a.cookies.Set(w, r, subdomainCookie, s.Subdomain, a.cfg.now().Add(subdomainLifetime)); err != nil {
			a.log.WarnContext(r.Context(), "remembering the Zendesk failed", "error", err)
		}
	}
	if meErr != nil {
		// Signed in, but Show Self must wait: the next view calls it.
		v := a.zendeskErrorPage(meErr)
		v.Action, v.ActionURL = "Try again", cmp.Or(f.Return, "/")
		a.fail(w, r, v, fmt.Errorf("signed in (the session it replaced: %s), but Show Self failed: %w", replaced, meErr))
		return
	}
	a.log.InfoContext(r.Context(), "signed in", "subdomain", s.Subdomain, "user_id", u.ID, "role", u.Role, "replaced_session", replaced)
	if f.Return != "" && f.Return != "/" {
		http.Redirect(w, r, f.Return, http.StatusSeeOther)
		return
	}
	a.renderProfile(w, r, u, s.Subdomain)
}

// takeFlow checks the callback against the sign-in this browser started,
// and uses that sign-in up: Zendesk's error, the state, that the flow was
// not used before, and the code. When there is nothing to exchange it
// answers the request itself and returns ok false.
func (a *app) takeFlow(w http.ResponseWriter, r *http.Request) (f flow, code string, ok bool) {
	q := r.URL.Query()
	for _, name := range []string{"code", "state", "error"} {
		if len(q[name]) > 1 {
			a.fail(w, r, problem(http.StatusBadRequest, "Sign-in failed", "The link back from Zendesk is malformed. Please start again."), fmt.Errorf("callback: repeated %q parameter", name))
			return f, "", false
		}
	}
	state := q.Get("state")
	f, matches := a.flows.Take(w, r, state)
	matches = matches && a.knownSubdomain(f.Subdomain)
	if errCode := q.Get("error"); errCode != "" {
		a.callbackError(w, r, errCode, q.Get("error_description"), matches)
		return f, "", false
	}
	code = q.Get("code")
	switch {
	case !matches && a.flows.Pending(r):
		// The sign-ins in progress stay, so a forged callback cannot
		// cancel a real one.
		a.fail(w, r, problem(http.StatusBadRequest, "Sign-in failed", "The answer from Zendesk does not belong to the sign-in this browser started. Please start again."), errors.New("callback: state missing or mismatched"))
		return f, "", false
	case matches && (code == "" || len(code) > 512):
		a.fail(w, r, problem(http.StatusBadRequest, "Sign-in failed", "Zendesk's answer carries no usable authorization code. Please start again."), errors.New("callback: code missing or too long"))
		return f, "", false
	}
	// A flow is used once (RFC 9700 §4.7.1): a copy of its cookie cannot
	// make the app call Zendesk again.
	if !matches || !a.flows.Use(state) {
		if _, signedIn := a.loadSession(w, r); signedIn {
			http.Redirect(w, r, "/", http.StatusSeeOther) // a reload of the callback after signing in
			return f, "", false
		}
		a.fail(w, r, problem(http.StatusBadRequest, "Sign-in expired",
			"This sign-in has expired, was already completed, or was opened under another address than the app's. Please start again from the app's address."),
			fmt.Errorf("callback without a usable flow cookie (spent: %v)", matches))
		return f, "", false
	}
	return f, code, true
}

// callbackError shows Zendesk's refusal. The page calls nothing and changes
// nothing. Zendesk may leave state out on Deny, so "Access denied" needs
// none. Any other error is surely Zendesk's only when it carries this
// browser's state: only then does the page quote Zendesk's words (escaped
// and shortened) and log an error; anyone can write a link with an error
// in it, and that gets a 400 and an INFO line.
func (a *app) callbackError(w http.ResponseWriter, r *http.Request, errCode, description string, ours bool) {
	_, signedIn := a.loadSession(w, r)
	view := errorView{Action: "Try again", ActionURL: a.authPath(a.cfg.subdomain, "", false)}
	switch {
	case errCode == "access_denied":
		view.Title, view.Status = "Access denied", http.StatusForbidden
		view.Message = "You did not allow the app to access your Zendesk account, so you are not signed in."
		if signedIn {
			view.Message = "You did not allow the app to access your Zendesk account this time. You are still signed in as before."
		}
	case ours:
		view.Title, view.Status = "Sign-in failed", http.StatusBadGateway
		view.Message = "Zendesk could not complete the sign-in. If this keeps happening, the app's OAuth client settings (scopes, redirect URL) may be wrong."
		view.Detail = shorten(errCode, 64) + ": " + shorten(description, 200)
	default:
		view.Title, view.Status = "Sign-in failed", http.StatusBadRequest
		view.Message = "The answer from Zendesk does not belong to a sign-in this browser started. Please start again."
	}
	if signedIn {
		view.Action, view.ActionURL = "Back to the app", "/"
	}
	a.fail(w, r, view, fmt.Errorf("sign-in refused by Zendesk: %s (state matches: %v)", shorten(errCode, 64), ours))
}

// revokeTokens revokes, best effort, tokens the app will not keep: those
// of a session a new sign-in replaced, or those a sign-in could not keep.
// No grant should live on that nobody holds. It says how it went, for the
// log line.
func (a *app) revokeTokens(r *http.Request, subdomain string, t zendesk.Token) string {
	outcome, err := a.refresher.Client(r.Context(), subdomain, &t, discardPair).Revoke()
	if err != nil {
		return string(outcome) + ": " + err.Error()
	}
	return string(outcome)
}

// discardPair is the save function of a client whose session ends anyway:
// a pair refreshed on the way to its revocation is not kept.
func discardPair(*zendesk.Token) error { return nil }

// What the signed-out page says after a sign-out, by how the revocation
// of the access token at Zendesk went.
var signOutNotices = map[userapi.Revocation]string{
	userapi.Revoked: "You are signed out, and the app's access to your Zendesk account is revoked.",
	userapi.Refused: "You are signed out of the app. Zendesk refused to revoke the app's access token, so it stays valid until it expires.",
	userapi.Failed:  "You are signed out of the app. Zendesk could not be reached or was not available to revoke the app's access token, so it stays valid until it expires.",
	userapi.Kept:    "You are signed out of the app. Zendesk said it revoked the app's access token, but the token still works: it stays valid until it expires.",
}

// handleLogout revokes the access token at Zendesk, checks that it no
// longer works, and clears the session. The person is signed out of the
// app whatever Zendesk answers; the page says what happened at Zendesk.
func (a *app) handleLogout(w http.ResponseWriter, r *http.Request) {
	s, ok := a.loadSession(w, r)
	target := "/"
	if ok {
		outcome, err := a.refresher.Client(r.Context(), s.Subdomain, &s.Token, discardPair).Revoke()
		if err != nil {
			a.log.WarnContext(r.Context(), "signed out", "user_id", s.UserID, "revocation", outcome, "error", err)
		} else {
			a.log.InfoContext(r.Context(), "signed out", "user_id", s.UserID, "revocation", outcome)
		}
		if _, known := signOutNotices[outcome]; known {
			target = "/?signed_out=" + string(outcome)
		}
	}
	a.cookies.Clear(w, r, sessionCookie) // after the calls: a refresh may have saved a new pair
	a.cookies.Clear(w, r, draftCookie)   // what was typed stays with its person
	http.Redirect(w, r, target, http.StatusSeeOther)
}

func handleHealthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n")) // a failed write means the client left: nothing to tell it
}

func handleStylesheet(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(stylesheet)
}

// handleFavicon answers 204: there is no icon, and a 404 would put an error
// in the browser's console.
func handleFavicon(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(http.StatusNoContent)
}

func (a *app) handleNotFound(w http.ResponseWriter, r *http.Request) {
	a.fail(w, r, problem(http.StatusNotFound, "Page not found", "There is no page at this address."), nil)
}

func (a *app) handleMethodNotAllowed(methods []string) http.HandlerFunc {
	allow := strings.Join(methods, ", ")
	if strings.Contains(allow, "GET") {
		allow += ", HEAD"
	}
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		a.fail(w, r, problem(http.StatusMethodNotAllowed, "Method not allowed", "This address does not answer a "+shorten(r.Method, 20)+" request. Use the app's own links and buttons."), nil)
	}
}

func (a *app) handleCrossOrigin(w http.ResponseWriter, r *http.Request) {
	a.fail(w, r, problem(http.StatusForbidden, "Request refused", "This request came from another site, so the app refused it. Use the app's own buttons."), errors.New("cross-origin request refused"))
}

// renderSignIn shows the signed-out page. The many-instances form leads,
// through the person's Zendesk, to whatever identity provider that
// Zendesk uses, and browsers apply form-action to every redirect after a
// form (https://github.com/w3c/webappsec-csp/issues/8): no list can name
// them all, so that page alone has no form-action.
func (a *app) renderSignIn(w http.ResponseWriter, r *http.Request, status int, view indexView) {
	if view.AskSubdomain {
		w.Header().Set("Content-Security-Policy", cspWithoutFormAction)
	}
	a.render(w, r, status, indexPage, view)
}

// signInView is the signed-out page: in the many-instances mode it asks
// which Zendesk, pre-filled with the one this browser used last.
func (a *app) signInView(r *http.Request) indexView {
	view := indexView{AskSubdomain: a.cfg.subdomain == ""}
	if view.AskSubdomain {
		var last string
		if found, _, err := a.cookies.Get(r, subdomainCookie, &last); found && err == nil {
			view.Subdomain, _ = zendesk.NormalizeSubdomain(last)
		}
	}
	return view
}

// authPath is where to start a new sign-in to the given Zendesk (""
// in the many-instances mode: the form that asks), coming back to the
// app's page back (if not "") afterwards. again marks the app's own
// re-authorization of a session (reauthorize).
func (a *app) authPath(subdomain, back string, again bool) string {
	path, q := "/zendesk/auth", url.Values{}
	switch {
	case a.cfg.subdomain != "":
	case subdomain == "":
		path = "/"
	default:
		q.Set("subdomain", subdomain)
	}
	if back != "" && back != "/" {
		q.Set("return", back)
	}
	if again {
		q.Set("again", "1")
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}
