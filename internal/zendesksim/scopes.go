package zendesksim

import (
	"net/http"
	"slices"
	"strings"
)

// Zendesk's scope rules: what a token's scopes let it call (what a client
// may ask for is client.allows). Scopes are space-separated in requests and replies.
// https://developer.zendesk.com/api-reference/ticketing/oauth/grant_type_tokens/#scope

// scopesWithin reports whether every scope in asked is one of granted's
// (space-separated).
func scopesWithin(asked []string, granted string) bool {
	have := strings.Fields(granted)
	for _, sc := range asked {
		if !slices.Contains(have, sc) {
			return false
		}
	}
	return true
}

// missingScope applies Zendesk's scope rule to a request with method on
// an endpoint of resource: read covers every GET, write every other
// method, and <resource>:read or :write the same for one resource. It
// returns "" when scopes cover the request, else the scope Zendesk's 403
// names: <resource>:read or <resource>:write, or, for an endpoint that
// accepts only the broad scopes (broadOnly), read or write.
func missingScope(scopes []string, resource, method string, broadOnly bool) string {
	broad := "write"
	if method == http.MethodGet || method == http.MethodHead {
		broad = "read"
	}
	specific := resource + ":" + broad
	switch {
	case slices.Contains(scopes, broad), !broadOnly && slices.Contains(scopes, specific):
		return ""
	case broadOnly:
		return broad
	}
	return specific
}
