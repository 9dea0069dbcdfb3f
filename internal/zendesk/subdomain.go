package zendesk

import (
	"regexp"
	"strings"
	"unicode"
)

// subdomainLabel is one DNS host label (RFC 1123 §2.1, lower case): what
// a Zendesk subdomain must be. Zendesk publishes no rule of its own
// (https://support.zendesk.com/hc/en-us/articles/203660756 only says how
// to change it).
var subdomainLabel = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`)

// NormalizeSubdomain turns what a person types into a Zendesk subdomain.
// "acme", " ACME ", "acme.zendesk.com", "https://acme.zendesk.com" and
// "https://acme.zendesk.com/agent/tickets/1" all give "acme". Anything
// else, another host, a port, userinfo or stray characters, is refused:
// the result is spliced into https://{subdomain}.zendesk.com, and a
// crafted value there could send the code or the client secret to someone
// else's host.
func NormalizeSubdomain(input string) (string, bool) {
	for _, r := range input {
		if r > unicode.MaxASCII {
			return "", false // before ToLower, which maps the Kelvin sign to "k"
		}
	}
	s := strings.ToLower(strings.TrimSpace(input))
	s = strings.TrimPrefix(s, "https://")
	s = strings.TrimPrefix(s, "http://")
	host, _, hasPath := strings.Cut(s, "/")
	if hasPath && !strings.HasSuffix(host, ".zendesk.com") {
		return "", false // a path is only ignored after a pasted Zendesk URL
	}
	s = strings.TrimSuffix(host, ".zendesk.com")
	if !subdomainLabel.MatchString(s) {
		return "", false
	}
	return s, true
}
