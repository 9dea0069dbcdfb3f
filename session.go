package main

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net/http"
	"time"
)

// The app keeps no server-side state: the signed-in session and the
// in-progress sign-in each live in one cookie, sealed (encrypted and
// authenticated) so that neither page scripts nor the person can read or
// change the tokens inside (zendesk-api.md §9.7). Any instance that shares
// SESSION_SECRET can open them.

// session is the signed-in state: whose tokens, for which instance.
type session struct {
	Subdomain string `json:"d"`
	UserID    int64  `json:"u"`
	tokens
}

// flow is a sign-in in progress: what the callback must check and send.
// The subdomain travels here, never in the callback URL, so a callback can
// only complete against the instance the flow started with.
type flow struct {
	State     string `json:"s"`
	Verifier  string `json:"v"`
	Subdomain string `json:"d"`
}

const (
	sessionCookie   = "session"
	flowCookie      = "oauth_flow"
	subdomainCookie = "zendesk_subdomain" // pre-fills the instance form

	flowLifetime      = 10 * time.Minute
	subdomainLifetime = 365 * 24 * time.Hour
	// defaultSessionLifetime applies when Zendesk gives no end to the token
	// that keeps the person signed in: Zendesk's default refresh lifetime.
	defaultSessionLifetime = refreshTokenLifetime
	// Browsers drop cookies larger than about 4 KB.
	maxCookieBytes = 4000
)

// expires is when the session cookie ends: when the last token that can
// keep the person signed in ends.
func (s *session) expires(now time.Time) time.Time {
	switch {
	case s.RefreshToken != "" && !s.RefreshExpiry.IsZero():
		return s.RefreshExpiry
	case s.RefreshToken == "" && !s.AccessExpiry.IsZero():
		return s.AccessExpiry
	}
	return now.Add(defaultSessionLifetime)
}

// sealer seals cookie values with AES-256-GCM. Keys are derived from the
// secrets with HKDF; the first key seals, every key opens, so a secret can
// be rotated without signing everyone out.
type sealer struct {
	aeads []cipher.AEAD
}

func newSealer(secrets [][]byte) (*sealer, error) {
	s := &sealer{}
	for _, secret := range secrets {
		key, err := hkdf.Key(sha256.New, secret, nil, "zendesk-oauth-app cookie sealing v1", 32)
		if err != nil {
			return nil, err
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, err
		}
		// A random 96-bit nonce per seal is safe for far more cookies than
		// this app will ever set.
		aead, err := cipher.NewGCMWithRandomNonce(block)
		if err != nil {
			return nil, err
		}
		s.aeads = append(s.aeads, aead)
	}
	if len(s.aeads) == 0 {
		return nil, errors.New("no session secret")
	}
	return s, nil
}

var errBadCookie = errors.New("cookie is invalid or expired")

// seal encrypts payload with its expiry time. The cookie name is bound in as
// additional data, so a value sealed for one cookie never opens as another.
func (s *sealer) seal(name string, payload []byte, expires time.Time) string {
	plain := binary.BigEndian.AppendUint64(nil, uint64(expires.Unix()))
	plain = append(plain, payload...)
	return base64.RawURLEncoding.EncodeToString(s.aeads[0].Seal(nil, nil, plain, []byte(name)))
}

// open checks and decrypts a sealed value. stale reports that an older
// secret sealed it, so the caller should seal it again with the current one.
// The expiry is checked here, not left to the browser.
func (s *sealer) open(name, value string, now time.Time) (payload []byte, stale bool, err error) {
	if len(value) > maxCookieBytes {
		return nil, false, errBadCookie
	}
	sealed, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil {
		return nil, false, errBadCookie
	}
	for i, aead := range s.aeads {
		plain, err := aead.Open(nil, nil, sealed, []byte(name))
		if err != nil {
			continue
		}
		if len(plain) < 8 || now.Unix() >= int64(binary.BigEndian.Uint64(plain)) {
			return nil, false, errBadCookie
		}
		return plain[8:], i > 0, nil
	}
	return nil, false, errBadCookie
}

// cookies reads and writes the app's sealed cookies with the attributes
// security asks for: HttpOnly (no script reads them), SameSite=Lax (sent on
// the top-level redirect back from Zendesk, not on cross-site
// sub-requests), Secure and the __Host- prefix when the app is served over
// https (RFC 6265bis §4.1.3.2).
type cookies struct {
	sealer *sealer
	secure bool
	now    func() time.Time
}

func (c *cookies) name(base string) string {
	if c.secure {
		return "__Host-" + base
	}
	return base
}

// set seals v as JSON into the named cookie until expires.
func (c *cookies) set(w http.ResponseWriter, base string, v any, expires time.Time) error {
	payload, err := json.Marshal(v)
	if err != nil {
		return err
	}
	value := c.sealer.seal(c.name(base), payload, expires)
	if len(value) > maxCookieBytes {
		return errors.New("sealed cookie is too large for a browser")
	}
	maxAge := int(expires.Sub(c.now()).Seconds())
	if maxAge < 1 {
		// 0 would mean "no Max-Age", a cookie for the whole browser
		// session: with under a second left, delete it instead.
		maxAge = -1
	}
	c.write(w, base, value, maxAge)
	return nil
}

// get opens the named cookie into v. A missing cookie gives found=false; a
// forged, truncated, expired or foreign one an error (the caller treats it
// as absent and clears it).
func (c *cookies) get(r *http.Request, base string, v any) (found, stale bool, err error) {
	ck, err := r.Cookie(c.name(base))
	if err != nil {
		return false, false, nil
	}
	payload, stale, err := c.sealer.open(c.name(base), ck.Value, c.now())
	if err != nil {
		return true, false, err
	}
	if err := json.Unmarshal(payload, v); err != nil {
		return true, false, errBadCookie
	}
	return true, stale, nil
}

func (c *cookies) clear(w http.ResponseWriter, base string) {
	c.write(w, base, "", -1)
}

func (c *cookies) write(w http.ResponseWriter, base, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name:     c.name(base),
		Value:    value,
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   c.secure,
		SameSite: http.SameSiteLaxMode,
	})
}

// randomToken returns 256 random bits, base64url-encoded (43 characters):
// used for state and for the PKCE verifier, which RFC 7636 §4.1 wants
// 43 to 128 unreserved characters long.
func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}
