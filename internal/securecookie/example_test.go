package securecookie_test

import (
	"fmt"
	"net/http/httptest"
	"time"

	"zendesk-oauth-app/internal/securecookie"
)

func Example() {
	codec, err := securecookie.New([][]byte{[]byte("a secret of 32 bytes or more, from the settings")}, "my-client@acme")
	if err != nil {
		panic(err)
	}
	cookies := &securecookie.Cookies{Codec: codec, Secure: true}
	type session struct{ UserID int64 }

	// A response sets the cookie...
	rec := httptest.NewRecorder()
	cookies.Set(rec, httptest.NewRequest("GET", "/", nil), "session", session{UserID: 42}, time.Now().Add(time.Hour))
	fmt.Println(rec.Result().Cookies()[0].Name)

	// ...and the next request opens it.
	req := httptest.NewRequest("GET", "/", nil)
	req.AddCookie(rec.Result().Cookies()[0])
	var s session
	found, _, err := cookies.Get(req, "session", &s)
	fmt.Println(found, err, s.UserID)

	// A cookie someone changed opens as nothing.
	req.Header.Set("Cookie", "__Host-session=forged")
	found, _, err = cookies.Get(req, "session", &s)
	fmt.Println(found, err)
	// Output:
	// __Host-session
	// true <nil> 42
	// true securecookie: cookie is invalid or expired
}
