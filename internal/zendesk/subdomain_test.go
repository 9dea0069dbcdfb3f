package zendesk

import (
	"net/url"
	"strings"
	"testing"
)

var subdomainCases = []struct {
	input, want string // want "" = refused
}{
	{"acme", "acme"},
	{"  ACME  ", "acme"},
	{"acme.zendesk.com", "acme"},
	{"Acme.Zendesk.com", "acme"},
	{"https://acme.zendesk.com", "acme"},
	{"https://acme.zendesk.com/", "acme"},
	{"https://acme.zendesk.com/agent/tickets/1", "acme"},
	{"http://acme.zendesk.com/hc/en-us", "acme"},
	{"a", "a"},
	{"my-company-2", "my-company-2"},
	{strings.Repeat("a", 63), strings.Repeat("a", 63)},

	{"", ""},
	{"   ", ""},
	{strings.Repeat("a", 64), ""},
	{"-acme", ""},
	{"acme-", ""},
	{"ac me", ""},
	{"acme\t", "acme"}, // surrounding whitespace only
	{"ac\tme", ""},
	{"acme.example.com", ""},
	{"https://acme.example.com", ""},
	{"https://evil.com/acme.zendesk.com", ""},
	{"acme.zendesk.com.evil.com", ""},
	{"evil.com/.zendesk.com", ""},
	{"https://user@acme.zendesk.com", ""},
	{"user:pass@acme", ""},
	{"acme@evil.com", ""},
	{"acme:443", ""},
	{"https://acme.zendesk.com:8443/", ""},
	{"acme/", ""},
	{"acme/../evil", ""},
	{"acme%2eevil", ""},
	{"acme\\evil", ""},
	{"acme.evil", ""},
	{"ácme", ""},
	{"\u212acme", ""}, // Kelvin sign: lowercases to ASCII k
	{"acme\x00", ""},
	{"acme?x=1", ""},
	{"acme#x", ""},
	{"//evil.com", ""},
	{"javascript:alert(1)", ""},
}

func TestNormalizeSubdomain(t *testing.T) {
	for _, tc := range subdomainCases {
		got, ok := NormalizeSubdomain(tc.input)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("NormalizeSubdomain(%q) = %q, %v; want %q", tc.input, got, ok, tc.want)
		}
	}
}

// FuzzNormalizeSubdomain checks that whatever a person types, an accepted
// value is one DNS label and the URLs built from it stay on Zendesk.
func FuzzNormalizeSubdomain(f *testing.F) {
	for _, tc := range subdomainCases {
		f.Add(tc.input)
	}
	c := &Config{ClientID: "id", RedirectURL: "http://localhost:3000/zendesk/oauth/callback"}
	f.Fuzz(func(t *testing.T, input string) {
		label, ok := NormalizeSubdomain(input)
		if !ok {
			if label != "" {
				t.Fatalf("refused %q but returned %q", input, label)
			}
			return
		}
		if !subdomainLabel.MatchString(label) {
			t.Fatalf("accepted %q as %q, which is not one DNS label", input, label)
		}
		u, err := url.Parse(c.AuthCodeURL(label, "state", "verifier"))
		if err != nil || u.Scheme != "https" || u.Host != label+".zendesk.com" || u.User != nil || u.Port() != "" {
			t.Fatalf("input %q builds %v (err %v): not https://%s.zendesk.com", input, u, err, label)
		}
	})
}
