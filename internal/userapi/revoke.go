package userapi

import (
	"errors"
	"fmt"

	"zendesk-oauth-app/internal/zendesk"
)

// Revocation is how a revocation went.
type Revocation string

const (
	Revoked  Revocation = "revoked"  // Zendesk revoked the token, and refuses it now
	Refused  Revocation = "refused"  // Zendesk refused to revoke it
	Failed   Revocation = "failed"   // Zendesk could not be reached, or was not available
	Kept     Revocation = "kept"     // Zendesk answered 204, but the token still works
	Unusable Revocation = "unusable" // the tokens were unusable already: nothing to revoke
)

// checkPath is what Revoke calls to check a revocation: Show Self, which
// every user may call.
const checkPath = "/api/v2/users/me.json"

// Revoke revokes the person's access token, refreshed first if it has
// expired so that the live one is revoked, and checks with one call that
// Zendesk now refuses it: Zendesk has answered 204 and left a token
// working (support.zendesk.com community posts 4627188332186 and
// 5537132288282). A pair Zendesk said it revoked is remembered as dead
// (Refresher.Revoked): this process does not use it again.
// The error says why when the outcome is not Revoked, or why Revoked
// could not be checked.
func (c *Client) Revoke() (Revocation, error) {
	err := c.Delete(zendesk.RevokePath)
	var ze *zendesk.Error
	switch {
	case errors.As(err, new(*ReauthorizeError)) || zendesk.Unauthorized(err):
		return Unusable, nil
	case errors.As(err, &ze) && ze.Kind == zendesk.Rejected:
		return Refused, err
	case err != nil:
		return Failed, err
	}
	c.refresher.Revoked(c.subdomain, *c.token)
	// The check uses the token as it is: Do would refresh it, and hide
	// whether the revocation worked.
	err = c.refresher.zendesk.Do(c.ctx, zendesk.Request{Method: "GET", Subdomain: c.subdomain, Path: checkPath, Token: c.token.AccessToken}, nil)
	switch {
	case err == nil:
		return Kept, errors.New("zendesk answered 204 to the revocation, but the token still works")
	case zendesk.Unauthorized(err):
		return Revoked, nil
	}
	return Revoked, fmt.Errorf("revocation not verified: %w", err) // Zendesk said 204: take its word
}
