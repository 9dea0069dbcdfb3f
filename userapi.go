package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// userAPI calls the Zendesk API as the signed-in person: the one way a
// handler calls Zendesk, as golang.org/x/oauth2's Config.Client is for a
// program. It keeps the person's access token fresh: it refreshes it
// shortly before it expires and once after 401 invalid_token, and writes
// the rotated pair into the session cookie on the same response. A handler
// only names its request, and hands any error to fail:
//
//	var reply struct{ Tickets []ticket }
//	path := fmt.Sprintf("/api/v2/users/%d/tickets/requested.json", api.session.UserID)
//	if err := api.get(path, &reply); err != nil {
//		api.fail(err)
//		return
//	}
//
// The error pages: a.fail writes any error page and its log line;
// a.failZendesk picks the page for a failed Zendesk call; userAPI.fail
// first sends the person back through authorization when that can help.
type userAPI struct {
	app     *app
	w       http.ResponseWriter
	r       *http.Request
	session *session // the rotated pair goes here, and into its cookie
}

func (a *app) userAPI(w http.ResponseWriter, r *http.Request, s *session) *userAPI {
	return &userAPI{app: a, w: w, r: r, session: s}
}

// requireSignIn wraps the handler of a page that needs a signed-in
// person. A signed-out person is sent to sign in first, and back to the
// page after.
func (a *app) requireSignIn(h func(http.ResponseWriter, *http.Request, *userAPI)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, ok := a.loadSession(w, r)
		if !ok {
			http.Redirect(w, r, a.authPath(a.cfg.subdomain, r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		h(w, r, a.userAPI(w, r, &s))
	}
}

// refreshMargin: a token this close to its expiry is refreshed before use,
// so it cannot expire on its way to Zendesk.
const refreshMargin = 60 * time.Second

// get calls GET path (with its query) and decodes the JSON reply into out.
func (u *userAPI) get(path string, out any) error {
	return u.call("GET", path, nil, out)
}

// call sends one request as the person: body, when not nil, as JSON; the
// JSON reply into out (nil: ignore it). Errors are a *zendeskError, or a
// *reauthorizeError when the tokens cannot be refreshed.
func (u *userAPI) call(method, path string, body, out any) error {
	if !u.session.AccessExpiry.IsZero() && u.app.cfg.now().Add(refreshMargin).After(u.session.AccessExpiry) {
		if err := u.refresh(); err != nil {
			return err
		}
	}
	req := apiRequest{method: method, subdomain: u.session.Subdomain, path: path, token: u.session.AccessToken, body: body}
	err := u.app.zendesk.do(u.r.Context(), req, out)
	if isZendeskCode(err, "invalid_token") { // expired early, or revoked
		if err := u.refresh(); err != nil {
			return err
		}
		req.token = u.session.AccessToken
		err = u.app.zendesk.do(u.r.Context(), req, out)
	}
	return err
}

// me calls Show Self.
func (u *userAPI) me() (*user, error) {
	var reply meReply
	if err := u.get(mePath, &reply); err != nil {
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
func (u *userAPI) refresh() error {
	// An expired refresh token needs no check here: the session cookie
	// expires with it. Zendesk's invalid_grant covers the rest.
	s := u.session
	if s.RefreshToken == "" {
		return &reauthorizeError{"access token expired or refused, and there is no refresh token"}
	}
	subdomain, refreshToken, refreshExpiry := s.Subdomain, s.RefreshToken, s.RefreshExpiry
	t, err := u.app.refresher.do(u.r.Context(), subdomain, refreshToken, func(ctx context.Context) (*tokens, error) {
		t, err := u.app.zendesk.refresh(ctx, subdomain, refreshToken)
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
	if err := u.app.saveSession(u.w, u.r, s); err != nil {
		return u.app.revokeUnkept(u.r, s.Subdomain, s.AccessToken, newTooLargeError(opRefresh, s.tokens))
	}
	u.app.log.InfoContext(u.r.Context(), "tokens refreshed", "request_id", requestID(u.r.Context()), "user_id", s.UserID)
	return nil
}

// recentSignIn is how soon after a sign-in a 403 from Zendesk is final: a
// new authorization right before it did not help.
const recentSignIn = time.Minute

// fail answers a failed call with what the person should see: back
// through Zendesk's authorization when the tokens are spent, or when
// Zendesk refuses them access (403) and the sign-in is not recent: the
// scopes may have changed since. Anything else is an error page
// (failZendesk).
func (u *userAPI) fail(err error) {
	var reauth *reauthorizeError
	var ze *zendeskError
	switch {
	case errors.As(err, &reauth):
		u.app.reauthorize(u.w, u.r, u.session, reauth)
	case errors.As(err, &ze) && ze.Status == http.StatusForbidden &&
		u.app.cfg.now().Sub(time.Unix(u.session.AuthorizedAt, 0)) >= recentSignIn:
		// Zendesk returns at once, without a prompt, when nothing changed.
		// The old tokens are not revoked: that would end the grant, and
		// Zendesk would prompt again.
		u.app.reauthorize(u.w, u.r, u.session, err)
	default:
		u.app.failZendesk(u.w, u.r, err)
	}
}

// reauthorize ends the session and starts a new sign-in to the same
// instance, coming back to this page afterwards.
func (a *app) reauthorize(w http.ResponseWriter, r *http.Request, s *session, reason error) {
	a.cookies.clear(w, r, sessionCookie)
	a.logAttrs(r.Context(), slog.LevelInfo, "session ended; authorizing again", slog.String("request_id", requestID(r.Context())),
		slog.String("reason", reason.Error()), slog.String("subdomain", s.Subdomain))
	back := ""
	if r.Method == http.MethodGet { // a redirect cannot repeat a form's POST
		back = r.URL.RequestURI()
	}
	http.Redirect(w, r, a.authPath(s.Subdomain, back), http.StatusSeeOther)
}
