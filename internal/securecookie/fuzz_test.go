package securecookie

import (
	"net/http/httptest"
	"testing"
	"time"
)

// FuzzOpen: no value opens unless this codec sealed it, and no value
// makes opening panic.
func FuzzOpen(f *testing.F) {
	c := newCookies(f, testSecret)
	sealed := value{Subdomain: "acme", UserID: 1, Access: "token"}
	valid, err := c.Codec.Encode("session", &sealed, c.Now().Add(time.Hour))
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{valid, valid[:len(valid)-1], valid + "A", "", "=", "AAAA", "!!!!", string(make([]byte, 5000))} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Cookie", "session="+v+"; oauth_flow="+v)
		var got value
		found, _, err := c.Get(req, "session", &got)
		// Under -fuzz each worker seals its own valid value (a new nonce), so
		// the check is on content: only what this test sealed may open.
		if found && err == nil && got != sealed {
			t.Fatalf("%q opened: %+v", v, got)
		}
		if found, _, err := c.Get(req, "oauth_flow", &got); found && err == nil {
			t.Fatalf("%q opened under another name: %+v", v, got)
		}
	})
}
