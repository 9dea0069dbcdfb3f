package zendesk

import (
	"slices"
	"strings"
)

// MissingScopes returns the scopes in want (space-separated) that granted
// does not cover. A broad read or write covers every resource's
// (https://developer.zendesk.com/api-reference/ticketing/oauth/grant_type_tokens/#scope).
func MissingScopes(want, granted string) string {
	have := strings.Fields(granted)
	var missing []string
	for _, scope := range strings.Fields(want) {
		_, access, isResource := strings.Cut(scope, ":")
		if !slices.Contains(have, scope) && !(isResource && slices.Contains(have, access)) {
			missing = append(missing, scope)
		}
	}
	return strings.Join(missing, " ")
}
