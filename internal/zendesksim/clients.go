package zendesksim

import (
	"crypto/subtle"
	"slices"
	"strings"
)

// OAuth clients. A client made in one Zendesk account works only there:
// at another account's authorization page it is "No such client". A
// global client, whose identifier begins with zdg-, works on every
// account:
// https://developer.zendesk.com/documentation/apps/publish-your-app-or-theme/global_oauth_intro/
//
// A simulated account knows the client its Options describe. Served by
// Accounts, every account also knows each global client any account's
// Options describe, as if it had been registered once for all of them;
// NewServer's single account knows only its own.

// client is an OAuth client an account knows.
type client struct {
	id, secret    string
	redirectURIs  []string
	allowedScopes []string // nil: any
}

// globalPrefix begins the identifier of a global client.
const globalPrefix = "zdg-"

// clientOf returns the client opts describe, ClientID "" being
// "demo-client".
func clientOf(opts Options) client {
	id := opts.ClientID
	if id == "" {
		id = "demo-client"
	}
	return client{id: id, secret: opts.ClientSecret,
		redirectURIs: slices.Clone(opts.RedirectURIs), allowedScopes: slices.Clone(opts.AllowedScopes)}
}

// global reports whether c works on every account.
func (c client) global() bool {
	return strings.HasPrefix(c.id, globalPrefix)
}

// same reports whether c and other are the same registration.
func (c client) same(other client) bool {
	return c.id == other.id && c.secret == other.secret && slices.Equal(c.redirectURIs, other.redirectURIs) &&
		slices.Equal(c.allowedScopes, other.allowedScopes) && (c.allowedScopes == nil) == (other.allowedScopes == nil)
}

// authenticates reports whether secret is c's: anything for a public
// client (no secret), else the same secret.
func (c client) authenticates(secret string) bool {
	return c.secret == "" || subtle.ConstantTimeCompare([]byte(secret), []byte(c.secret)) == 1
}

// allows reports whether every scope in scope (space-separated) is one of
// c's allowed scopes; nil allowed scopes allow any. Allowed scopes per
// client exist since 2026-08-10:
// https://support.zendesk.com/hc/en-us/articles/11093380955674
func (c client) allows(scope string) bool {
	if c.allowedScopes == nil {
		return true
	}
	for _, sc := range strings.Fields(scope) {
		if !slices.Contains(c.allowedScopes, sc) {
			return false
		}
	}
	return true
}

// client returns the client with identifier id, if the account knows it.
func (s *Simulator) client(id string) (client, bool) {
	c, ok := s.clients[id]
	return c, ok
}
