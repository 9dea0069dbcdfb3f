package zendesksim

import "net/http"

// Show Self, GET /api/v2/users/me(.json), scope read or users:read (read
// alone with Options.ShowSelfNeedsRead):
// https://developer.zendesk.com/api-reference/ticketing/users/users/#show-self

// me answers a caller with a valid token: the signed-in user.
func (s *Simulator) me(w http.ResponseWriter, _ *http.Request, _ Caller) {
	WriteJSON(w, http.StatusOK, s.userBody())
}

// anonymousMe answers a request without a bearer token. Zendesk allows
// Show Self to anonymous callers: 200 with an anonymous user, so a 200
// alone proves nothing.
func (s *Simulator) anonymousMe(w http.ResponseWriter, _ *http.Request) {
	WriteJSON(w, http.StatusOK, map[string]any{
		"user":               map[string]any{"id": nil, "name": "Anonymous user", "email": "invalid@example.com", "role": "end-user"},
		"authenticity_token": randomToken(),
	})
}

// userBody is the Show Self body for Options.User.
func (s *Simulator) userBody() map[string]any {
	u := s.opts.User
	return map[string]any{
		"user": map[string]any{
			"id": u.ID, "name": u.Name, "email": u.Email, "role": u.Role,
			"role_type": nil, "locale": "en-US", "time_zone": "Copenhagen",
		},
		"authenticity_token": randomToken(),
	}
}
