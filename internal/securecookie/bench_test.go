package securecookie

import (
	"crypto/rand"
	"testing"
	"time"
)

// benchValue is a realistic session: two 43-character tokens, both expiry
// times, a subdomain and a user id.
func benchValue() any {
	now := time.Now()
	return &struct {
		Subdomain                   string
		UserID                      int64
		AccessToken, RefreshToken   string
		AccessExpiry, RefreshExpiry time.Time
	}{"acme", 372619238112, rand.Text() + rand.Text(), rand.Text() + rand.Text(), now.Add(30 * time.Minute), now.Add(720 * time.Hour)}
}

// BenchmarkEncode seals a session: JSON, AES-GCM and base64, as Set does
// before cutting the value into cookies.
func BenchmarkEncode(b *testing.B) {
	c, v := newCookies(b, testSecret).Codec, benchValue()
	expires := time.Now().Add(24 * time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Encode("session", v, expires); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecode opens a sealed session: base64, AES-GCM with its expiry
// check, and JSON, as Get does once it has the parts.
func BenchmarkDecode(b *testing.B) {
	c, v := newCookies(b, testSecret).Codec, benchValue()
	sealed, err := c.Encode("session", v, time.Now().Add(24*time.Hour))
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("sealed session: %d bytes", len(sealed))
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Decode("session", sealed, now, benchValue()); err != nil {
			b.Fatal(err)
		}
	}
}
