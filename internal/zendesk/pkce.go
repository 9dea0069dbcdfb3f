package zendesk

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
)

// GenerateVerifier returns a new PKCE code verifier: 256 random bits,
// base64url-encoded (43 characters), as RFC 7636 §4.1 asks (43 to 128
// unreserved characters).
func GenerateVerifier() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// S256Challenge is the S256 code challenge of a verifier:
// BASE64URL(SHA256(verifier)) without padding (RFC 7636 §4.2).
func S256Challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
