// Package zendesk is a client for Zendesk's OAuth 2.0 endpoints and its
// Support API, shaped like golang.org/x/oauth2: a Config holds an OAuth
// client's settings; AuthCodeURL, Exchange and Refresh speak the
// authorization code flow with PKCE (RFC 7636); Revoke ends a token; Do
// calls any API endpoint with a bearer token.
//
// Every call names the Zendesk instance (its subdomain) it goes to, since
// an app with a global OAuth client serves many. Every failure at
// Zendesk's end is an *Error, whose message never holds a token, a secret
// or a reply's body, so it is safe to log.
//
// Zendesk's OAuth documentation:
// https://developer.zendesk.com/api-reference/ticketing/oauth/grant_type_tokens/
package zendesk

import (
	"net/http"
	"time"
)

// Config is an OAuth client of Zendesk.
type Config struct {
	// ClientID is the OAuth client's Identifier, not its numeric id.
	ClientID string
	// ClientSecret is empty for a public client, which relies on PKCE alone.
	ClientSecret string
	// Scopes are asked for at authorization, space-separated, e.g. "users:read".
	Scopes string
	// RedirectURL is where Zendesk sends the browser back; it must be one
	// of the client's registered redirect URLs, byte for byte.
	RedirectURL string
	// BaseURL returns the origin of the Zendesk instance subdomain; nil
	// means https://{subdomain}.zendesk.com. A proxy or a test double
	// replaces it. subdomain is always a valid one (NormalizeSubdomain).
	BaseURL func(subdomain string) string
	// Header goes with every request, e.g. a Marketplace app's
	// X-Zendesk-Marketplace-* headers
	// (https://developer.zendesk.com/documentation/marketplace/building-a-marketplace-app/request-header-requirements-for-marketplace-apps).
	Header http.Header
	// HTTPClient makes every request; nil means a NewHTTPClient of
	// DefaultTimeout. Its Timeout bounds each call.
	HTTPClient *http.Client
	// Now is the clock that dates token expiry; nil means time.Now.
	Now func() time.Time
}

// DefaultTimeout bounds each call to Zendesk when Config.HTTPClient is nil.
const DefaultTimeout = 10 * time.Second

// maxConnsPerZendesk bounds the connections to one Zendesk. Its rate
// limits (200 to 2,500 requests a minute per account) make more concurrent
// calls pointless: a burst waits for a connection instead of opening
// hundreds.
const maxConnsPerZendesk = 50

var defaultHTTPClient = NewHTTPClient(DefaultTimeout)

// NewHTTPClient returns a client for Zendesk calls: Go's default transport
// (proxy from the environment, HTTP/2, dial and TLS timeouts) with two
// changes, and timeout for each whole request, headers and body.
func NewHTTPClient(timeout time.Duration) *http.Client {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxConnsPerHost = maxConnsPerZendesk
	// Many people sign in at once: keep those connections open between
	// calls, not the default two, so that most calls skip a new TCP and
	// TLS handshake.
	transport.MaxIdleConnsPerHost = maxConnsPerZendesk
	return &http.Client{
		Transport: transport,
		Timeout:   timeout,
		// Zendesk's API does not redirect; following one could send a
		// token to another host, so a redirect is treated as a bad answer.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Timeout is how long one call may take: the HTTP client's timeout.
func (c *Config) Timeout() time.Duration {
	return c.httpClient().Timeout
}

func (c *Config) httpClient() *http.Client {
	if c.HTTPClient != nil {
		return c.HTTPClient
	}
	return defaultHTTPClient
}

func (c *Config) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Config) baseURL(subdomain string) string {
	if c.BaseURL != nil {
		return c.BaseURL(subdomain)
	}
	return "https://" + subdomain + ".zendesk.com"
}
