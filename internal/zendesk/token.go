package zendesk

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Zendesk's default lifetimes
// (https://developer.zendesk.com/api-reference/ticketing/oauth/grant_type_tokens/).
// Exchange and Refresh ask for them explicitly so that older OAuth
// clients, whose tokens would otherwise never expire and come without a
// refresh token, get refreshable tokens too.
const (
	AccessTokenLifetime  = 30 * time.Minute
	RefreshTokenLifetime = 30 * 24 * time.Hour
)

// Token is what the token endpoint returns. A zero expiry means Zendesk
// gave none: the token has no known end.
type Token struct {
	AccessToken   string
	RefreshToken  string // "" when Zendesk issued none
	Scope         string // what Zendesk granted, space-separated: its reply's scope, else what was asked for
	AccessExpiry  time.Time
	RefreshExpiry time.Time
}

// The operations on the token endpoint, as Error.Op names them.
const (
	OpExchange = "token exchange"
	OpRefresh  = "token refresh"
)

// AuthCodeURL is the link to Zendesk's consent page for a sign-in to the
// instance subdomain. state binds the answer to the browser that asked
// (RFC 6749 §10.12) and the S256 challenge of verifier binds the code to
// this client (RFC 7636 §4.3).
func (c *Config) AuthCodeURL(subdomain, state, verifier string) string {
	return c.baseURL(subdomain) + "/oauth/authorizations/new?" + url.Values{
		"response_type":         {"code"},
		"client_id":             {c.ClientID},
		"redirect_uri":          {c.RedirectURL},
		"scope":                 {c.Scopes},
		"state":                 {state},
		"code_challenge":        {S256Challenge(verifier)},
		"code_challenge_method": {"S256"},
	}.Encode()
}

// tokenParams is the body of a request to /oauth/tokens.
type tokenParams struct {
	GrantType             string `json:"grant_type"`
	Code                  string `json:"code,omitempty"`
	RedirectURI           string `json:"redirect_uri,omitempty"`
	CodeVerifier          string `json:"code_verifier,omitempty"`
	RefreshToken          string `json:"refresh_token,omitempty"`
	ClientID              string `json:"client_id"`
	ClientSecret          string `json:"client_secret,omitempty"`
	Scope                 string `json:"scope,omitempty"`
	ExpiresIn             int    `json:"expires_in"`
	RefreshTokenExpiresIn int    `json:"refresh_token_expires_in"`
}

// Exchange trades an authorization code, with the verifier its sign-in
// began with, for tokens. A code is valid once and for 120 seconds.
func (c *Config) Exchange(ctx context.Context, subdomain, code, verifier string) (*Token, error) {
	return c.tokenRequest(ctx, subdomain, OpExchange, tokenParams{
		GrantType:    "authorization_code",
		Code:         code,
		RedirectURI:  c.RedirectURL, // byte-identical to the authorization request
		CodeVerifier: verifier,
		Scope:        c.Scopes,
	})
}

// Refresh trades a refresh token for a new pair. Zendesk rotates: the old
// pair stops working once this succeeds. It sends no scope, as Zendesk's
// own clients do: the new pair has the grant's scopes, and asking for a
// scope the grant lacks is invalid_scope (RFC 6749 §6). A reply without a
// refresh token or a scope keeps the old one's (RFC 6749 §6): the caller
// passes old, the pair it holds.
func (c *Config) Refresh(ctx context.Context, subdomain string, old Token) (*Token, error) {
	t, err := c.tokenRequest(ctx, subdomain, OpRefresh, tokenParams{
		GrantType:    "refresh_token",
		RefreshToken: old.RefreshToken,
	})
	if err != nil {
		return nil, err
	}
	if t.RefreshToken == "" {
		t.RefreshToken, t.RefreshExpiry = old.RefreshToken, old.RefreshExpiry
	}
	t.Scope = cmp.Or(t.Scope, old.Scope)
	return t, nil
}

// tokenRequest posts to /oauth/tokens as JSON, the format Zendesk's
// reference documents, and parses the reply.
func (c *Config) tokenRequest(ctx context.Context, subdomain, op string, params tokenParams) (*Token, error) {
	params.ClientID, params.ClientSecret = c.ClientID, c.ClientSecret
	params.ExpiresIn = int(AccessTokenLifetime.Seconds())
	params.RefreshTokenExpiresIn = int(RefreshTokenLifetime.Seconds())
	var reply struct {
		AccessToken           string  `json:"access_token"`
		TokenType             string  `json:"token_type"`
		RefreshToken          string  `json:"refresh_token"`
		Scope                 string  `json:"scope"`
		ExpiresIn             seconds `json:"expires_in"`
		RefreshTokenExpiresIn seconds `json:"refresh_token_expires_in"`
	}
	req := Request{Method: "POST", Subdomain: subdomain, Path: "/oauth/tokens", Body: params}
	if err := c.do(ctx, op, req, &reply); err != nil {
		return nil, err
	}
	switch {
	case reply.AccessToken == "":
		return nil, &Error{Op: op, Kind: BadAnswer, Err: errors.New("no access_token in the reply")}
	case reply.TokenType != "" && !strings.EqualFold(reply.TokenType, "bearer"):
		return nil, &Error{Op: op, Kind: BadAnswer, Err: fmt.Errorf("token_type %q is not bearer", clip(reply.TokenType, 32))}
	}
	now := c.now()
	return &Token{
		AccessToken:   reply.AccessToken,
		RefreshToken:  reply.RefreshToken,
		Scope:         strings.Join(strings.Fields(cmp.Or(reply.Scope, params.Scope)), " "),
		AccessExpiry:  reply.ExpiresIn.after(now),
		RefreshExpiry: reply.RefreshTokenExpiresIn.after(now),
	}, nil
}

// RevokePath revokes the access token presented
// (https://developer.zendesk.com/documentation/api-basics/authentication/revoking-oauth-token/).
const RevokePath = "/api/v2/oauth/tokens/current.json"

// Revoke asks Zendesk to revoke accessToken. Zendesk answers 204, but has
// been reported to leave the token working (support.zendesk.com community
// posts 4627188332186 and 5537132288282): check with a call that must now
// be refused, if it matters.
func (c *Config) Revoke(ctx context.Context, subdomain, accessToken string) error {
	return c.Do(ctx, Request{Method: "DELETE", Subdomain: subdomain, Path: RevokePath, Token: accessToken}, nil)
}

// seconds is a lifetime in seconds as Zendesk sends it: a number, a numeric
// string, or null (no expiry). Values beyond Zendesk's 90-day maximum are
// capped, so no reply can make a session outlive its token by much.
type seconds int64

const maxLifetime = 90 * 24 * 60 * 60

func (s *seconds) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*s = 0
		return nil
	}
	n, err := strconv.ParseInt(strings.Trim(string(b), `"`), 10, 64)
	if err != nil || n < 0 {
		return errors.New("invalid lifetime") // not the value: it came from outside
	}
	*s = seconds(min(n, maxLifetime))
	return nil
}

func (s seconds) after(now time.Time) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return now.Add(time.Duration(s) * time.Second)
}
