// Package oauthstate keeps the OAuth sign-ins a browser has in progress:
// what the callback must check and send (the PKCE verifier, and whatever
// else the app wants back), under the sign-in's state.
//
// Each sign-in has a sealed cookie of its own, named by its state, so that
// one started in another tab, or by a link from another site, cancels
// none; a browser holds a few at most, the oldest dropped. The state binds
// the callback to the browser that started the sign-in (RFC 9700 §4.7),
// and a state is used once (RFC 9700 §4.7.1): the Store remembers the
// states used until their sign-ins would have expired, so that a copy of
// a cookie cannot be used again. That memory is the process's: several
// replicas must send each callback to one of them.
package oauthstate

import (
	"crypto/rand"
	"net/http"
	"strings"
	"time"

	"zendesk-oauth-app/internal/recent"
	"zendesk-oauth-app/internal/securecookie"
)

// maxUsed bounds the memory of used states: at 100 sign-ins a second, ten
// minutes' worth.
const maxUsed = 60_000

// Store keeps the sign-ins in progress, each a T.
type Store[T any] struct {
	cookies  *securecookie.Cookies
	name     string // a cookie's name is name followed by its state
	lifetime time.Duration
	pending  int // how many a browser holds at most
	used     *recent.Map[string, struct{}]
}

// New returns a Store whose sign-ins live in cookies named name followed
// by the state, for lifetime, at most pending of them per browser.
func New[T any](cookies *securecookie.Cookies, name string, lifetime time.Duration, pending int) *Store[T] {
	return &Store[T]{cookies: cookies, name: name, lifetime: lifetime, pending: pending, used: recent.New[string, struct{}](lifetime, maxUsed)}
}

// Start keeps v for a new sign-in and returns its state: 128 random bits
// (crypto/rand.Text), to send with the authorization request. The oldest
// sign-ins beyond pending are dropped.
func (s *Store[T]) Start(w http.ResponseWriter, r *http.Request, v T) (state string, err error) {
	if states := s.states(r); len(states) >= s.pending {
		for _, old := range states[:len(states)-s.pending+1] {
			s.cookies.Clear(w, r, s.name+old)
		}
	}
	state = rand.Text()
	return state, s.cookies.Set(w, r, s.name+state, v, s.now().Add(s.lifetime))
}

// Take returns the sign-in this browser started with state, and ends its
// cookie; ok is false if there is none (another browser's state, a forged
// one, an expired or tampered cookie). The cookie is sealed under its
// name, so it opens only for the state it was made for.
func (s *Store[T]) Take(w http.ResponseWriter, r *http.Request, state string) (v T, ok bool) {
	if !valid(state) {
		return v, false
	}
	found, _, err := s.cookies.Get(r, s.name+state, &v)
	if found {
		s.cookies.Clear(w, r, s.name+state)
	}
	return v, found && err == nil
}

// Use marks state as used, and reports whether it was not before.
func (s *Store[T]) Use(state string) bool {
	return s.used.Add(state, struct{}{}, s.now())
}

// Pending reports whether this browser has a sign-in in progress.
func (s *Store[T]) Pending(r *http.Request) bool {
	for _, state := range s.states(r) {
		var v T
		if found, _, err := s.cookies.Get(r, s.name+state, &v); found && err == nil {
			return true
		}
	}
	return false
}

// states are the states of this browser's sign-in cookies, oldest first:
// browsers send older cookies first (RFC 6265 §5.4).
func (s *Store[T]) states(r *http.Request) []string {
	var states []string
	for _, c := range r.Cookies() {
		if state, ok := strings.CutPrefix(c.Name, s.cookies.Name(s.name)); ok && valid(state) {
			states = append(states, state)
		}
	}
	return states
}

func (s *Store[T]) now() time.Time {
	if s.cookies.Now != nil {
		return s.cookies.Now()
	}
	return time.Now()
}

// valid reports whether state is one Start makes (26 characters of
// base32), and so may name a cookie.
func valid(state string) bool {
	return len(state) == 26 && strings.Trim(state, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") == ""
}
