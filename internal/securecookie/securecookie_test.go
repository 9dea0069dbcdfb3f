package securecookie

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const testSecret = "test-session-secret-0123456789abcdef"

// value is what the tests seal: a session's shape.
type value struct {
	Subdomain     string
	UserID        int64
	Access, Other string
}

func newCookies(t testing.TB, secrets ...string) *Cookies {
	t.Helper()
	var keys [][]byte
	for _, s := range secrets {
		keys = append(keys, []byte(s))
	}
	codec, err := New(keys, "client@acme")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	return &Cookies{Codec: codec, Now: func() time.Time { return now }}
}

// A value too large for one cookie is split over several, each within
// what a browser keeps; a smaller value later deletes the parts it no
// longer needs; a second write in the same response replaces the first.
func TestLargeValuesSpanCookies(t *testing.T) {
	c := newCookies(t, testSecret)
	expires := c.Now().Add(time.Hour)
	big := value{Subdomain: "acme", Access: strings.Repeat("a", 4096), Other: strings.Repeat("r", 4096)}

	rec := httptest.NewRecorder()
	if err := c.Set(rec, httptest.NewRequest("GET", "/", nil), "session", &big, expires); err != nil {
		t.Fatal(err)
	}
	written := rec.Result().Cookies()
	if len(written) != 3 {
		t.Fatalf("%d cookies for two 4 KB values, want 3", len(written))
	}
	req := httptest.NewRequest("GET", "/", nil)
	for i, ck := range written {
		if n := len(ck.Name) + 1 + len(ck.Value); n > 4096 {
			t.Errorf("cookie %s: %d bytes of name=value, more than a browser keeps", ck.Name, n)
		}
		if want := c.partName("session", i); ck.Name != want {
			t.Errorf("cookie %d is %s, want %s", i, ck.Name, want)
		}
		req.AddCookie(ck)
	}
	var got value
	if found, _, err := c.Get(req, "session", &got); !found || err != nil || got != big {
		t.Fatalf("reading the parts back: found %v, err %v", found, err)
	}

	// A value in one part opens, whatever later part the browser may
	// still send: only a full part has another after it.
	small := httptest.NewRecorder()
	c.Set(small, httptest.NewRequest("GET", "/", nil), "session", &value{Subdomain: "acme"}, expires)
	one := httptest.NewRequest("GET", "/", nil)
	one.AddCookie(small.Result().Cookies()[0])
	one.AddCookie(&http.Cookie{Name: "session.1", Value: written[1].Value})
	if found, _, err := c.Get(one, "session", &got); !found || err != nil || got.Subdomain != "acme" {
		t.Errorf("one part beside a stray second: found %v, err %v", found, err)
	}

	// A small value deletes the parts the browser has beyond it, and
	// replaces what this response already set.
	rec = httptest.NewRecorder()
	c.Set(rec, req, "session", &big, expires)
	if err := c.Set(rec, req, "session", &value{Subdomain: "acme"}, expires); err != nil {
		t.Fatal(err)
	}
	var kept, deleted []string
	for _, ck := range rec.Result().Cookies() {
		if ck.MaxAge < 0 {
			deleted = append(deleted, ck.Name)
		} else {
			kept = append(kept, ck.Name)
		}
	}
	if strings.Join(kept, " ") != "session" || strings.Join(deleted, " ") != "session.1 session.2" {
		t.Errorf("kept %q and deleted %q, want session kept and its parts deleted", kept, deleted)
	}

	// Too large for the cookies a browser keeps: refused.
	huge := value{Access: strings.Repeat("a", 8000), Other: strings.Repeat("r", 8000)}
	if err := c.Set(httptest.NewRecorder(), req, "session", &huge, expires); err != ErrTooLarge {
		t.Errorf("a 16 KB value: %v, want ErrTooLarge", err)
	}
}

// The attributes security asks for, and the __Host- prefix under https.
func TestAttributes(t *testing.T) {
	for _, secure := range []bool{false, true} {
		c := newCookies(t, testSecret)
		c.Secure = secure
		rec := httptest.NewRecorder()
		if err := c.Set(rec, httptest.NewRequest("GET", "/", nil), "session", &value{}, c.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		ck := rec.Result().Cookies()[0]
		if want := map[bool]string{false: "session", true: "__Host-session"}[secure]; ck.Name != want || ck.Path != "/" ||
			!ck.HttpOnly || ck.Secure != secure || ck.SameSite != http.SameSiteLaxMode || ck.MaxAge != 3600 {
			t.Errorf("secure %v: %+v", secure, ck)
		}
	}
}

// The first secret seals, every secret opens; a value sealed with an
// older one is stale. Another binding, another name, an expired or a
// tampered value does not open.
func TestDecode(t *testing.T) {
	old, rotated := newCookies(t, testSecret).Codec, newCookies(t, "a-new-secret-of-32-bytes-or-more!!", testSecret).Codec
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	sealedOld, _ := old.Encode("session", &value{UserID: 7}, now.Add(time.Hour))
	var v value
	if stale, err := rotated.Decode("session", sealedOld, now, &v); err != nil || !stale || v.UserID != 7 {
		t.Errorf("sealed with the older secret: stale %v, err %v, %+v", stale, err, v)
	}
	sealedNew, _ := rotated.Encode("session", &value{UserID: 8}, now.Add(time.Hour))
	if stale, err := rotated.Decode("session", sealedNew, now, &v); err != nil || stale {
		t.Errorf("sealed with the first secret: stale %v, err %v", stale, err)
	}
	if _, err := old.Decode("session", sealedNew, now, &v); err != ErrInvalid {
		t.Errorf("opened without the secret that sealed it: %v", err)
	}
	foreign, _ := New([][]byte{[]byte(testSecret)}, "client@beta")
	for name, tc := range map[string]struct {
		codec       *Codec
		name, value string
		now         time.Time
	}{
		"another binding": {foreign, "session", sealedOld, now},
		"another name":    {old, "oauth_flow", sealedOld, now},
		"expired":         {old, "session", sealedOld, now.Add(time.Hour)},
		"tampered":        {old, "session", sealedOld[:10] + "A" + sealedOld[11:], now},
		"truncated":       {old, "session", sealedOld[:len(sealedOld)-1], now},
	} {
		if _, err := tc.codec.Decode(tc.name, tc.value, tc.now, &v); err != ErrInvalid {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
}

// A value sealed before a field existed opens, with the field zero; a
// value of another shape does not open.
func TestNewFieldsOpen(t *testing.T) {
	c := newCookies(t, testSecret).Codec
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	older, _ := c.Encode("session", &struct{ Subdomain string }{"acme"}, now.Add(time.Hour))
	var v value
	if _, err := c.Decode("session", older, now, &v); err != nil || v != (value{Subdomain: "acme"}) {
		t.Errorf("an older value read back as %+v (%v)", v, err)
	}
	for _, other := range []any{"a string", map[string]any{"UserID": "not a number"}} {
		sealed, _ := c.Encode("session", other, now.Add(time.Hour))
		if _, err := c.Decode("session", sealed, now, &v); err != ErrInvalid {
			t.Errorf("%v opened as a value: %v", other, err)
		}
	}
}
