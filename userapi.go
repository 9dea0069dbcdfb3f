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
//	if err := api.get("/api/v2/users/1/tickets/requested.json", &reply); err != nil {
//		api.fail(err)
//		return
//	}
type userAPI struct {
	a *app
	w http.ResponseWriter
	r *http.Request
	s *session
}

func (a *app) userAPI(w http.ResponseWriter, r *http.Request, s *session) *userAPI {
	return &userAPI{a: a, w: w, r: r, s: s}
}

// signedIn wraps the handler of a page that needs a signed-in person. A
// signed-out person is sent to sign in first, and back to the page after.
func (a *app) signedIn(h func(http.ResponseWriter, *http.Request, *userAPI)) http.HandlerFunc {
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
	if !u.s.AccessExpiry.IsZero() && u.a.cfg.now().Add(refreshMargin).After(u.s.AccessExpiry) {
		if err := u.refresh(); err != nil {
			return err
		}
	}
	req := apiRequest{method: method, subdomain: u.s.Subdomain, path: path, token: u.s.AccessToken, body: body}
	err := u.a.zendesk.do(u.r.Context(), req, out)
	if isZendeskCode(err, "invalid_token") { // expired early, or revoked
		if err := u.refresh(); err != nil {
			return err
		}
		req.token = u.s.AccessToken
		err = u.a.zendesk.do(u.r.Context(), req, out)
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
type tooLargeError struct {
	op string
	t  tokens
}

func (e *tooLargeError) Error() string {
	return fmt.Sprintf("the %s gave an access token of %d bytes and a refresh token of %d bytes: too large for %d cookies",
		e.op, len(e.t.AccessToken), len(e.t.RefreshToken), maxCookieChunks)
}

// refresh trades the refresh token for a new pair and saves it in the
// session cookie at once: the old pair is dead at Zendesk, so losing the
// new one would sign the person out. A pair too large to keep is revoked
// and reported, never dropped in silence.
func (u *userAPI) refresh() error {
	// An expired refresh token needs no check here: the session cookie
	// expires with it. Zendesk's invalid_grant covers the rest.
	s := u.s
	if s.RefreshToken == "" {
		return &reauthorizeError{"access token expired or refused, and there is no refresh token"}
	}
	subdomain, refreshToken, refreshExpiry := s.Subdomain, s.RefreshToken, s.RefreshExpiry
	t, err := u.a.refresher.do(u.r.Context(), subdomain, refreshToken, func(ctx context.Context) (*tokens, error) {
		t, err := u.a.zendesk.refresh(ctx, subdomain, refreshToken)
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
	if err := u.a.saveSession(u.w, u.r, s); err != nil {
		u.a.revokeUnkept(u.r, s.Subdomain, s.AccessToken)
		return &tooLargeError{opRefresh, s.tokens}
	}
	u.a.log.InfoContext(u.r.Context(), "tokens refreshed", "request_id", requestID(u.r.Context()), "user_id", s.UserID)
	return nil
}

// recentSignIn is how soon after a sign-in a 403 from Zendesk is final: a
// new authorization right before it did not help.
const recentSignIn = time.Minute

// fail answers a failed call with what the person should see: back
// through Zendesk's authorization when the tokens are spent or Zendesk
// refuses them access (403) for the first time; else an error page.
func (u *userAPI) fail(err error) {
	a, w, r := u.a, u.w, u.r
	var reauth *reauthorizeError
	var ze *zendeskError
	justSignedIn := a.cfg.now().Sub(time.Unix(u.s.AuthorizedAt, 0)) < recentSignIn
	switch {
	case errors.As(err, &reauth):
		a.reauthorize(w, r, u.s, reauth.reason)
	case errors.As(err, &ze) && ze.Status == http.StatusForbidden && !justSignedIn:
		// The token's scopes may be older than ZENDESK_SCOPES, or the
		// client's allowed scopes changed. Zendesk returns at once, without
		// a prompt, when nothing changed.
		a.reauthorize(w, r, u.s, "Zendesk refused access (403): authorizing again with the current scopes")
	case errors.As(err, &ze) && ze.Status == http.StatusForbidden:
		a.fail(w, r, http.StatusForbidden, "Zendesk refused access",
			fmt.Sprintf("Zendesk refuses this to the app even after a new sign-in. Whoever runs the app should check that ZENDESK_SCOPES (now %q) covers what the page needs (for example users:read or read for your profile), that the OAuth client allows those scopes, and that your Zendesk role may see it.", a.cfg.scopes), err)
	default:
		a.failZendesk(w, r, err)
	}
}

// reauthorize ends the session and starts a new sign-in to the same
// instance, coming back to this page afterwards.
func (a *app) reauthorize(w http.ResponseWriter, r *http.Request, s *session, reason string) {
	a.cookies.clear(w, r, sessionCookie)
	a.log.LogAttrs(r.Context(), slog.LevelInfo, "session ended; authorizing again", slog.String("request_id", requestID(r.Context())),
		slog.String("reason", reason), slog.String("subdomain", s.Subdomain))
	back := ""
	if r.Method == http.MethodGet && r.URL.Path != "/zendesk/oauth/callback" {
		back = r.URL.RequestURI()
	}
	http.Redirect(w, r, a.authPath(s.Subdomain, back), http.StatusSeeOther)
}
