package zendesksim

import (
	"net/http"
	"slices"
	"strings"
)

// Zendesk's scope rules: what a client may ask for, and what a token's
// scopes let it call. Scopes are space-separated in requests and replies.
// https://developer.zendesk.com/api-reference/ticketing/oauth/grant_type_tokens/#scope

// scopesAllowed reports whether every scope in scope (space-separated) is
// one of Options.AllowedScopes; nil AllowedScopes allow any. Allowed scopes
// per client exist since 2026-08-10:
// https://support.zendesk.com/hc/en-us/articles/11093380955674
func (s *Simulator) scopesAllowed(scope string) bool {
	if s.opts.AllowedScopes == nil {
		return true
	}
	for _, sc := range strings.Fields(scope) {
		if !slices.Contains(s.opts.AllowedScopes, sc) {
			return false
		}
	}
	return true
}

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
