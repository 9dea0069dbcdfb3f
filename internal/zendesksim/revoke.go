package zendesksim

import (
	"net/http"
	"slices"
)

// Revocation, DELETE /api/v2/oauth/tokens/current(.json): any valid token
// may revoke itself, whatever its scopes.
// https://developer.zendesk.com/documentation/api-basics/authentication/revoking-oauth-token/
//
// Zendesk documents 204 and a dead token. Community posts report a 204
// after which the token kept working, and a Zendesk advocate asking
// whether the token had full write scope; Options.Revocation lets a test
// meet each answer (NeedsWriteToRevoke is the advocate's explanation):
// https://support.zendesk.com/hc/en-us/community/posts/4627188332186
// https://support.zendesk.com/hc/en-us/community/posts/5537132288282

// revoke answers a caller with a valid token as Options.Revocation says. A
// real revocation also kills the refresh token issued with the access
// token and forgets the grant they came from.
func (s *Simulator) revoke(w http.ResponseWriter, _ *http.Request, c Caller) {
	switch s.opts.Revocation {
	case RefusesRevocation:
		writeForbidden(w)
		return
	case PretendsToRevoke:
		w.WriteHeader(http.StatusNoContent)
		return
	case NeedsWriteToRevoke:
		if !slices.Contains(c.Scopes, "write") {
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	s.mu.Lock()
	if t := s.access[c.token]; t != nil {
		t.revoked = true
		delete(s.refresh, t.refresh)
		delete(s.grants, t.grant)
	}
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}
