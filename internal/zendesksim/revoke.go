package zendesksim

import "net/http"

// Revocation, DELETE /api/v2/oauth/tokens/current(.json): any valid token
// may revoke itself, whatever its scopes.
// https://developer.zendesk.com/documentation/api-basics/authentication/revoking-oauth-token/

// revoke revokes the caller's access token and the refresh token issued
// with it, and forgets the grant they came from.
func (s *Simulator) revoke(w http.ResponseWriter, _ *http.Request, c Caller) {
	s.mu.Lock()
	if t := s.access[c.token]; t != nil {
		t.revoked = true
		delete(s.refresh, t.refresh)
		delete(s.grants, grantOf(t.clientID, t.scope))
	}
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}
