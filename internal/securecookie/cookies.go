package securecookie

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Browsers keep at most 4,096 bytes of name=value per cookie
// (RFC 6265bis §5.6), and Zendesk's tokens are JWTs of a kilobyte or
// more: a sealed value is split over up to MaxParts cookies of PartBytes,
// named name, name.1 and name.2.
const (
	PartBytes = 4000
	MaxParts  = 3
)

// Cookies reads and writes sealed cookies with the attributes security
// asks for: HttpOnly (no script reads them), SameSite=Lax (sent on a
// top-level redirect from another site, such as the way back from a
// sign-in, not on cross-site sub-requests), Path=/, and with Secure the
// __Host- prefix (RFC 6265bis §4.1.3.2).
type Cookies struct {
	Codec  *Codec
	Secure bool             // the app is served over https
	Now    func() time.Time // nil means time.Now
}

func (c *Cookies) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Name is the name the cookie base goes by: with the __Host- prefix when
// Secure.
func (c *Cookies) Name(base string) string {
	if c.Secure {
		return "__Host-" + base
	}
	return base
}

// partName is the name of the i-th cookie that holds part of a value.
func (c *Cookies) partName(base string, i int) string {
	if i == 0 {
		return c.Name(base)
	}
	return c.Name(base) + "." + strconv.Itoa(i)
}

// Set seals v into the cookie base until expires, split over as many
// cookies as it needs; ErrTooLarge beyond MaxParts. It replaces what this
// response already set under that name, and deletes the parts the browser
// has beyond the new ones, so the parts always belong together.
func (c *Cookies) Set(w http.ResponseWriter, r *http.Request, base string, v any, expires time.Time) error {
	value, err := c.Codec.Encode(c.Name(base), v, expires)
	if err != nil {
		return err
	}
	if len(value) > MaxParts*PartBytes {
		return ErrTooLarge
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
		part := value[:min(len(value), PartBytes)]
		value = value[len(part):]
		c.write(w, c.partName(base, i), part, maxAge)
	}
	c.deleteFrom(w, r, base, i)
	return nil
}

// Get opens the cookie base into v. A missing cookie gives found=false; a
// forged, truncated, expired or foreign one ErrInvalid (treat it as absent
// and Clear it). stale means an older secret sealed it: Set it again.
func (c *Cookies) Get(r *http.Request, base string, v any) (found, stale bool, err error) {
	first, err := r.Cookie(c.Name(base))
	if err != nil {
		return false, false, nil
	}
	// Only a full part can have another after it.
	value, part := first.Value, first.Value
	for i := 1; i < MaxParts && len(part) == PartBytes; i++ {
		next, err := r.Cookie(c.partName(base, i))
		if err != nil {
			break
		}
		part = next.Value
		value += part
	}
	stale, err = c.Codec.Decode(c.Name(base), value, c.now(), v)
	return true, stale, err
}

// Clear deletes the cookie base and its parts.
func (c *Cookies) Clear(w http.ResponseWriter, r *http.Request, base string) {
	c.unset(w, base)
	c.write(w, c.Name(base), "", -1)
	c.deleteFrom(w, r, base, 1)
}

// deleteFrom deletes the parts from the i-th on that the browser sent.
func (c *Cookies) deleteFrom(w http.ResponseWriter, r *http.Request, base string, i int) {
	for ; i < MaxParts; i++ {
		if _, err := r.Cookie(c.partName(base, i)); err == nil {
			c.write(w, c.partName(base, i), "", -1)
		}
	}
}

// unset removes the Set-Cookie headers this response already has for the
// cookie base and its parts: the last write wins.
func (c *Cookies) unset(w http.ResponseWriter, base string) {
	prefix := c.Name(base)
	w.Header()["Set-Cookie"] = slices.DeleteFunc(w.Header()["Set-Cookie"], func(h string) bool {
		name, _, _ := strings.Cut(h, "=")
		return name == prefix || strings.HasPrefix(name, prefix+".")
	})
}

// write sets one cookie; a negative maxAge deletes it.
func (c *Cookies) write(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   c.Secure,
		SameSite: http.SameSiteLaxMode,
	})
}
