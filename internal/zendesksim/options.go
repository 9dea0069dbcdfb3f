package zendesksim

import "time"

// Options configures the simulated Zendesk account. The zero value is the
// real Zendesk's default behaviour.
type Options struct {
	// ClientID is the OAuth client's Identifier; default "demo-client".
	// An identifier that begins with zdg- is a global client, which
	// Accounts makes known to all its accounts (see clients.go).
	ClientID string
	// ClientSecret "" makes a public client: PKCE is required and no secret
	// is checked. A non-empty secret makes a confidential client: the secret
	// must match; PKCE is optional, but when a code_challenge was sent at
	// authorize time the verifier is required and checked.
	ClientSecret string
	// RedirectURIs are the registered redirect URLs, compared byte for byte
	// with redirect_uri.
	RedirectURIs []string
	// AllowedScopes are the scopes the client may ask for; nil means any,
	// an empty slice none. An authorization request asking for another
	// scope is sent back to redirect_uri with error=invalid_scope; a token
	// request gets 400 invalid_scope.
	AllowedScopes []string
	// Users are the account's users; the first who is not suspended signs
	// in unless the consent page or the browser's Zendesk session names
	// another. nil means DefaultUsers(): John Doe, an admin, then Jane
	// Roe, an end user. New panics if there is none, ids repeat, or a
	// role or time zone is not Zendesk's.
	Users []User
	// Tickets are the account's tickets to begin with. nil means
	// DefaultTickets() when Users is nil too, and no tickets when Users
	// is set; requesters and comment authors must be among Users.
	Tickets []Ticket
	// AccessTokenTTL and RefreshTokenTTL are the token lifetimes. Zero means
	// honour the expires_in / refresh_token_expires_in the client sent
	// (validated like Zendesk: 300 < expires_in < 172800 and
	// 604800 <= refresh_token_expires_in < 7776000, else 400 invalid_request)
	// or, if it sent none, Zendesk's enforced defaults: 30 minutes and 30
	// days. Non-zero means this lifetime is used whatever the client asked
	// (the client's values are still validated), which lets tests pick
	// short lifetimes.
	AccessTokenTTL, RefreshTokenTTL time.Duration
	// TokenBytes is the length of every access and refresh token; 0 means
	// 1,024. Access tokens are JWTs, which cannot be shorter than their
	// claims: below about 700 bytes they come out longer than asked.
	TokenBytes int
	// TokenStatusOK makes successful token responses 200 OK instead of the
	// reference's 201 Created: Zendesk's own CLI accepts only 200 from the
	// exchange and the refresh (zcli's packages/zcli-core/src/lib/oauth.ts,
	// https://github.com/zendesk/zcli), so that is what it meets.
	TokenStatusOK bool
	// NoRefreshToken makes token responses carry no refresh_token, like some
	// legacy clients.
	NoRefreshToken bool
	// Revocation is what DELETE /api/v2/oauth/tokens/current.json does with
	// a valid token; the zero value revokes it.
	Revocation Revocation
	// BadTokenAnswer is the 401 body an API endpoint sends for a bearer
	// token that is unknown, expired, revoked or malformed; the zero value
	// is RFC 6750's invalid_token.
	BadTokenAnswer BadTokenAnswer
	// ShowSelfNeedsRead makes Show Self require the broad read scope: a
	// token with only users:read gets 403 "You are missing the following
	// required scopes: read". Zendesk does not document which scope Show
	// Self needs; by default users:read or read covers it, like any Users
	// API GET; field reports show this stricter answer:
	// https://support.zendesk.com/hc/en-us/community/posts/4485954843162
	ShowSelfNeedsRead bool
	// IdentityProvider makes the account use single sign-on: a person who
	// is not signed in to Zendesk (no session cookie on the simulator's
	// origin) is sent from the authorization request to an identity
	// provider's page on another origin, then back. Without it the person
	// counts as signed in.
	IdentityProvider bool
	// API lists the extra API endpoints the simulator serves, each behind
	// Zendesk's token and scope checks (see API). New panics if one is
	// malformed.
	API []API
	// Now is the clock; nil means time.Now. Tests inject a fake clock to
	// expire codes, tokens and idempotency keys, and to date tickets.
	Now func() time.Time
}

// Revocation is how the simulator answers a request to revoke a valid
// access token.
type Revocation int

const (
	// Revokes answers 204; the token and its refresh token stop working and
	// the grant they came from is forgotten, as Zendesk documents.
	Revokes Revocation = iota
	// RefusesRevocation answers 403 Forbidden; the token keeps working.
	RefusesRevocation
	// PretendsToRevoke answers 204 but the token keeps working, as
	// community posts report of the real Zendesk:
	// https://support.zendesk.com/hc/en-us/community/posts/4627188332186
	PretendsToRevoke
	// NeedsWriteToRevoke answers 204 to every valid token but revokes only
	// a token with the broad write scope, as Revokes does; a narrower
	// token keeps working. It is the explanation a Zendesk developer
	// advocate suggested in reply to the posts behind PretendsToRevoke:
	// https://support.zendesk.com/hc/en-us/community/posts/5537132288282
	NeedsWriteToRevoke
)

// BadTokenAnswer is the body of the 401 an API endpoint sends for a bearer
// token that is unknown, expired, revoked or malformed. Zendesk sends both;
// no sample of the 401 for an expired JWT access token has been published.
// Zendesk's own clients refresh on any 401, whatever its body (zcli's
// packages/zcli-core/src/lib/request.ts, https://github.com/zendesk/zcli),
// so an app should too.
type BadTokenAnswer int

const (
	// InvalidTokenAnswer is RFC 6750's (§3.1) {"error":"invalid_token",
	// "error_description":"The access token provided is expired, revoked,
	// malformed or invalid for other reasons."}, which Zendesk documents
	// for Show Self:
	// https://developer.zendesk.com/api-reference/ticketing/users/users/#show-self
	InvalidTokenAnswer BadTokenAnswer = iota
	// CouldNotAuthenticateAnswer is Zendesk's other 401 body,
	// {"error":"Couldn't authenticate you"}, as field reports show.
	CouldNotAuthenticateAnswer
)
