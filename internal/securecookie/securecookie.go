// Package securecookie keeps values in cookies that the browser can
// neither read nor change, as github.com/gorilla/securecookie does: a
// Codec seals a value (JSON, encrypted and authenticated with AES-256-GCM)
// with its expiry and the cookie's name; Cookies writes it with the
// attributes security asks for, split over several cookies when it is
// larger than a browser keeps in one.
//
// Keys come from secrets by HKDF-SHA256. The first secret seals, every
// secret opens, so a secret can be rotated without signing anyone out.
package securecookie

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"time"
)

// sealVersion names the format of what a cookie holds: JSON of the value.
// A field added to a struct needs no change here: values sealed before it
// existed open with the field zero. Removing a field or changing its type
// does: bump the version, and cookies sealed before stop opening. The
// name is the app's from before this package existed, so that its cookies
// still open.
const sealVersion = "zendesk-oauth-app cookie sealing v2"

var (
	// ErrInvalid is a value that does not open: forged, truncated,
	// expired, sealed with an unknown secret or for another binding.
	ErrInvalid = errors.New("securecookie: cookie is invalid or expired")
	// ErrTooLarge is a value too large for the cookies a browser keeps.
	ErrTooLarge = errors.New("securecookie: sealed value is too large for a browser")
)

// Codec seals and opens values.
type Codec struct {
	aeads []cipher.AEAD
	// binding is sealed into every value with the cookie's name, so a
	// value sealed for another binding never opens, even with the same
	// secret.
	binding string
}

// New returns a Codec whose first secret seals and every secret opens.
// binding names what the values belong to (the app's OAuth client and
// Zendesk, say): a value sealed under another binding does not open.
func New(secrets [][]byte, binding string) (*Codec, error) {
	c := &Codec{binding: binding}
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
		// an app will ever set.
		aead, err := cipher.NewGCMWithRandomNonce(block)
		if err != nil {
			return nil, err
		}
		c.aeads = append(c.aeads, aead)
	}
	if len(c.aeads) == 0 {
		return nil, errors.New("securecookie: no secret")
	}
	return c, nil
}

// sealed is what a cookie holds before sealing: a value and its expiry,
// which Decode checks rather than trusting the browser's.
type sealed struct {
	Expires int64           `json:"exp"` // Unix seconds
	Value   json.RawMessage `json:"v"`
}

// additionalData binds a seal to the cookie's name and the binding.
func (c *Codec) additionalData(name string) []byte {
	return []byte(name + "\x00" + c.binding)
}

// Encode seals v, as JSON, with its expiry, for the cookie name, and
// returns it base64url-encoded.
func (c *Codec) Encode(name string, v any, expires time.Time) (string, error) {
	value, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	plain, err := json.Marshal(sealed{Expires: expires.Unix(), Value: value})
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(c.aeads[0].Seal(nil, nil, plain, c.additionalData(name))), nil
}

// Decode opens a value of the cookie name into v; ErrInvalid if it does
// not open or expired before now. stale reports that an older secret
// sealed it: the caller should seal it again with the current one.
func (c *Codec) Decode(name, value string, now time.Time, v any) (stale bool, err error) {
	if len(value) > MaxParts*PartBytes {
		return false, ErrInvalid
	}
	ciphertext, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil {
		return false, ErrInvalid
	}
	for i, aead := range c.aeads {
		plain, err := aead.Open(nil, nil, ciphertext, c.additionalData(name))
		if err != nil {
			continue
		}
		var s sealed
		if json.Unmarshal(plain, &s) != nil || now.Unix() >= s.Expires || json.Unmarshal(s.Value, v) != nil {
			return false, ErrInvalid
		}
		return i > 0, nil
	}
	return false, ErrInvalid
}
