package zendesksim

import (
	"fmt"
	"strings"
)

// Operations an account's admin performs outside the OAuth flow, which an
// app meets only by their effects.

// DeleteClientTokens does what an admin does by deleting an OAuth
// client's tokens in Admin Center (for a global client, under External
// OAuth clients): every access and refresh token the client holds in this
// account is gone, with its unexchanged codes and the grants people
// allowed it. The next API call with one of those tokens is 401, the next
// refresh invalid_grant, and the person must authorize again, on a
// consent page. Revoked reports false for a deleted token: it was not
// revoked, it is gone.
// https://support.zendesk.com/hc/en-us/articles/9447118302362
func (s *Simulator) DeleteClientTokens(clientID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forgetLocked(func(g grant) bool { return g.clientID == clientID })
}

// SuspendUser does what an admin does by suspending the user with id: the
// user may no longer sign in (the consent page stops offering them), their
// Zendesk sessions end, and their tokens stop working: the next API call
// is 401, the next refresh invalid_grant, and their remembered grants are
// forgotten. It panics if the account has no such user.
// https://support.zendesk.com/hc/en-us/articles/9447118302362
func (s *Simulator) SuspendUser(id int64) {
	if !s.store.suspend(id) {
		panic(fmt.Sprintf("zendesksim: SuspendUser: the account has no user %d", id))
	}
	s.endAccess(id)
}

// CreateToken does what an admin does with the OAuth Tokens API's Create
// Token: it issues an access token, and a refresh token unless
// Options.NoRefreshToken, of the account's own client (Options.ClientID)
// for the user with id, with scope (space-separated), without any consent
// page and without remembering a grant. The lifetimes are those of a
// token request that asks for none. Tests use it to call an endpoint as a
// user without signing in through a browser. It panics if the user does
// not exist or is suspended, or if scope is empty.
// https://developer.zendesk.com/api-reference/ticketing/oauth/oauth_tokens/#create-token
func (s *Simulator) CreateToken(id int64, scope string) (accessToken, refreshToken string) {
	if u, ok := s.store.user(id); !ok || u.Suspended {
		panic(fmt.Sprintf("zendesksim: CreateToken: user %d does not exist or is suspended", id))
	}
	if strings.TrimSpace(scope) == "" {
		panic("zendesksim: CreateToken needs a scope")
	}
	lt, _ := s.lifetimes(nil)
	s.mu.Lock()
	defer s.mu.Unlock()
	resp := s.issueLocked(createdIssuer, grantOf(s.opts.ClientID, id, scope), scope, lt, s.opts.Now())
	return resp.AccessToken, resp.RefreshToken
}

// createdIssuer is the issuer CreateToken's tokens name: made outside any
// request, they have no account URL to name.
const createdIssuer = "zendesksim"

// endAccess ends what the user with id may do with the account's clients:
// their access and refresh tokens, unexchanged codes, remembered grants
// and Zendesk sessions are gone, so the next API call is 401, the next
// refresh invalid_grant, and signing in again shows the consent page.
func (s *Simulator) endAccess(userID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forgetLocked(func(g grant) bool { return g.userID == userID })
	for id, u := range s.sessions {
		if u == userID {
			delete(s.sessions, id)
		}
	}
}

// forgetLocked deletes the access and refresh tokens, the unexchanged
// codes and the remembered grants of every grant that gone reports. s.mu
// must be held.
func (s *Simulator) forgetLocked(gone func(grant) bool) {
	for token, t := range s.access {
		if gone(t.grant) {
			delete(s.access, token)
		}
	}
	for token, t := range s.refresh {
		if gone(t.grant) {
			delete(s.refresh, token)
		}
	}
	for code, c := range s.codes {
		if gone(grant{clientID: c.clientID, userID: c.userID}) {
			delete(s.codes, code)
		}
	}
	for g := range s.grants {
		if gone(g) {
			delete(s.grants, g)
		}
	}
}
