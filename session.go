package main

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The app keeps no server-side state: the signed-in session and the
// sign-in in progress each live in cookies, sealed (encrypted and
// authenticated) so that neither page scripts nor the person can read or
// change the tokens inside. Any instance that shares SESSION_SECRET can
// open them.

// session is the signed-in state: whose tokens, for which instance.
type session struct {
	Subdomain    string
	UserID       int64
	AuthorizedAt int64 // Unix time of the sign-in that issued the tokens
	tokens
}

// flow is a sign-in in progress: what the callback must check and send.
// The subdomain travels here, never in the callback URL, so a callback can
// only complete against the instance the flow started with.
type flow struct {
	State     string
	Verifier  string
	Subdomain string
	Return    string // the app's page to go back to afterwards
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

	// Browsers keep at most 4,096 bytes of name=value per cookie
	// (RFC 6265bis §5.6), and Zendesk's tokens are JWTs of a kilobyte or
	// more: a sealed value is split over up to three cookies, name,
	// name.1 and name.2. With the request's other headers that stays
	// within one 16 KB header line (deploy/nginx.conf).
	cookieChunkBytes = 4000
	maxCookieChunks  = 3
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
	// instance is bound into every seal with the cookie's name, so a
	// cookie sealed by an app configured for another client or Zendesk
	// instance never opens here, even with the same secret.
	instance string
}

func newSealer(secrets [][]byte, instance string) (*sealer, error) {
	s := &sealer{instance: instance}
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

var (
	errBadCookie      = errors.New("cookie is invalid or expired")
	errCookieTooLarge = errors.New("sealed cookie is too large for a browser")
)

// additionalData binds a seal to the cookie's name and the app's instance.
func (s *sealer) additionalData(name string) []byte {
	return []byte(name + "\x00" + s.instance)
}

// seal encrypts v with its expiry time, and writes it base64url-encoded
// to dst. The plain text is the expiry (Unix seconds, big-endian), then
// the record. The steps between use reused buffers: a session is a few
// kilobytes, sealed at every sign-in and refresh.
func (s *sealer) seal(dst *bytes.Buffer, name string, v record, expires time.Time) {
	plain, sealed := getBuffer(), getBuffer()
	defer putBuffer(plain)
	defer putBuffer(sealed)
	plain.Write(binary.BigEndian.AppendUint64(plain.AvailableBuffer(), uint64(expires.Unix())))
	writeRecord(plain, v)
	sealed.Grow(plain.Len() + s.aeads[0].Overhead()) // the nonce, the ciphertext and the tag
	out := s.aeads[0].Seal(sealed.AvailableBuffer(), nil, plain.Bytes(), s.additionalData(name))
	dst.Grow(base64.RawURLEncoding.EncodedLen(len(out)))
	dst.Write(base64.RawURLEncoding.AppendEncode(dst.AvailableBuffer(), out))
}

// open checks and decrypts a sealed value into v. stale reports that an
// older secret sealed it, so the caller should seal it again with the
// current one. The expiry is checked here, not left to the browser.
func (s *sealer) open(name, value string, now time.Time, v record) (stale bool, err error) {
	if len(value) > maxCookieChunks*cookieChunkBytes {
		return false, errBadCookie
	}
	sealed, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil {
		return false, errBadCookie
	}
	for i, aead := range s.aeads {
		plain, err := aead.Open(nil, nil, sealed, s.additionalData(name))
		if err != nil {
			continue
		}
		if len(plain) < 8 || now.Unix() >= int64(binary.BigEndian.Uint64(plain)) || !readRecord(plain[8:], v) {
			return false, errBadCookie
		}
		return i > 0, nil
	}
	return false, errBadCookie
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

// chunkName is the name of the i-th cookie that holds part of a value.
func (c *cookies) chunkName(base string, i int) string {
	if i == 0 {
		return c.name(base)
	}
	return c.name(base) + "." + strconv.Itoa(i)
}

// set seals v into the named cookie until expires, split over as many
// cookies as it needs. It replaces what this response already set under
// that name, and deletes the parts the browser has beyond the new ones,
// so the parts always belong together.
func (c *cookies) set(w http.ResponseWriter, r *http.Request, base string, v record, expires time.Time) error {
	buf := getBuffer()
	defer putBuffer(buf)
	c.sealer.seal(buf, c.name(base), v, expires)
	value := buf.Bytes()
	if len(value) > maxCookieChunks*cookieChunkBytes {
		return errCookieTooLarge
	}
	maxAge := int(expires.Sub(c.now()).Seconds())
	if maxAge < 1 {
		// 0 would mean "no Max-Age", a cookie for the whole browser
		// session: with under a second left, delete it instead.
		maxAge = -1
	}
	c.unset(w, base)
	i := 0
	for ; len(value) > 0; i++ {
		part := value[:min(len(value), cookieChunkBytes)]
		value = value[len(part):]
		c.write(w, c.chunkName(base, i), part, maxAge)
	}
	c.deleteFrom(w, r, base, i)
	return nil
}

// get opens the named cookie into v. A missing cookie gives found=false; a
// forged, truncated, expired or foreign one an error (the caller treats it
// as absent and clears it).
func (c *cookies) get(r *http.Request, base string, v record) (found, stale bool, err error) {
	first, err := r.Cookie(c.name(base))
	if err != nil {
		return false, false, nil
	}
	// Only a full part can have another after it.
	value, part := first.Value, first.Value
	for i := 1; i < maxCookieChunks && len(part) == cookieChunkBytes; i++ {
		next, err := r.Cookie(c.chunkName(base, i))
		if err != nil {
			break
		}
		part = next.Value
		value += part
	}
	stale, err = c.sealer.open(c.name(base), value, c.now(), v)
	return true, stale, err
}

// clear deletes the named cookie and its parts.
func (c *cookies) clear(w http.ResponseWriter, r *http.Request, base string) {
	c.unset(w, base)
	c.write(w, c.name(base), nil, -1)
	c.deleteFrom(w, r, base, 1)
}

// deleteFrom deletes the parts from the i-th on that the browser sent.
func (c *cookies) deleteFrom(w http.ResponseWriter, r *http.Request, base string, i int) {
	for ; i < maxCookieChunks; i++ {
		if _, err := r.Cookie(c.chunkName(base, i)); err == nil {
			c.write(w, c.chunkName(base, i), nil, -1)
		}
	}
}

// unset removes the Set-Cookie headers this response already has for the
// named cookie and its parts: the last write wins.
func (c *cookies) unset(w http.ResponseWriter, base string) {
	prefix := c.name(base)
	w.Header()["Set-Cookie"] = slices.DeleteFunc(w.Header()["Set-Cookie"], func(h string) bool {
		name, _, _ := strings.Cut(h, "=")
		return name == prefix || strings.HasPrefix(name, prefix+".")
	})
}

// write sets one cookie. It writes the Set-Cookie line itself, in one
// allocation, rather than through http.SetCookie, which checks every byte
// of a value that is base64url by construction and kilobytes long.
func (c *cookies) write(w http.ResponseWriter, name string, value []byte, maxAge int) {
	attributes := "; Path=/; Max-Age=0; HttpOnly; SameSite=Lax" // Max-Age=0 deletes the cookie
	if maxAge > 0 {
		attributes = "; Path=/; Max-Age=" + strconv.Itoa(maxAge) + "; HttpOnly; SameSite=Lax"
	}
	if c.secure {
		attributes += "; Secure"
	}
	w.Header().Add("Set-Cookie", name+"="+string(value)+attributes)
}

// randomToken returns 256 random bits, base64url-encoded (43 characters):
// used for state and for the PKCE verifier, which RFC 7636 §4.1 wants
// 43 to 128 unreserved characters long.
func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}
