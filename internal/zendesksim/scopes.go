package zendesksim

import (
	"net/http"
	"slices"
)

// Zendesk's scope rule: what a token's scopes let it call. Scopes are
// space-separated in requests and replies.
// https://developer.zendesk.com/api-reference/ticketing/oauth/grant_type_tokens/#scope

// scopesCover applies Zendesk's scope rule: read covers every GET, write
// every other method, and <resource>:read or :write the same for one
// resource.
func scopesCover(scopes []string, resource, method string) bool {
	need := "write"
	if method == http.MethodGet || method == http.MethodHead {
		need = "read"
	}
	return slices.Contains(scopes, need) || slices.Contains(scopes, resource+":"+need)
}
