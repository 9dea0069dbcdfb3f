package main

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The signed-in session and the sign-in in progress live in cookies, sealed
// (encrypted and authenticated) so that neither page scripts nor the person
// can read or change the tokens inside; any replica of the app that shares
// SESSION_SECRET can open them. What each process keeps in memory is only
// an optimisation for requests that arrive together: the flows already used
// (spentStates in main.go) and the results of recent refreshes (refresh.go).

// session is the signed-in state: whose tokens, for which Zendesk.
type session struct {
	Subdomain  string
	UserID     int64     // 0 until Show Self has answered (it may be busy right after the sign-in)
	SignedInAt time.Time // the sign-in that issued the tokens: a refresh does not change it
	tokens
}

// flow is a sign-in in progress: what the callback must check and send.
// The subdomain travels here, never in the callback URL, so a callback can
// only complete against the Zendesk the flow started with.
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
// keep the person signed in ends, and at the latest maxAge after the
// sign-in (SESSION_MAX_AGE), however often the tokens were refreshed
// (ASVS 5 §7.3: a session has an absolute lifetime).
func (s *session) expires(now time.Time, maxAge time.Duration) time.Time {
	end := now.Add(defaultSessionLifetime)
	switch {
	case s.RefreshToken != "" && !s.RefreshExpiry.IsZero():
		end = s.RefreshExpiry
	case s.RefreshToken == "" && !s.AccessExpiry.IsZero():
		end = s.AccessExpiry
	}
	if last := s.SignedInAt.Add(maxAge); last.Before(end) {
		return last
	}
	return end
}

// sealVersion names the format of what cookies hold: JSON of the structs
// above. A field added to a struct needs no change here: cookies sealed
// before it existed open with the field zero. Removing a field or changing
// its type does: bump the version, and cookies sealed before stop opening
// (people sign in again).
const sealVersion = "zendesk-oauth-app cookie sealing v2"

// sealer seals cookie values with AES-256-GCM. Keys are derived from the
// secrets with HKDF; the first key seals, every key opens, so a secret can
// be rotated without signing everyone out.
type sealer struct {
	aeads []cipher.AEAD
	// binding is bound into every seal with the cookie's name, so a cookie
	// sealed by an app configured for another client or Zendesk never
	// opens here, even with the same secret.
	binding string
}

func newSealer(secrets [][]byte, binding string) (*sealer, error) {
	s := &sealer{binding: binding}
	for _, secret := range secrets {
		key, err := hkdf.Key(sha256.New, secret, nil, sealVersion, 32)
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

// sealed is what a cookie holds before sealing: a value and its expiry,
// which open checks on the server rather than trusting the browser.
type sealed struct {
	Expires int64           `json:"exp"` // Unix seconds
	Value   json.RawMessage `json:"v"`
}

// additionalData binds a seal to the cookie's name and the app's binding.
func (s *sealer) additionalData(name string) []byte {
	return []byte(name + "\x00" + s.binding)
}

// seal encrypts v, as JSON, with its expiry, and returns it
// base64url-encoded.
func (s *sealer) seal(name string, v any, expires time.Time) (string, error) {
	value, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	plain, err := json.Marshal(sealed{Expires: expires.Unix(), Value: value})
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(s.aeads[0].Seal(nil, nil, plain, s.additionalData(name))), nil
}

// open checks and decrypts a sealed value into v. stale reports that an
// older secret sealed it, so the caller should seal it again with the
// current one.
func (s *sealer) open(name, value string, now time.Time, v any) (stale bool, err error) {
	if len(value) > maxCookieChunks*cookieChunkBytes {
		return false, errBadCookie
	}
	ciphertext, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil {
		return false, errBadCookie
	}
	for i, aead := range s.aeads {
		plain, err := aead.Open(nil, nil, ciphertext, s.additionalData(name))
		if err != nil {
			continue
		}
		var c sealed
		if json.Unmarshal(plain, &c) != nil || now.Unix() >= c.Expires || json.Unmarshal(c.Value, v) != nil {
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
func (c *cookies) set(w http.ResponseWriter, r *http.Request, base string, v any, expires time.Time) error {
	value, err := c.sealer.seal(c.name(base), v, expires)
	if err != nil {
		return err
	}
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
	for ; value != ""; i++ {
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
func (c *cookies) get(r *http.Request, base string, v any) (found, stale bool, err error) {
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
	c.write(w, c.name(base), "", -1)
	c.deleteFrom(w, r, base, 1)
}

// deleteFrom deletes the parts from the i-th on that the browser sent.
func (c *cookies) deleteFrom(w http.ResponseWriter, r *http.Request, base string, i int) {
	for ; i < maxCookieChunks; i++ {
		if _, err := r.Cookie(c.chunkName(base, i)); err == nil {
			c.write(w, c.chunkName(base, i), "", -1)
		}
	}
}

// unset removes the Set-Cookie headers this response already has for the
// named cookie and its parts: the last write wins. (A refresh saves the
// session, and the same response may then end it.)
func (c *cookies) unset(w http.ResponseWriter, base string) {
	prefix := c.name(base)
	w.Header()["Set-Cookie"] = slices.DeleteFunc(w.Header()["Set-Cookie"], func(h string) bool {
		name, _, _ := strings.Cut(h, "=")
		return name == prefix || strings.HasPrefix(name, prefix+".")
	})
}

// write sets one cookie; a negative maxAge deletes it.
func (c *cookies) write(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name:     name,
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
