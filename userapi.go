package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// userAPI calls the Zendesk API as the signed-in person: the one way code
// calls Zendesk as the person, as golang.org/x/oauth2's Config.Client is
// for a program. It keeps the person's access token fresh: it refreshes it
// shortly before it expires and once after any 401, and saves the rotated
// pair at once. It needs no request or response: any code with a
// session and a way to save it can use one.
//
// Its methods are get, post, put, patch, delete, and create (a POST that
// is safe to repeat). Each sends a body, when it has one, as JSON, and
// decodes the JSON reply into out (nil: ignore it). Errors are a
// *zendeskError (Zendesk's description and field details are in it), or a
// *reauthorizeError when the tokens cannot be refreshed.
//
// A page for a signed-in person is a handler that gets one from
// requireSignIn, names its request, and returns any error, which
// requireSignIn answers with the right page:
//
//	func (a *app) handleTickets(w http.ResponseWriter, r *http.Request, api *userAPI) error {
//		var reply struct{ Tickets []ticket }
//		path := fmt.Sprintf("/api/v2/users/%d/tickets/requested.json", api.session.UserID)
//		if err := api.get(path, &reply); err != nil {
//			return err
//		}
//		a.render(w, r, http.StatusOK, ticketsPage, reply)
//		return nil
//	}
type userAPI struct {
	app     *app
	ctx     context.Context
	session *session             // the rotated pair goes here
	save    func(*session) error // and is saved with this
}

// signedInHandler is the handler of a page for a signed-in person.
type signedInHandler func(w http.ResponseWriter, r *http.Request, api *userAPI) error

// requireSignIn wraps the handler of a page that needs a signed-in
// person; scope is the Zendesk scope the page needs, for the page that
// explains a 403. A signed-out person is sent to sign in first, and back to
// the page after.
func (a *app) requireSignIn(scope string, h signedInHandler) http.HandlerFunc {
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
			http.Redirect(w, r, a.authPath(a.cfg.subdomain, r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		a.serveSignedIn(w, r, &s, scope, withUserID)
	}
}

// serveSignedIn runs h for the person whose session s is, and answers the
// error h returns. A session whose grant lacks a scope that ZENDESK_SCOPES
// names (a team added one since the sign-in) goes through Zendesk's
// authorization once first: its consent page asks for the new scope.
func (a *app) serveSignedIn(w http.ResponseWriter, r *http.Request, s *session, scope string, h signedInHandler) {
	if missing := missingScopes(a.cfg.scopes, s.Scope); missing != "" && !a.signedInRecently(s) {
		a.reauthorize(w, r, s, fmt.Errorf("ZENDESK_SCOPES asks for %s, which the grant lacks", missing))
		return
	}
	if err := h(w, r, a.userAPI(w, r, s)); err != nil {
		a.failSignedIn(w, r, s, scope, err)
	}
}

// missingScopes returns the scopes in want (space-separated) that granted
// does not cover. A broad read or write covers every resource's
// (https://developer.zendesk.com/api-reference/ticketing/oauth/grant_type_tokens/#scope).
func missingScopes(want, granted string) string {
	have := strings.Fields(granted)
	var missing []string
	for _, scope := range strings.Fields(want) {
		_, access, isResource := strings.Cut(scope, ":")
		if !slices.Contains(have, scope) && !(isResource && slices.Contains(have, access)) {
			missing = append(missing, scope)
		}
	}
	return strings.Join(missing, " ")
}

// refreshMargin: a token this close to its expiry is refreshed before use,
// so it cannot expire on its way to Zendesk.
const refreshMargin = 60 * time.Second

// get calls GET path (with its query) and decodes the JSON reply into out.
func (api *userAPI) get(path string, out any) error {
	return api.send(apiRequest{method: "GET", path: path}, out)
}

// post, put and patch send body as JSON; delete sends none.
func (api *userAPI) post(path string, body, out any) error {
	return api.send(apiRequest{method: "POST", path: path, body: body}, out)
}

func (api *userAPI) put(path string, body, out any) error {
	return api.send(apiRequest{method: "PUT", path: path, body: body}, out)
}

func (api *userAPI) patch(path string, body, out any) error {
	return api.send(apiRequest{method: "PATCH", path: path, body: body}, out)
}

func (api *userAPI) delete(path string) error {
	return api.send(apiRequest{method: "DELETE", path: path}, nil)
}

// create posts body with an Idempotency-Key: a repeat with the same key
// (the person clicks again after a timeout) gets the first result instead
// of a second record. Give each rendered form a key of its own
// (randomToken), and keep it while the outcome is unknown.
func (api *userAPI) create(path, idempotencyKey string, body, out any) error {
	return api.send(apiRequest{method: "POST", path: path, body: body, idempotencyKey: idempotencyKey}, out)
}

// send makes req as the person.
func (api *userAPI) send(req apiRequest, out any) error {
	s := api.session
	if !s.AccessExpiry.IsZero() && api.app.cfg.now().Add(refreshMargin).After(s.AccessExpiry) {
		if err := api.refresh(); err != nil {
			return err
		}
	}
	req.subdomain, req.token = s.Subdomain, s.AccessToken
	err := api.app.zendesk.do(api.ctx, req, out)
	// Any 401: the token expired early or was revoked. Zendesk's 401s do
	// not all say invalid_token, and its own clients refresh on any.
	if isUnauthorized(err) {
		if err := api.refresh(); err != nil {
			return err
		}
		req.token = s.AccessToken
		// Refused again: a new authorization may help, unless one just
		// happened, which would only loop.
		if err = api.app.zendesk.do(api.ctx, req, out); isUnauthorized(err) && !api.app.signedInRecently(s) {
			return &reauthorizeError{"Zendesk refused a fresh access token (401)", err}
		}
	}
	return err
}

// me calls Show Self. A session whose sign-in could not call it (Zendesk
// was busy) learns its user's id here.
func (api *userAPI) me() (*user, error) {
	var reply meReply
	if err := api.get(mePath, &reply); err != nil {
		return nil, err
	}
	u, err := reply.user()
	if err == nil && api.session.UserID == 0 {
		api.session.UserID = u.ID
		if err := api.save(api.session); err != nil {
			api.app.log.WarnContext(api.ctx, "saving the user id failed", "error", err)
		}
	}
	return u, err
}

// reauthorizeError means the tokens cannot be refreshed: the person must
// go through Zendesk's authorization again.
type reauthorizeError struct {
	reason string
	err    error // Zendesk's answer, if there was one
}

func (e *reauthorizeError) Error() string {
	if e.err != nil {
		return "re-authorization needed: " + e.reason + ": " + e.err.Error()
	}
	return "re-authorization needed: " + e.reason
}

func (e *reauthorizeError) Unwrap() error { return e.err }

// tooLargeError means Zendesk's tokens do not fit in the session cookies.
// It keeps their sizes for the log, never the tokens.
type tooLargeError struct {
	op                    string
	accessLen, refreshLen int
}

func newTooLargeError(op string, t tokens) *tooLargeError {
	return &tooLargeError{op, len(t.AccessToken), len(t.RefreshToken)}
}

func (e *tooLargeError) Error() string {
	return fmt.Sprintf("the %s gave an access token of %d bytes and a refresh token of %d bytes: too large for %d cookies",
		e.op, e.accessLen, e.refreshLen, maxCookieChunks)
}

// refresh trades the refresh token for a new pair and saves it in the
// session cookie at once: the old pair is dead at Zendesk, so losing the
// new one would sign the person out. A pair too large to keep is revoked
// and reported, never dropped in silence.
func (api *userAPI) refresh() error {
	// An expired refresh token needs no check here: the session cookie
	// expires with it. Zendesk's invalid_grant covers the rest.
	s := api.session
	if s.RefreshToken == "" {
		return &reauthorizeError{"access token expired or refused, and there is no refresh token", nil}
	}
	subdomain, refreshToken, refreshExpiry, scope := s.Subdomain, s.RefreshToken, s.RefreshExpiry, s.Scope
	t, err := api.app.refresher.do(api.ctx, subdomain, refreshToken, func(ctx context.Context) (*tokens, error) {
		t, err := api.app.zendesk.refresh(ctx, subdomain, refreshToken)
		if err == nil && t.RefreshToken == "" {
			// No new refresh token: the old one stays valid (RFC 6749 §6).
			t.RefreshToken, t.RefreshExpiry = refreshToken, refreshExpiry
		}
		if err == nil && t.Scope == "" {
			t.Scope = scope // the grant's, unchanged
		}
		return t, err
	})
	var ze *zendeskError
	switch {
	case errors.As(err, &ze) && ze.Kind == rejected && (ze.Code == "invalid_grant" || ze.Code == "invalid_scope"):
		return &reauthorizeError{"Zendesk refused the refresh token", err}
	case errors.As(err, &ze) && (ze.Kind == timedOut || ze.Kind == noAnswer):
		// Zendesk rotates at once: if it carried the refresh out, the
		// pair this session holds is dead, and only a new authorization
		// surely works (the old grant is kept if not).
		return &reauthorizeError{"the refresh's answer was lost", err}
	}
	if err != nil {
		return err
	}
	s.tokens = *t
	if err := api.save(s); err != nil {
		return api.app.revokeUnkept(api.ctx, s.Subdomain, s.AccessToken, saveError(opRefresh, s.tokens, err))
	}
	api.app.log.InfoContext(api.ctx, "tokens refreshed", "user_id", s.UserID)
	return nil
}

// saveError says why a session with tokens t could not be saved after op.
func saveError(op string, t tokens, err error) error {
	if errors.Is(err, errCookieTooLarge) {
		return newTooLargeError(op, t)
	}
	return fmt.Errorf("saving the session after the %s: %w", op, err)
}

// recentSignIn is how soon after a sign-in a refusal from Zendesk is
// final: a new authorization right before it did not help, and another
// would only loop.
const recentSignIn = time.Minute

func (a *app) signedInRecently(s *session) bool {
	return a.cfg.now().Sub(s.SignedInAt) < recentSignIn
}

// failSignedIn answers the error of a signed-in page whose scope is scope:
// back through Zendesk's authorization when the tokens are spent, or when
// Zendesk refuses them access (403) and a new grant of ZENDESK_SCOPES may
// help: the scopes may have changed since the sign-in. Anything else is an
// error page; tokens too large to keep end the session.
func (a *app) failSignedIn(w http.ResponseWriter, r *http.Request, s *session, scope string, err error) {
	var reauth *reauthorizeError
	var ze *zendeskError
	var tooLarge *tooLargeError
	switch {
	case errors.As(err, &reauth):
		a.reauthorize(w, r, s, err)
	case errors.As(err, &ze) && ze.Status == http.StatusForbidden && !a.signedInRecently(s) &&
		missingScopes(ze.MissingScope, a.cfg.scopes) == "":
		// Zendesk returns at once, without a prompt, when nothing changed.
		// The old tokens are not revoked: that would end the grant, and
		// Zendesk would prompt again.
		a.reauthorize(w, r, s, err)
	case errors.As(err, &tooLarge):
		a.cookies.clear(w, r, sessionCookie)
		a.fail(w, r, a.zendeskErrorPage(err, scope), err)
	default:
		// A transient failure keeps the session: the next try may succeed.
		a.fail(w, r, a.zendeskErrorPage(err, scope), err)
	}
}

// reauthorize ends the session and starts a new sign-in to the same
// Zendesk, coming back to this page afterwards. A redirect cannot repeat a
// form's POST: the person comes back to the form's page (the path it
// posts to), which shows what they typed (keepDraft).
func (a *app) reauthorize(w http.ResponseWriter, r *http.Request, s *session, reason error) {
	a.cookies.clear(w, r, sessionCookie)
	a.log.InfoContext(r.Context(), "session ended; authorizing again", "reason", reason.Error(), "subdomain", s.Subdomain)
	back := r.URL.RequestURI()
	if r.Method != http.MethodGet {
		back = r.URL.Path
		a.keepDraft(w, r)
	}
	http.Redirect(w, r, a.authPath(s.Subdomain, back), http.StatusSeeOther)
}
