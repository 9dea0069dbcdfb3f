package zendesksim

import (
	"net/http"
	"strconv"
)

// The Zendesk session: a cookie on the simulator's origin that says who
// is signed in to Zendesk on this browser. Single sign-on
// (Options.IdentityProvider) starts one; the consent page's Allow starts
// one or changes whose it is, so that the next authorization request of
// this browser is that user's, and a remembered grant goes straight back
// as them, as a real Zendesk session would. The cookie's name is not one
// an app on another port of the same host would use: cookies do not tell
// ports apart.

// sessionCookie is the Zendesk session cookie's name.
const sessionCookie = "_zendesk_session"

// session returns the request's Zendesk session id and its user (0 if it
// has none yet); ok is false if the request has no valid session.
func (s *Simulator) session(r *http.Request) (id string, userID int64, ok bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return "", 0, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	userID, ok = s.sessions[c.Value]
	return c.Value, userID, ok
}

// startSession makes userID (0: nobody yet) the user of the request's
// Zendesk session, starting a session and setting its cookie if the
// request has none.
func (s *Simulator) startSession(w http.ResponseWriter, r *http.Request, userID int64) {
	id, _, ok := s.session(r)
	if !ok {
		id = randomToken()
		setSessionCookie(w, r, id)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sessions[id] = userID
}

// setSessionCookie sets the Zendesk session cookie to id.
func setSessionCookie(w http.ResponseWriter, r *http.Request, id string) {
	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookie,
		Value:    id,
		Path:     "/",
		HttpOnly: true,
		Secure:   r.TLS != nil,
		// Lax: sent on the top-level navigation from the identity provider
		// and on the redirect to the authorization request after it.
		SameSite: http.SameSiteLaxMode,
	})
}

// sessionUser returns who is signed in on this browser: the user of the
// request's Zendesk session, or, if it has none, or that user is gone or
// suspended, the first user who is not suspended. ok is false if every
// user is suspended.
func (s *Simulator) sessionUser(r *http.Request) (User, bool) {
	if _, id, ok := s.session(r); ok {
		if u, found := s.store.user(id); found && !u.Suspended {
			return u, true
		}
	}
	return s.firstUser()
}

// firstUser returns the first of the account's users who is not
// suspended: who signs in unless told otherwise. ok is false if every
// user is suspended.
func (s *Simulator) firstUser() (User, bool) {
	for _, u := range s.store.allUsers() {
		if !u.Suspended {
			return u, true
		}
	}
	return User{}, false
}

// chosenUser returns the user the consent form's "user" field names (a
// user id), or the first user if the form has no such field, as when a
// client posts only decision=allow. ok is false if the field names no
// user who may sign in.
func (s *Simulator) chosenUser(r *http.Request) (User, bool) {
	if !r.PostForm.Has("user") {
		return s.firstUser()
	}
	id, err := strconv.ParseInt(r.PostForm.Get("user"), 10, 64)
	if err != nil {
		return User{}, false
	}
	u, ok := s.store.user(id)
	return u, ok && !u.Suspended
}

// signInChoices returns the users the consent page offers: every user who
// is not suspended.
func (s *Simulator) signInChoices() []User {
	var out []User
	for _, u := range s.store.allUsers() {
		if !u.Suspended {
			out = append(out, u)
		}
	}
	return out
}
