package main

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// routes lists every URL the app answers, and wraps them in the middleware.
func (a *app) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.handleIndex)
	mux.HandleFunc("GET /zendesk/auth", a.handleAuth)
	mux.HandleFunc("GET /zendesk/oauth/callback", a.handleCallback)
	mux.HandleFunc("POST /zendesk/logout", a.handleLogout)
	mux.HandleFunc("GET /healthz", handleHealthz)
	mux.HandleFunc("GET /static/style.css", handleStylesheet)
	mux.HandleFunc("GET /favicon.ico", handleFavicon)
	mux.HandleFunc("GET /", a.handleNotFound) // other methods get 405 from the mux

	// Refuse cross-site POSTs (sign out) by the browser's Sec-Fetch-Site
	// and Origin headers: no CSRF tokens to plumb (OWASP CSRF cheat sheet).
	crossOrigin := http.NewCrossOriginProtection()
	crossOrigin.SetDenyHandler(http.HandlerFunc(a.handleCrossOrigin))
	return a.logRequests(a.recoverPanics(a.secureHeaders(crossOrigin.Handler(mux))))
}

// handleIndex shows the profile to a signed-in person, calling Show Self
// with their token, and the sign-in page to everyone else.
func (a *app) handleIndex(w http.ResponseWriter, r *http.Request) {
	s, ok := a.loadSession(w, r)
	if !ok {
		view := a.signInView(r)
		if r.URL.Query().Get("revoke") == "failed" {
			view.Notice = "You are signed out. Zendesk could not be reached to revoke the app's access token, so it stays valid until it expires."
		}
		a.render(w, r, http.StatusOK, "index", view)
		return
	}
	var u *user
	err := a.withFreshToken(w, r, &s, func(ctx context.Context, accessToken string) (err error) {
		u, err = a.zendesk.me(ctx, s.Subdomain, accessToken)
		return err
	})
	var reauth *reauthorizeError
	switch {
	case errors.As(err, &reauth):
		// Refresh is impossible: ask Zendesk again. It redirects straight
		// back without a prompt while the person's grant is still valid.
		a.cookies.clear(w, sessionCookie)
		a.log.InfoContext(r.Context(), "session ended; authorizing again", "request_id", requestID(r.Context()), "reason", reauth.reason, "subdomain", s.Subdomain)
		http.Redirect(w, r, a.authPath(s.Subdomain), http.StatusSeeOther)
	case err != nil:
		a.failZendesk(w, r, err) // the session stays: the next try may succeed
	default:
		a.renderProfile(w, r, u, s.Subdomain)
	}
}

func (a *app) renderProfile(w http.ResponseWriter, r *http.Request, u *user, subdomain string) {
	a.render(w, r, http.StatusOK, "profile", profileView{Name: u.Name, Role: u.Role, Instance: subdomain + ".zendesk.com"})
}

// handleAuth starts a sign-in: it remembers a fresh state and PKCE verifier
// in the sealed flow cookie and sends the browser to Zendesk's consent page.
func (a *app) handleAuth(w http.ResponseWriter, r *http.Request) {
	subdomain, ok := a.chosenSubdomain(w, r)
	if !ok {
		return
	}
	f := flow{State: randomToken(), Verifier: randomToken(), Subdomain: subdomain}
	if err := a.cookies.set(w, flowCookie, f, a.cfg.now().Add(flowLifetime)); err != nil {
		a.fail(w, r, http.StatusInternalServerError, "Something went wrong", "The app could not start the sign-in. Please try again.", err)
		return
	}
	http.Redirect(w, r, a.zendesk.authorizeURL(subdomain, f.State, f.Verifier), http.StatusFound)
}

// chosenSubdomain returns the Zendesk instance to sign in to: the
// configured one, or in the global-client mode the one the person typed.
// On a bad value it writes the answer itself and returns false.
func (a *app) chosenSubdomain(w http.ResponseWriter, r *http.Request) (string, bool) {
	typed, given := r.URL.Query()["subdomain"]
	if a.cfg.subdomain != "" {
		if given {
			label, _ := normalizeSubdomain(typed[0])
			if len(typed) != 1 || label != a.cfg.subdomain {
				a.fail(w, r, http.StatusBadRequest, "Wrong Zendesk", "This app signs in to "+a.cfg.subdomain+".zendesk.com only.", errors.New("subdomain parameter names another instance"))
				return "", false
			}
		}
		return a.cfg.subdomain, true
	}
	if len(typed) == 1 {
		if subdomain, ok := normalizeSubdomain(typed[0]); ok {
			return subdomain, true
		}
	}
	a.log.InfoContext(r.Context(), "subdomain refused", "request_id", requestID(r.Context()))
	a.render(w, r, http.StatusBadRequest, "index", indexView{
		AskSubdomain: true,
		Subdomain:    shorten(strings.Join(typed, " "), 200),
		Error:        "Type the first part of your Zendesk address: for acme.zendesk.com, type acme. Letters, digits and hyphens only.",
	})
	return "", false
}

// handleCallback is where Zendesk sends the browser back. It follows the
// protocol in order: Zendesk's error, state, code exchange, Show Self,
// session, page.
func (a *app) handleCallback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for _, name := range []string{"code", "state", "error"} {
		if len(q[name]) > 1 {
			a.fail(w, r, http.StatusBadRequest, "Sign-in failed", "The link back from Zendesk is malformed. Please start again.", fmt.Errorf("callback: repeated %q parameter", name))
			return
		}
	}

	var f flow
	found, _, err := a.cookies.get(r, flowCookie, &f)
	hasFlow := found && err == nil
	if code := q.Get("error"); code != "" {
		a.callbackError(w, r, code, q.Get("error_description"), hasFlow && stateMatches(f, q.Get("state")))
		return
	}
	if !hasFlow {
		if _, signedIn := a.loadSession(w, r); signedIn {
			// A reload of the callback after signing in.
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return
		}
		a.fail(w, r, http.StatusBadRequest, "Sign-in expired",
			"This sign-in has expired, was already completed, or was opened under another address than the app's (for example 127.0.0.1 instead of localhost). Please start again from the app's address.",
			errors.New("callback without a valid flow cookie"))
		return
	}
	// A mismatch leaves the flow cookie alone, so a forged callback cannot
	// cancel a real sign-in.
	if !stateMatches(f, q.Get("state")) {
		a.fail(w, r, http.StatusBadRequest, "Sign-in failed", "The answer from Zendesk does not belong to the sign-in this browser started. Please start again.", errors.New("callback: state missing or mismatched"))
		return
	}
	a.cookies.clear(w, flowCookie) // single use
	code := q.Get("code")
	if code == "" || len(code) > 512 {
		a.fail(w, r, http.StatusBadRequest, "Sign-in failed", "Zendesk's answer carries no usable authorization code. Please start again.", errors.New("callback: code missing or too long"))
		return
	}

	// Exchange the code at once: it is valid for 120 seconds and only once.
	t, err := a.zendesk.exchange(r.Context(), f.Subdomain, code, f.Verifier)
	if err != nil {
		a.failZendesk(w, r, err)
		return
	}
	u, err := a.zendesk.me(r.Context(), f.Subdomain, t.AccessToken)
	if err != nil {
		a.failZendesk(w, r, err)
		return
	}
	s := session{Subdomain: f.Subdomain, UserID: u.ID, tokens: *t}
	if err := a.saveSession(w, &s); err != nil {
		a.fail(w, r, http.StatusBadGateway, "Sign-in failed", "Zendesk's tokens are too large to keep in a browser cookie.", err)
		return
	}
	if a.cfg.subdomain == "" {
		a.cookies.set(w, subdomainCookie, s.Subdomain, a.cfg.now().Add(subdomainLifetime))
	}
	a.log.LogAttrs(r.Context(), slog.LevelInfo, "signed in", slog.String("request_id", requestID(r.Context())),
		slog.String("subdomain", s.Subdomain), slog.Int64("user_id", u.ID), slog.String("role", u.Role))
	a.renderProfile(w, r, u, s.Subdomain)
}

// stateMatches checks the callback's state against the one this browser
// was given (RFC 9700 §4.7, CSRF), in constant time.
func stateMatches(f flow, state string) bool {
	return state != "" && subtle.ConstantTimeCompare([]byte(state), []byte(f.State)) == 1
}

// callbackError shows Zendesk's refusal. Zendesk may leave state out on
// Deny, so the page needs none: it calls nothing and changes nothing. Only
// an answer that carries this browser's state is surely Zendesk's: only
// then does the page quote Zendesk's words (escaped and shortened), since
// anyone can write a link with error_description in it.
func (a *app) callbackError(w http.ResponseWriter, r *http.Request, code, description string, ours bool) {
	view := errorView{
		Title:   "Access denied",
		Message: "You did not allow the app to access your Zendesk account, so you are not signed in.",
		Status:  http.StatusForbidden, Action: "Try again", ActionURL: "/",
	}
	if a.cfg.subdomain != "" {
		view.ActionURL = "/zendesk/auth"
	}
	level := slog.LevelInfo
	if code != "access_denied" {
		view.Title, view.Status, level = "Sign-in failed", http.StatusBadGateway, slog.LevelError
		view.Message = "Zendesk could not complete the sign-in. If this keeps happening, the app's OAuth client settings (scopes, redirect URL) may be wrong."
		if ours {
			view.Detail = shorten(code, 64) + ": " + shorten(description, 200)
		}
	}
	a.log.LogAttrs(r.Context(), level, "sign-in refused by Zendesk", slog.String("request_id", requestID(r.Context())),
		slog.String("error", shorten(code, 64)), slog.Bool("state_matches", ours))
	a.renderError(w, r, view)
}

// handleLogout revokes the access token at Zendesk, so signing out ends the
// app's access there too, then clears the session. Revocation is best
// effort: the person is signed out of the app whatever Zendesk answers.
func (a *app) handleLogout(w http.ResponseWriter, r *http.Request) {
	s, ok := a.loadSession(w, r)
	a.cookies.clear(w, sessionCookie)
	target := "/"
	if ok {
		// An expired token is refreshed first, so that the new one is
		// revoked; a refused refresh means there is nothing left to revoke.
		err := a.withFreshToken(nil, r, &s, func(ctx context.Context, accessToken string) error {
			return a.zendesk.revoke(ctx, s.Subdomain, accessToken)
		})
		var reauth *reauthorizeError
		switch {
		case err == nil:
			a.log.InfoContext(r.Context(), "signed out", "request_id", requestID(r.Context()), "user_id", s.UserID)
		case errors.As(err, &reauth):
			a.log.InfoContext(r.Context(), "signed out; token already unusable", "request_id", requestID(r.Context()), "user_id", s.UserID, "reason", reauth.reason)
		default:
			a.log.WarnContext(r.Context(), "signed out; token revocation failed", "request_id", requestID(r.Context()), "user_id", s.UserID, "error", err)
			target = "/?revoke=failed"
		}
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

func handleHealthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}

func handleStylesheet(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Write(stylesheet)
}

// handleFavicon answers 204: there is no icon, and a 404 would put an error
// in the browser's console.
func handleFavicon(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(http.StatusNoContent)
}

func (a *app) handleNotFound(w http.ResponseWriter, r *http.Request) {
	a.fail(w, r, http.StatusNotFound, "Page not found", "There is no page at this address.", nil)
}

func (a *app) handleCrossOrigin(w http.ResponseWriter, r *http.Request) {
	a.fail(w, r, http.StatusForbidden, "Request refused", "This request came from another site, so the app refused it. Use the app's own buttons.", errors.New("cross-origin request refused"))
}

// signInView is the signed-out page: in the global-client mode it asks
// which Zendesk, pre-filled with the one this browser used last.
func (a *app) signInView(r *http.Request) indexView {
	view := indexView{AskSubdomain: a.cfg.subdomain == ""}
	if view.AskSubdomain {
		var last string
		if found, _, err := a.cookies.get(r, subdomainCookie, &last); found && err == nil {
			view.Subdomain, _ = normalizeSubdomain(last)
		}
	}
	return view
}

// authPath is where to start a new sign-in to the given instance.
func (a *app) authPath(subdomain string) string {
	if a.cfg.subdomain != "" {
		return "/zendesk/auth"
	}
	return "/zendesk/auth?subdomain=" + url.QueryEscape(subdomain)
}

// loadSession opens the session cookie. A cookie that does not open
// (tampered, truncated, expired, sealed with an unknown secret) means
// signed out, and is cleared. One sealed with an older secret is sealed
// again with the current one.
func (a *app) loadSession(w http.ResponseWriter, r *http.Request) (session, bool) {
	var s session
	found, stale, err := a.cookies.get(r, sessionCookie, &s)
	switch {
	case !found:
		return s, false
	case err != nil:
		a.log.InfoContext(r.Context(), "session cookie refused", "request_id", requestID(r.Context()), "error", err)
		a.cookies.clear(w, sessionCookie)
		return s, false
	case stale:
		if err := a.saveSession(w, &s); err != nil {
			a.log.WarnContext(r.Context(), "resealing the session failed", "request_id", requestID(r.Context()), "error", err)
		}
	}
	return s, true
}

func (a *app) saveSession(w http.ResponseWriter, s *session) error {
	return a.cookies.set(w, sessionCookie, s, s.expires(a.cfg.now()))
}

// reauthorizeError means the tokens cannot be refreshed: the person must
// go through Zendesk's authorization again.
type reauthorizeError struct{ reason string }

func (e *reauthorizeError) Error() string { return "re-authorization needed: " + e.reason }

// refreshMargin: a token this close to its expiry is refreshed before use,
// so it cannot expire on its way to Zendesk.
const refreshMargin = 60 * time.Second

// withFreshToken runs call with a valid access token: it refreshes first
// when the token is about to expire, and once more when Zendesk answers
// 401 invalid_token. A new pair is written to the session cookie at once
// (when w is not nil), whatever call returns: the old pair is dead at
// Zendesk, so losing the new one would sign the person out.
func (a *app) withFreshToken(w http.ResponseWriter, r *http.Request, s *session, call func(ctx context.Context, accessToken string) error) error {
	if !s.AccessExpiry.IsZero() && a.cfg.now().Add(refreshMargin).After(s.AccessExpiry) {
		if err := a.refreshSession(w, r, s); err != nil {
			return err
		}
	}
	err := call(r.Context(), s.AccessToken)
	if isZendeskCode(err, "invalid_token") {
		if err := a.refreshSession(w, r, s); err != nil {
			return err
		}
		err = call(r.Context(), s.AccessToken)
	}
	return err
}

func (a *app) refreshSession(w http.ResponseWriter, r *http.Request, s *session) error {
	// An expired refresh token needs no check here: the session cookie
	// expires with it. Zendesk's invalid_grant covers the rest.
	if s.RefreshToken == "" {
		return &reauthorizeError{"access token expired or refused, and there is no refresh token"}
	}
	subdomain, refreshToken, refreshExpiry := s.Subdomain, s.RefreshToken, s.RefreshExpiry
	t, err := a.refresher.do(r.Context(), subdomain, refreshToken, func(ctx context.Context) (*tokens, error) {
		t, err := a.zendesk.refresh(ctx, subdomain, refreshToken)
		if err == nil && t.RefreshToken == "" {
			// No new refresh token: the old one stays valid (RFC 6749 §6).
			t.RefreshToken, t.RefreshExpiry = refreshToken, refreshExpiry
		}
		return t, err
	})
	if isZendeskCode(err, "invalid_grant") {
		return &reauthorizeError{"Zendesk refused the refresh token (invalid_grant)"}
	}
	if err != nil {
		return err
	}
	s.tokens = *t
	a.log.InfoContext(r.Context(), "tokens refreshed", "request_id", requestID(r.Context()), "user_id", s.UserID)
	if w == nil {
		return nil
	}
	return a.saveSession(w, s)
}

// failZendesk answers a failed call to Zendesk with the page that says what
// happened and what to do.
func (a *app) failZendesk(w http.ResponseWriter, r *http.Request, err error) {
	var ze *zendeskError
	switch {
	case errors.Is(err, context.Canceled):
		// The browser went away: no one reads an answer. 499 is nginx's
		// "client closed request", so the log line says what happened.
		a.log.InfoContext(r.Context(), "request canceled by the browser", "request_id", requestID(r.Context()))
		w.WriteHeader(499)
	case !errors.As(err, &ze): // the new tokens do not fit in a cookie
		a.fail(w, r, http.StatusBadGateway, "Zendesk sent an unexpected answer", "Zendesk's answer could not be used. Please try again.", err)
	case ze.Kind == timedOut:
		a.fail(w, r, http.StatusGatewayTimeout, "Zendesk did not answer in time", "Zendesk took too long to answer. Please try again in a moment.", err)
	case ze.Kind == rateLimited:
		wait := max(ze.RetryAfter, time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())))
		a.fail(w, r, http.StatusServiceUnavailable, "Zendesk is busy", fmt.Sprintf("Zendesk asked the app to slow down. Please try again in %d seconds.", int(wait.Seconds())), err)
	case ze.Kind == rejected && ze.Op == "exchange" && ze.Code == "invalid_grant":
		a.fail(w, r, http.StatusBadRequest, "Sign-in expired", "Zendesk did not accept this sign-in: its code expired or was already used. Please start again.", err)
	case ze.Kind == rejected && ze.Code == "invalid_client":
		a.fail(w, r, http.StatusBadGateway, "The app's Zendesk settings are wrong", "Zendesk did not accept the app's OAuth client. Whoever runs this app should check ZENDESK_CLIENT_ID and ZENDESK_CLIENT_SECRET.", err)
	case ze.Kind == rejected:
		a.fail(w, r, http.StatusBadGateway, "Zendesk refused the request", "Zendesk refused the app's request. If this keeps happening, check the OAuth client's settings and scopes.", err)
	case ze.Kind == badAnswer:
		a.fail(w, r, http.StatusBadGateway, "Zendesk sent an unexpected answer", "Zendesk's answer could not be used. Please try again.", err)
	default:
		a.fail(w, r, http.StatusBadGateway, "Zendesk is not available", "The app could not reach Zendesk. Please try again in a moment.", err)
	}
}

// fail writes one log line and the error page.
func (a *app) fail(w http.ResponseWriter, r *http.Request, status int, title, message string, err error) {
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	if err != nil {
		a.log.LogAttrs(r.Context(), level, title, slog.String("request_id", requestID(r.Context())), slog.Int("status", status), slog.String("error", err.Error()))
	}
	a.renderError(w, r, errorView{Title: title, Message: message, Status: status})
}

// renderError shows the error page with its request id, which the log line
// has too. Unless told otherwise, it leads back to the start, where a
// sign-in can begin again.
func (a *app) renderError(w http.ResponseWriter, r *http.Request, view errorView) {
	view.RequestID = requestID(r.Context())
	if view.Action == "" {
		view.Action, view.ActionURL = "Back to the start", "/"
	}
	a.render(w, r, view.Status, "error", view)
}
