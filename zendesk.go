package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"zendesk-oauth-app/internal/userapi"
	"zendesk-oauth-app/internal/zendesk"
)

// How this app talks to Zendesk: Show Self, the pages for a signed-in
// person, and the page for each way a call to Zendesk fails. The OAuth
// client is internal/zendesk; calling the API as the person, with fresh
// tokens, is internal/userapi.

// Show Self (https://developer.zendesk.com/api-reference/ticketing/users/users/#show-self).
// Zendesk's reference does not say which scope it needs: users:read works
// on the accounts reported, and a 403 naming the broad read says to use
// that instead.
const (
	showSelfPath  = "/api/v2/users/me.json"
	showSelfScope = "users:read"
)

// user is the part of Show Self's reply the app uses: add a field to show
// more of the person.
type user struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	Role string `json:"role"`
}

// showSelf calls Show Self with get and checks the reply. Zendesk answers
// 200 with an anonymous user (id null) when it does not accept the
// credentials, so that is an error here.
func showSelf(get func(path string, out any) error) (*user, error) {
	var reply struct{ User *user }
	if err := get(showSelfPath, &reply); err != nil {
		return nil, err
	}
	switch {
	case reply.User == nil:
		return nil, &zendesk.Error{Op: "GET " + showSelfPath, Kind: zendesk.BadAnswer, Err: errors.New("no user in the reply")}
	case reply.User.ID == 0:
		return nil, &zendesk.Error{Op: "GET " + showSelfPath, Kind: zendesk.BadAnswer, Err: errors.New("zendesk answered with the anonymous user")}
	}
	return reply.User, nil
}

// showSelfWith calls Show Self with an access token as it is: no refresh,
// no retry. The callback uses it, with tokens a moment old; pages use
// userAPI.
func (a *app) showSelfWith(ctx context.Context, subdomain, accessToken string) (*user, error) {
	return showSelf(func(path string, out any) error {
		return a.zendesk.Do(ctx, zendesk.Request{Method: "GET", Subdomain: subdomain, Path: path, Token: accessToken}, out)
	})
}

// userAPI is what a page for a signed-in person gets: the Zendesk API as
// that person (Get, Post, Put, Patch, Delete and Create, from
// userapi.Client), and their session.
type userAPI struct {
	*userapi.Client
	session *session
	save    func() error // saves the session into the response
}

// me calls Show Self as the person. A session whose sign-in could not call
// it (Zendesk was busy) learns its user's id here.
func (api *userAPI) me() (*user, error) {
	u, err := showSelf(api.Get)
	if err != nil || api.session.UserID != 0 {
		return u, err
	}
	api.session.UserID = u.ID
	return u, api.save()
}

// signedInHandler is the handler of a page for a signed-in person. It
// returns any error of its Zendesk calls, and requireSignIn answers it.
type signedInHandler func(w http.ResponseWriter, r *http.Request, api *userAPI) error

// requireSignIn wraps the handler of a page that needs a signed-in
// person. A signed-out person is sent to sign in first, and back to the
// page after.
func (a *app) requireSignIn(h signedInHandler) http.HandlerFunc {
	withUserID := func(w http.ResponseWriter, r *http.Request, api *userAPI) error {
		if api.session.UserID == 0 { // the sign-in could not call Show Self: Zendesk was busy
			if _, err := api.me(); err != nil {
				return err
			}
		}
		return h(w, r, api)
	}
	return func(w http.ResponseWriter, r *http.Request) {
		s, ok := a.loadSession(w, r)
		if !ok {
			http.Redirect(w, r, a.authPath(a.cfg.subdomain, r.URL.RequestURI(), false), http.StatusSeeOther)
			return
		}
		a.serveSignedIn(w, r, &s, withUserID)
	}
}

// serveSignedIn runs h for the person whose session s is, and answers the
// error h returns. A session whose grant lacks a scope that ZENDESK_SCOPES
// names (a team added one since the sign-in) goes through Zendesk's
// authorization once first: its consent page asks for the new scope.
func (a *app) serveSignedIn(w http.ResponseWriter, r *http.Request, s *session, h signedInHandler) {
	if missing := zendesk.MissingScopes(a.cfg.scopes, s.Scope); missing != "" && !a.signedInRecently(s) {
		a.reauthorize(w, r, s, fmt.Errorf("ZENDESK_SCOPES asks for %s, which the grant lacks", missing))
		return
	}
	save := func() error { return a.saveSession(w, r, s) }
	api := &userAPI{session: s, save: save}
	api.Client = a.refresher.Client(r.Context(), s.Subdomain, &s.Token, func(*zendesk.Token) error {
		if err := save(); err != nil {
			return err
		}
		a.log.InfoContext(r.Context(), "tokens refreshed", "user_id", s.UserID)
		return nil
	})
	if err := h(w, r, api); err != nil {
		a.handleAPIError(w, r, s, err)
	}
}

// recentSignIn is how soon after a sign-in a refusal from Zendesk is
// final: a new authorization right before it did not help, and another
// would only loop.
const recentSignIn = time.Minute

func (a *app) signedInRecently(s *session) bool {
	return a.cfg.now().Sub(s.SignedInAt) < recentSignIn
}

// handleAPIError answers the error of a signed-in page: back through
// Zendesk's authorization when the tokens are spent, or when a new grant
// can give what Zendesk says is missing; otherwise the error's page, and
// the session stays. Tokens too large to keep end the session.
func (a *app) handleAPIError(w http.ResponseWriter, r *http.Request, s *session, err error) {
	var reauth *userapi.ReauthorizeError
	var tooLarge *tooLargeError
	switch {
	case errors.As(err, &reauth), a.newGrantHelps(s, err):
		a.reauthorize(w, r, s, err)
	case errors.As(err, &tooLarge):
		a.cookies.Clear(w, r, sessionCookie)
		a.fail(w, r, a.zendeskErrorPage(err), err)
	default:
		a.fail(w, r, a.zendeskErrorPage(err), err)
	}
}

// newGrantHelps reports whether err is a 403 that a new authorization can
// answer: Zendesk names a missing scope, one that ZENDESK_SCOPES asks for
// and the session's grant lacks. Any other 403 (the person's role, a
// restricted agent, no reason given) is their account's: a trip through
// Zendesk cannot change it.
func (a *app) newGrantHelps(s *session, err error) bool {
	var ze *zendesk.Error
	return errors.As(err, &ze) && ze.Status == http.StatusForbidden && ze.MissingScope != "" &&
		zendesk.MissingScopes(ze.MissingScope, a.cfg.scopes) == "" && zendesk.MissingScopes(ze.MissingScope, s.Scope) != ""
}

// reauthorize sends the person through Zendesk's authorization again, and
// back to this page afterwards. A redirect cannot repeat a form's POST:
// the person comes back to the form's page (the path it posts to), which
// shows what they typed (keepDraft).
//
// It is the one road into a new authorization, and it does not loop: a
// session that a re-authorization made less than a minute ago gets a page
// instead, since that sign-in did not help. A pair Zendesk refused ends
// the session at once; a pair that only lacks a scope stays until the
// callback replaces it, and revokes it then.
func (a *app) reauthorize(w http.ResponseWriter, r *http.Request, s *session, reason error) {
	if s.Reauthorized && a.signedInRecently(s) {
		a.fail(w, r, problem(http.StatusBadGateway, "Zendesk refused the new sign-in",
			"You signed in a moment ago, and Zendesk already refuses the app's access, so signing in again would not help. Please try again in a minute. If it keeps happening, whoever runs the app should check the OAuth client and ZENDESK_SCOPES."),
			fmt.Errorf("not authorizing again within a minute of a sign-in: %w", reason))
		return
	}
	if errors.As(reason, new(*userapi.ReauthorizeError)) {
		a.cookies.Clear(w, r, sessionCookie)
	}
	a.log.InfoContext(r.Context(), "authorizing again", "reason", reason.Error(), "subdomain", s.Subdomain)
	back := r.URL.RequestURI()
	if r.Method != http.MethodGet {
		back = r.URL.Path
		a.keepDraft(w, r, s)
	}
	http.Redirect(w, r, a.authPath(s.Subdomain, back, true), http.StatusSeeOther)
}

// defaultRetryAfter is how long to wait when Zendesk answers 429 without
// saying: its rate limits count requests per minute
// (https://developer.zendesk.com/api-reference/introduction/rate-limits/).
const defaultRetryAfter = time.Minute

// zendeskErrorPage is the page for a failed call to Zendesk: what
// happened, and what to do.
func (a *app) zendeskErrorPage(err error) errorView {
	var ze *zendesk.Error
	var tooLarge *tooLargeError
	switch {
	case errors.Is(err, context.Canceled):
		// The browser went away: no one reads the page. 499 is nginx's
		// "client closed request", so the log line says what happened.
		return problem(499, "Request canceled", "The browser left before Zendesk answered.")
	case errors.As(err, &tooLarge):
		return problem(http.StatusBadGateway, "Zendesk's tokens are too large",
			"Zendesk sent tokens too large for the app to keep in browser cookies, so the app asked Zendesk to revoke them, and you are not signed in. Whoever runs the app can find the sizes in its log.")
	case !errors.As(err, &ze):
		return problem(http.StatusInternalServerError, "Something went wrong", "The app hit an unexpected error. It has been logged; please try again.")
	case ze.Kind == zendesk.TimedOut:
		return problem(http.StatusGatewayTimeout, "Zendesk did not answer in time", "Zendesk took too long to answer. Please try again in a moment.")
	case ze.Kind == zendesk.RateLimited:
		v := problem(http.StatusServiceUnavailable, "Zendesk is busy", "")
		v.retryAfter = cmp.Or(ze.RetryAfter, defaultRetryAfter)
		v.Message = fmt.Sprintf("Zendesk asked the app to slow down. Please try again in %d seconds.", int(v.retryAfter.Seconds()))
		return v
	case ze.Kind == zendesk.Rejected && ze.Op == zendesk.OpExchange && ze.Code == "invalid_grant":
		return problem(http.StatusBadRequest, "Sign-in expired", "Zendesk did not accept this sign-in: its code expired or was already used. Please start again.")
	case ze.Kind == zendesk.Rejected && ze.Status == http.StatusForbidden && ze.MissingScope != "":
		return problem(http.StatusForbidden, "Zendesk refused access",
			fmt.Sprintf("Zendesk says the app lacks the scope %s for this. Whoever runs the app should add %s to ZENDESK_SCOPES (now %q) and allow it for the OAuth client; you will then be asked once to allow it.", ze.MissingScope, ze.MissingScope, a.cfg.scopes))
	case ze.Kind == zendesk.Rejected && ze.Status == http.StatusForbidden:
		return problem(http.StatusForbidden, "Your Zendesk account may not do this",
			"Zendesk refused this to your account: your role (an end user, a light agent) or your Zendesk's settings do not allow it. You are still signed in.")
	case ze.Kind == zendesk.Rejected && ze.Code == "invalid_scope":
		v := problem(http.StatusBadGateway, "Zendesk refused the scopes",
			fmt.Sprintf("Zendesk does not allow the app the scopes it asks for. Whoever runs the app should set ZENDESK_SCOPES (now %q) to scopes the OAuth client allows.", a.cfg.scopes))
		v.Action, v.ActionURL = "Try again", a.authPath(a.cfg.subdomain, "", false)
		return v
	case ze.Kind == zendesk.Rejected && ze.Status == http.StatusNotFound:
		return problem(http.StatusNotFound, "Not found at Zendesk", "Zendesk has no such record, or does not show it to you.")
	case ze.Kind == zendesk.Rejected && ze.Code == "invalid_client":
		return problem(http.StatusBadGateway, "The app's Zendesk settings are wrong", "Zendesk did not accept the app's OAuth client. Whoever runs this app should check ZENDESK_CLIENT_ID and ZENDESK_CLIENT_SECRET.")
	case ze.Kind == zendesk.Rejected:
		return problem(http.StatusBadGateway, "Zendesk refused the request", "Zendesk refused the app's request. If this keeps happening, check the OAuth client's settings and scopes.")
	case ze.Kind == zendesk.NoAnswer:
		return problem(http.StatusBadGateway, "Zendesk is not available", "The connection to Zendesk broke before it answered. Please try again in a moment.")
	case ze.Kind == zendesk.BadAnswer:
		return problem(http.StatusBadGateway, "Zendesk sent an unexpected answer", "Zendesk's answer could not be used. Please try again.")
	}
	return problem(http.StatusBadGateway, "Zendesk is not available", "The app could not reach Zendesk. Please try again in a moment.")
}
