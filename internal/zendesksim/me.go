package zendesksim

import "net/http"

// Show Self, GET /api/v2/users/me(.json), scope read or users:read (read
// alone with Options.ShowSelfNeedsRead):
// https://developer.zendesk.com/api-reference/ticketing/users/users/#show-self

// me answers a caller with a valid token with the token's user, as the
// store has them now, so that a change made through another endpoint
// shows. Show Self is public: Zendesk answers a request without a bearer
// token with 200 and an anonymous user, so a 200 alone proves nothing.
func (s *Simulator) me(w http.ResponseWriter, _ *http.Request, c Caller) {
	if c.SignedIn() {
		WriteJSON(w, http.StatusOK, userBody(c.User))
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{
		"user":               map[string]any{"id": nil, "name": "Anonymous user", "email": "invalid@example.com", "role": "end-user"},
		"authenticity_token": randomToken(),
	})
}

// userBody is the Show Self body for u.
func userBody(u User) map[string]any {
	return map[string]any{"user": u, "authenticity_token": randomToken()}
}
