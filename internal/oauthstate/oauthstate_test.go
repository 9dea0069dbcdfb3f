package oauthstate

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"zendesk-oauth-app/internal/securecookie"
)

type signIn struct{ Verifier string }

func newStore(t *testing.T, now *time.Time) *Store[signIn] {
	codec, err := securecookie.New([][]byte{[]byte("test-session-secret-0123456789abcdef")}, "client@acme")
	if err != nil {
		t.Fatal(err)
	}
	return New[signIn](&securecookie.Cookies{Codec: codec, Now: func() time.Time { return *now }}, "oauth_flow_", 10*time.Minute, 3)
}

// browser is the cookies a browser holds after the responses recs.
func browser(recs ...*httptest.ResponseRecorder) *http.Request {
	jar := map[string]*http.Cookie{}
	var order []string
	for _, rec := range recs {
		for _, c := range rec.Result().Cookies() {
			if _, seen := jar[c.Name]; !seen {
				order = append(order, c.Name)
			}
			jar[c.Name] = c
		}
	}
	r := httptest.NewRequest("GET", "/", nil)
	for _, name := range order {
		if c := jar[name]; c.MaxAge >= 0 {
			r.AddCookie(c)
		}
	}
	return r
}

func TestStartAndTake(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	s := newStore(t, &now)
	first, second := httptest.NewRecorder(), httptest.NewRecorder()
	a, _ := s.Start(first, httptest.NewRequest("GET", "/", nil), signIn{"va"})
	b, _ := s.Start(second, browser(first), signIn{"vb"})
	r := browser(first, second)

	if _, ok := s.Take(httptest.NewRecorder(), r, strings.Repeat("A", 26)); ok {
		t.Error("a state this browser did not start opened")
	}
	if !s.Pending(r) {
		t.Error("no sign-in pending")
	}
	rec := httptest.NewRecorder()
	if v, ok := s.Take(rec, r, a); !ok || v.Verifier != "va" {
		t.Errorf("the first sign-in: %+v, %v", v, ok)
	}
	if c := rec.Result().Cookies(); len(c) != 1 || c[0].MaxAge >= 0 || !strings.HasSuffix(c[0].Name, a) {
		t.Errorf("taking a sign-in must end its cookie: %v", c)
	}
	if v, ok := s.Take(httptest.NewRecorder(), r, b); !ok || v.Verifier != "vb" {
		t.Errorf("the second sign-in, started after the first: %+v, %v", v, ok)
	}
	if !s.Use(a) || s.Use(a) {
		t.Error("a state is used once")
	}
	now = now.Add(21 * time.Minute)
	if _, ok := s.Take(httptest.NewRecorder(), r, b); ok {
		t.Error("an expired sign-in opened")
	}
	if !s.Use(a) {
		t.Error("a used state outlived twice its sign-in's lifetime")
	}
}

// A browser holds three sign-ins at most: the oldest go.
func TestPendingAreBounded(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	s := newStore(t, &now)
	var recs []*httptest.ResponseRecorder
	var states []string
	for i := range 5 {
		rec := httptest.NewRecorder()
		state, err := s.Start(rec, browser(recs...), signIn{string(rune('a' + i))})
		if err != nil {
			t.Fatal(err)
		}
		recs, states = append(recs, rec), append(states, state)
	}
	r := browser(recs...)
	if n := len(r.Cookies()); n != 3 {
		t.Errorf("%d sign-ins kept, want 3", n)
	}
	for i, state := range states {
		if _, ok := s.Take(httptest.NewRecorder(), r, state); ok != (i >= 2) {
			t.Errorf("sign-in %d opens: %v", i, ok)
		}
	}
}
