package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// userAPI calls the Zendesk API as the signed-in person: the one way code
// calls Zendesk as the person, as golang.org/x/oauth2's Config.Client is
// for a program. It keeps the person's access token fresh: it refreshes it
// shortly before it expires and once after 401 invalid_token, and saves the
// rotated pair at once. It needs no request or response: any code with a
// session and a way to save it can use one.
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
// person. A signed-out person is sent to sign in first, and back to the
// page after.
func (a *app) requireSignIn(h signedInHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, ok := a.loadSession(w, r)
		if !ok {
			http.Redirect(w, r, a.authPath(a.cfg.subdomain, r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		a.serveSignedIn(w, r, &s, h)
	}
}

// serveSignedIn runs h for the person whose session s is, and answers the
// error h returns.
func (a *app) serveSignedIn(w http.ResponseWriter, r *http.Request, s *session, h signedInHandler) {
	if err := h(w, r, a.userAPI(w, r, s)); err != nil {
		a.failSignedIn(w, r, s, err)
	}
}

// refreshMargin: a token this close to its expiry is refreshed before use,
// so it cannot expire on its way to Zendesk.
const refreshMargin = 60 * time.Second

// get calls GET path (with its query) and decodes the JSON reply into out.
func (api *userAPI) get(path string, out any) error {
	return api.call("GET", path, nil, out)
}

// call sends one request as the person: body, when not nil, as JSON; the
// JSON reply into out (nil: ignore it). Errors are a *zendeskError, or a
// *reauthorizeError when the tokens cannot be refreshed.
func (api *userAPI) call(method, path string, body, out any) error {
	s := api.session
	if !s.AccessExpiry.IsZero() && api.app.cfg.now().Add(refreshMargin).After(s.AccessExpiry) {
		if err := api.refresh(); err != nil {
			return err
		}
	}
	req := apiRequest{method: method, subdomain: s.Subdomain, path: path, token: s.AccessToken, body: body}
	err := api.app.zendesk.do(api.ctx, req, out)
	if isZendeskCode(err, "invalid_token") { // expired early, or revoked
		if err := api.refresh(); err != nil {
			return err
		}
		req.token = s.AccessToken
		err = api.app.zendesk.do(api.ctx, req, out)
	}
	return err
}

// me calls Show Self.
func (api *userAPI) me() (*user, error) {
	var reply meReply
	if err := api.get(mePath, &reply); err != nil {
		return nil, err
	}
	return reply.user()
}

// reauthorizeError means the tokens cannot be refreshed: the person must
// go through Zendesk's authorization again.
type reauthorizeError struct{ reason string }

func (e *reauthorizeError) Error() string { return "re-authorization needed: " + e.reason }

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
		return &reauthorizeError{"access token expired or refused, and there is no refresh token"}
	}
	subdomain, refreshToken, refreshExpiry := s.Subdomain, s.RefreshToken, s.RefreshExpiry
	t, err := api.app.refresher.do(api.ctx, subdomain, refreshToken, func(ctx context.Context) (*tokens, error) {
		t, err := api.app.zendesk.refresh(ctx, subdomain, refreshToken)
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

// recentSignIn is how soon after a sign-in a 403 from Zendesk is final: a
// new authorization right before it did not help.
const recentSignIn = time.Minute

// failSignedIn answers the error of a signed-in page: back through
// Zendesk's authorization when the tokens are spent, or when Zendesk
// refuses them access (403) and the sign-in is not recent: the scopes may
// have changed since. Anything else is an error page; tokens too large to
// keep end the session.
func (a *app) failSignedIn(w http.ResponseWriter, r *http.Request, s *session, err error) {
	var reauth *reauthorizeError
	var ze *zendeskError
	var tooLarge *tooLargeError
	switch {
	case errors.As(err, &reauth):
		a.reauthorize(w, r, s, err)
	case errors.As(err, &ze) && ze.Status == http.StatusForbidden && a.cfg.now().Sub(s.SignedInAt) >= recentSignIn:
		// Zendesk returns at once, without a prompt, when nothing changed.
		// The old tokens are not revoked: that would end the grant, and
		// Zendesk would prompt again.
		a.reauthorize(w, r, s, err)
	case errors.As(err, &tooLarge):
		a.cookies.clear(w, r, sessionCookie)
		a.failZendesk(w, r, err)
	default:
		// A transient failure keeps the session: the next try may succeed.
		a.failZendesk(w, r, err)
	}
}

// reauthorize ends the session and starts a new sign-in to the same
// Zendesk, coming back to this page afterwards.
func (a *app) reauthorize(w http.ResponseWriter, r *http.Request, s *session, reason error) {
	a.cookies.clear(w, r, sessionCookie)
	a.log.InfoContext(r.Context(), "session ended; authorizing again", "reason", reason.Error(), "subdomain", s.Subdomain)
	back := ""
	if r.Method == http.MethodGet { // a redirect cannot repeat a form's POST
		back = r.URL.RequestURI()
	}
	http.Redirect(w, r, a.authPath(s.Subdomain, back), http.StatusSeeOther)
}
