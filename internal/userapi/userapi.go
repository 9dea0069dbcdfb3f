// Package userapi calls the Zendesk API as a signed-in person, as
// golang.org/x/oauth2's Config.Client does for a program: it keeps the
// person's access token fresh, refreshes it shortly before it expires and
// once after any 401, and retries that call once.
//
// It adds what x/oauth2 lacks (https://github.com/golang/oauth2/issues/84):
// every rotated pair goes to a save function before it is used. Zendesk's
// refresh tokens work once, so a pair that is not saved signs the person
// out (https://developer.zendesk.com/documentation/api-basics/authentication/refresh-token).
//
// Revoke ends the person's grant at sign-out, and says whether Zendesk
// really did. A Refresher remembers for a while the tokens Zendesk refused
// or revoked, so that a replayed dead cookie costs Zendesk nothing.
//
// A Refresher is shared by every request of a process: requests that carry
// the same refresh token share one refresh. A Client is made per request,
// for one person. Only a refused refresh asks for a new authorization: a
// Zendesk that is down, slow or busy keeps the person's tokens, so an
// outage signs nobody out.
package userapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"zendesk-oauth-app/internal/zendesk"
)

// refreshMargin: a token this close to its expiry is refreshed before
// use, so it cannot expire on its way to Zendesk.
const refreshMargin = 60 * time.Second

// Client calls the Zendesk API as one person. Its methods send a body,
// when they have one, as JSON, and decode the JSON reply into out (nil:
// ignore it). Errors are a *zendesk.Error (Zendesk's description and
// field details are in it), a *ReauthorizeError when the tokens cannot be
// refreshed, or the caller's own (a body JSON cannot encode).
type Client struct {
	ctx       context.Context
	refresher *Refresher
	subdomain string
	token     *zendesk.Token
	save      func(*zendesk.Token) error
}

// Client returns a Client for the person whose tokens, at the Zendesk
// instance subdomain, are token. A refresh writes the new pair into token
// and calls save with it before any use; if save fails, the new pair is
// revoked and the call fails.
func (r *Refresher) Client(ctx context.Context, subdomain string, token *zendesk.Token, save func(*zendesk.Token) error) *Client {
	return &Client{ctx: ctx, refresher: r, subdomain: subdomain, token: token, save: save}
}

// Get calls GET path (with its query).
func (c *Client) Get(path string, out any) error {
	return c.Do(zendesk.Request{Method: "GET", Path: path}, out)
}

// Post, Put and Patch send body as JSON.
func (c *Client) Post(path string, body, out any) error {
	return c.Do(zendesk.Request{Method: "POST", Path: path, Body: body}, out)
}

func (c *Client) Put(path string, body, out any) error {
	return c.Do(zendesk.Request{Method: "PUT", Path: path, Body: body}, out)
}

func (c *Client) Patch(path string, body, out any) error {
	return c.Do(zendesk.Request{Method: "PATCH", Path: path, Body: body}, out)
}

// Delete calls DELETE path.
func (c *Client) Delete(path string) error {
	return c.Do(zendesk.Request{Method: "DELETE", Path: path}, nil)
}

// Create posts body with an Idempotency-Key: a repeat with the same key
// (the person sends a form again after a timeout) gets the first result
// instead of a second record. Only creates take one
// (https://developer.zendesk.com/api-reference/ticketing/introduction/#idempotency).
func (c *Client) Create(path, idempotencyKey string, body, out any) error {
	return c.Do(zendesk.Request{Method: "POST", Path: path, Body: body, IdempotencyKey: idempotencyKey}, out)
}

// Do makes req as the person: its Subdomain and Token are theirs.
func (c *Client) Do(req zendesk.Request, out any) error {
	t := c.token
	if !t.AccessExpiry.IsZero() && c.refresher.now().Add(refreshMargin).After(t.AccessExpiry) {
		if err := c.refresh(); err != nil {
			return err
		}
	}
	req.Subdomain, req.Token = c.subdomain, t.AccessToken
	err := c.do(req, out)
	// Any 401: the token expired early or was revoked. Zendesk's 401s do
	// not all say invalid_token, and its own clients refresh on any.
	if zendesk.Unauthorized(err) {
		if err := c.refresh(); err != nil {
			return err
		}
		req.Token = t.AccessToken
		if err = c.do(req, out); zendesk.Unauthorized(err) {
			return &ReauthorizeError{"Zendesk refused a fresh access token (401)", err}
		}
	}
	return err
}

// do makes req, unless its token is one Zendesk refused or revoked lately:
// then it answers Zendesk's 401 itself.
func (c *Client) do(req zendesk.Request, out any) error {
	if c.refresher.isDead(c.subdomain, req.Token) {
		path, _, _ := strings.Cut(req.Path, "?")
		return &zendesk.Error{Op: req.Method + " " + path, Kind: zendesk.Rejected, Status: http.StatusUnauthorized,
			Err: errors.New("a token Zendesk refused or revoked lately")}
	}
	return c.refresher.zendesk.Do(c.ctx, req, out)
}

// ReauthorizeError means the tokens cannot be refreshed: the person must
// go through Zendesk's authorization again.
type ReauthorizeError struct {
	Reason string
	Err    error // Zendesk's answer, if there was one
}

func (e *ReauthorizeError) Error() string {
	if e.Err != nil {
		return "re-authorization needed: " + e.Reason + ": " + e.Err.Error()
	}
	return "re-authorization needed: " + e.Reason
}

func (e *ReauthorizeError) Unwrap() error { return e.Err }

// refresh trades the refresh token for a new pair and saves it at once:
// the old pair is dead at Zendesk, so losing the new one would sign the
// person out. A pair that cannot be saved is revoked, never dropped in
// silence.
func (c *Client) refresh() error {
	// An expired refresh token needs no check here: Zendesk's invalid_grant
	// covers it.
	switch {
	case c.token.RefreshToken == "":
		return &ReauthorizeError{"access token expired or refused, and there is no refresh token", nil}
	case c.refresher.isDead(c.subdomain, c.token.RefreshToken):
		return &ReauthorizeError{"Zendesk refused or revoked this refresh token lately", nil}
	}
	t, err := c.refresher.refresh(c.ctx, c.subdomain, *c.token)
	switch {
	case zendesk.HasCode(err, "invalid_grant") || zendesk.HasCode(err, "invalid_scope"):
		return &ReauthorizeError{"Zendesk refused the refresh token", err}
	case err != nil:
		// An outage (a timeout, a 5xx, a 429, no answer twice) keeps the
		// pair: the next call tries again. If Zendesk did rotate it, that
		// try gets invalid_grant.
		return err
	}
	*c.token = *t
	if err := c.save(c.token); err != nil {
		return revokeUnkept(c.ctx, c.refresher.zendesk, c.subdomain, t.AccessToken, fmt.Errorf("saving the refreshed pair: %w", err))
	}
	return nil
}

// revokeUnkept revokes, best effort, an access token that will not be
// kept, so that no valid token is left that no one holds. It returns
// cause with the outcome, for the log.
func revokeUnkept(ctx context.Context, z *zendesk.Config, subdomain, accessToken string, cause error) error {
	if err := z.Revoke(context.WithoutCancel(ctx), subdomain, accessToken); err != nil {
		return fmt.Errorf("%w (revoking the unkept token failed: %v)", cause, err)
	}
	return fmt.Errorf("%w (the unkept token was revoked)", cause)
}
