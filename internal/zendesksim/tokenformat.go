package zendesksim

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"time"
)

// Once expiry is enforced, Zendesk's access tokens are JWTs (RFC 9068,
// typ at+jwt, RS256) of hundreds to over a thousand bytes, and refresh
// tokens are not documented at all:
// https://github.com/NangoHQ/nango/issues/6775
// The simulator makes access tokens of that shape and refresh tokens as
// long as them, so that an app which keeps tokens in a cookie or a header
// meets their real size. Nothing verifies the signature: tokens are only
// compared as whole strings, and an app must treat them as opaque.

const (
	defaultTokenBytes = 1024
	// rs256SignatureBytes is the size of an RS256 signature with a
	// 2,048-bit RSA key (RFC 7518 §3.3).
	rs256SignatureBytes = 256
)

// keyIDs name the simulated signing key. Base64url never encodes to a
// length of 4n+1, so when the payload segment would need such a length the
// header takes the key's second, one character longer name, and the token
// still comes out exactly as long as asked.
var keyIDs = [...]string{"zendesksim-key-1", "zendesksim-key-01"}

// accessClaims are an access token's JWT claims (RFC 9068 §2.2). Pad
// brings the token to its size: Zendesk's tokens carry claims it does not
// document.
type accessClaims struct {
	Issuer   string `json:"iss"`
	Subject  string `json:"sub"` // the user id
	Audience string `json:"aud"`
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"`
	IssuedAt int64  `json:"iat"`
	Expires  int64  `json:"exp"`
	ID       string `json:"jti"`
	Pad      string `json:"pad"`
}

// newAccessToken returns a JWT for user, client and scope, valid from now
// until expires, issued by the account at origin, size bytes long (or as
// short as its claims allow).
func newAccessToken(origin string, userID int64, clientID, scope string, now, expires time.Time, size int) string {
	c := accessClaims{
		Issuer: origin, Subject: strconv.FormatInt(userID, 10), Audience: origin,
		ClientID: clientID, Scope: scope, IssuedAt: now.Unix(), Expires: expires.Unix(), ID: b64(randomBytes(16)),
	}
	unpadded, _ := json.Marshal(c) // strings and integers: cannot fail
	signature := b64(randomBytes(rs256SignatureBytes))
	for _, kid := range keyIDs {
		header := b64([]byte(`{"alg":"RS256","typ":"at+jwt","kid":"` + kid + `"}`))
		n, ok := bytesEncodingTo(size - len(header) - len(signature) - 2) // two dots
		if !ok || n < len(unpadded) {
			continue
		}
		c.Pad = randomString(n - len(unpadded))
		payload, _ := json.Marshal(c)
		return header + "." + b64(payload) + "." + signature
	}
	header := b64([]byte(`{"alg":"RS256","typ":"at+jwt","kid":"` + keyIDs[0] + `"}`))
	return header + "." + b64(unpadded) + "." + signature // size too small for the claims
}

// newRefreshToken returns an opaque random token of size bytes.
func newRefreshToken(size int) string {
	return randomString(size)
}

// bytesEncodingTo returns how many bytes encode to exactly chars characters
// of unpadded base64url; ok is false for lengths no input encodes to.
func bytesEncodingTo(chars int) (n int, ok bool) {
	if chars < 0 {
		return 0, false
	}
	switch chars % 4 {
	case 0:
		return chars / 4 * 3, true
	case 2:
		return chars/4*3 + 1, true
	case 3:
		return chars/4*3 + 2, true
	}
	return 0, false
}

// randomString returns n random base64url characters.
func randomString(n int) string {
	return b64(randomBytes((n*3 + 3) / 4))[:n]
}

// randomToken returns 32 random bytes, base64url-encoded without padding
// (43 characters): codes, session cookies, sign-in tickets.
func randomToken() string {
	return b64(randomBytes(32))
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b) // never fails (Go 1.24+ crashes the program instead)
	return b
}

func b64(b []byte) string {
	return base64.RawURLEncoding.EncodeToString(b)
}
