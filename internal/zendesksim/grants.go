package zendesksim

import (
	"slices"
	"strings"
)

// grant is what a person allowed on the consent page: a client, as that
// user, a set of scopes. Zendesk remembers it, and sends that person's
// later authorization request for the same client and scopes straight
// back with a code, without the consent page; other scopes prompt again
// (Zendesk's web-app tutorial):
// https://developer.zendesk.com/documentation/ticketing/working-with-oauth/using-oauth-to-authenticate-zendesk-api-requests-in-a-web-app/
type grant struct {
	clientID string
	userID   int64
	scopes   string // sorted, without duplicates, space-separated
}

// grantOf is the grant a request for scope (space-separated) by clientID
// asks of user userID: "write read" and "read write read" are the same
// grant.
func grantOf(clientID string, userID int64, scope string) grant {
	f := strings.Fields(scope)
	slices.Sort(f)
	return grant{clientID, userID, strings.Join(slices.Compact(f), " ")}
}

func (s *Simulator) remember(g grant) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.grants[g] = true
}

func (s *Simulator) granted(g grant) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.grants[g]
}
