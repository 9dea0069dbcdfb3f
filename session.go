package main

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"time"

	"zendesk-oauth-app/internal/securecookie"
	"zendesk-oauth-app/internal/zendesk"
)

// The signed-in session and the sign-in in progress live in cookies,
// sealed (encrypted and authenticated) so that neither page scripts nor
// the person can read or change the tokens inside; any replica of the app
// that shares SESSION_SECRET can open them. Each process also keeps two
// things in memory, which cookies cannot promise: the flows already used,
// so that each is used once (oauthstate.Store), and the refreshes under
// way, so that one refresh token is spent once (userapi.Refresher).
// deploy/nginx.conf sends each person's requests to one replica.

// session is the signed-in state: whose tokens, for which Zendesk.
type session struct {
	Subdomain  string
	UserID     int64     // 0 until Show Self has answered (it may be busy right after the sign-in)
	SignedInAt time.Time // the sign-in that issued the tokens: a refresh does not change it
	// Reauthorized: that sign-in was the app's own re-authorization of an
	// earlier session (reauthorize).
	Reauthorized bool
	zendesk.Token
}

// flow is a sign-in in progress, kept under its state (oauthstate): what
// the callback must send, and where to go. The subdomain travels here,
// never in the callback URL, so a callback can only complete against the
// Zendesk the flow started with.
type flow struct {
	Verifier  string
	Subdomain string
	Return    string // the app's page to go back to afterwards
	Again     bool   // the app's re-authorization of a session
}

const (
	sessionCookie   = "session"
	flowCookie      = "oauth_flow_"       // followed by the flow's state: one cookie per sign-in in progress
	subdomainCookie = "zendesk_subdomain" // pre-fills the instance form

	flowLifetime      = 10 * time.Minute
	maxPendingFlows   = 3
	subdomainLifetime = 365 * 24 * time.Hour
	// defaultSessionLifetime applies when Zendesk gives no end to the token
	// that keeps the person signed in: Zendesk's default refresh lifetime.
	defaultSessionLifetime = zendesk.RefreshTokenLifetime
)

// expires is when the session cookie ends: when the last token that can
// keep the person signed in ends, and at the latest maxAge after the
// sign-in (SESSION_MAX_AGE), however often the tokens were refreshed
// (ASVS 5 §7.3: a session has an absolute lifetime).
func (s *session) expires(now time.Time, maxAge time.Duration) time.Time {
	end := now.Add(defaultSessionLifetime)
	switch {
	case s.RefreshToken != "" && !s.RefreshExpiry.IsZero():
		end = s.RefreshExpiry
	case s.RefreshToken == "" && !s.AccessExpiry.IsZero():
		end = s.AccessExpiry
	}
	if last := s.SignedInAt.Add(maxAge); last.Before(end) {
		return last
	}
	return end
}

// loadSession opens the session cookie. A cookie that does not open
// (tampered, truncated, expired, sealed with an unknown secret or for
// another client or Zendesk) means signed out, and is cleared. One sealed
// with an older secret is sealed again with the current one.
func (a *app) loadSession(w http.ResponseWriter, r *http.Request) (session, bool) {
	var s session
	found, stale, err := a.cookies.Get(r, sessionCookie, &s)
	switch {
	case !found:
		return s, false
	case err == nil && !a.knownSubdomain(s.Subdomain):
		err = fmt.Errorf("the session names the Zendesk %q", shorten(s.Subdomain, 64))
		fallthrough
	case err == nil && !a.cfg.now().Before(s.SignedInAt.Add(a.cfg.sessionMaxAge)):
		// Checked here, not only when sealed: lowering SESSION_MAX_AGE
		// ends the sessions already issued.
		err = cmp.Or(err, errors.New("the sign-in is older than SESSION_MAX_AGE"))
		fallthrough
	case err != nil:
		a.log.InfoContext(r.Context(), "session cookie refused", "error", err)
		a.cookies.Clear(w, r, sessionCookie)
		return s, false
	case stale:
		if err := a.saveSession(w, r, &s); err != nil {
			a.log.WarnContext(r.Context(), "resealing the session failed", "error", err)
		}
	}
	return s, true
}

// knownSubdomain reports whether a subdomain from a cookie may be used:
// one DNS label, as the instance form checks, and in the single-instance
// mode the configured one. A cookie is sealed, but whoever holds
// SESSION_SECRET could seal any host into one.
func (a *app) knownSubdomain(subdomain string) bool {
	label, ok := zendesk.NormalizeSubdomain(subdomain)
	return ok && label == subdomain && (a.cfg.subdomain == "" || subdomain == a.cfg.subdomain)
}

// saveSession seals s into the session cookies of the response.
func (a *app) saveSession(w http.ResponseWriter, r *http.Request, s *session) error {
	err := a.cookies.Set(w, r, sessionCookie, s, s.expires(a.cfg.now(), a.cfg.sessionMaxAge))
	if errors.Is(err, securecookie.ErrTooLarge) {
		return &tooLargeError{len(s.AccessToken), len(s.RefreshToken)}
	}
	return err
}

// tooLargeError means Zendesk's tokens do not fit in the session cookies.
// It keeps their sizes for the log, never the tokens.
type tooLargeError struct{ accessLen, refreshLen int }

func (e *tooLargeError) Error() string {
	return fmt.Sprintf("an access token of %d bytes and a refresh token of %d bytes are too large for %d cookies",
		e.accessLen, e.refreshLen, securecookie.MaxParts)
}
