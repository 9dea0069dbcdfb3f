package zendesksim

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// listTimeZones is List Time Zones as a team lists it: public, no scope.
// https://developer.zendesk.com/api-reference/ticketing/account-configuration/time_zones/
var listTimeZones = API{Pattern: "GET /api/v2/time_zones.json", Public: true, Handler: func(w http.ResponseWriter, _ *http.Request, c Caller) {
	w.Header().Set("X-Signed-In", map[bool]string{true: "yes", false: "no"}[c.SignedIn()])
	WriteJSON(w, http.StatusOK, map[string]any{"time_zones": TimeZones()})
}}

func TestPublicEndpoints(t *testing.T) {
	// A public endpoint with a scope resource: the scope counts only when
	// a token is sent.
	var seen Caller
	showGroup := API{Pattern: "GET /api/v2/groups/{id}.json", Resource: "groups", Public: true, Handler: func(w http.ResponseWriter, _ *http.Request, c Caller) {
		seen = c
		_, err := c.ListTickets()
		WriteJSON(w, http.StatusOK, map[string]any{"signed_in": c.SignedIn(), "store": status(err)})
	}}
	for _, answer := range []BadTokenAnswer{InvalidTokenAnswer, CouldNotAuthenticateAnswer} {
		clock := newClock()
		e := newEnv(t, Options{Now: clock.Now, BadTokenAnswer: answer, API: []API{listTimeZones, showGroup}})
		expired := "Bearer " + str(e.loginWith("read")["access_token"])
		clock.Advance(31 * time.Minute)
		groups := "Bearer " + str(e.loginWith("groups:read")["access_token"])
		usersOnly := "Bearer " + str(e.loginWith("users:read")["access_token"])
		badToken := map[BadTokenAnswer]string{
			InvalidTokenAnswer:         `{"error":"invalid_token","error_description":"The access token provided is expired, revoked, malformed or invalid for other reasons."}`,
			CouldNotAuthenticateAnswer: `{"error":"Couldn't authenticate you"}`,
		}[answer]

		for _, c := range []struct {
			name, auth string
			status     int
			signedIn   string
		}{
			{"no credentials", "", 200, "no"},
			{"basic auth", "Basic dXNlcjpwYXNz", 200, "no"},
			{"a token of any scope", usersOnly, 200, "yes"},
			{"an unknown token", "Bearer nope", 401, ""},
			{"an expired token", expired, 401, ""},
		} {
			resp, b := e.do("GET", "/api/v2/time_zones.json", nil, "Authorization", c.auth)
			if resp.StatusCode != c.status || resp.Header.Get("X-Signed-In") != c.signedIn {
				t.Errorf("%d: time zones with %s: %d signed in %q %.100s", answer, c.name, resp.StatusCode, resp.Header.Get("X-Signed-In"), b)
			}
			if c.status == 401 && string(b) != badToken {
				t.Errorf("%d: time zones with %s: %s, want %s", answer, c.name, b, badToken)
			}
			if c.status == 200 {
				var got struct {
					TimeZones []TimeZone `json:"time_zones"`
				}
				if json.Unmarshal(b, &got) != nil || len(got.TimeZones) != len(TimeZones()) || got.TimeZones[0] != TimeZones()[0] {
					t.Errorf("%d: time zones with %s: %.200s", answer, c.name, b)
				}
			}
		}
		for _, c := range []struct {
			name, auth string
			status     int
			body       string
		}{
			{"no credentials", "", 200, `{"signed_in":false,"store":401}`},
			{"groups:read", groups, 200, `{"signed_in":true,"store":200}`},
			{"users:read", usersOnly, 403, missingScopeBody("groups:read")},
			{"an expired token", expired, 401, badToken},
		} {
			seen = Caller{}
			resp, b := e.do("GET", "/api/v2/groups/5", nil, "Authorization", c.auth)
			if resp.StatusCode != c.status || string(b) != c.body {
				t.Errorf("%d: group with %s: %d %s, want %d %s", answer, c.name, resp.StatusCode, b, c.status, c.body)
			}
			if c.status == 200 && (seen.SignedIn() != (c.auth != "") || (c.auth != "" && seen.User.Name != "John Doe")) {
				t.Errorf("%d: group with %s: the handler saw %+v", answer, c.name, seen.User)
			}
		}
		if st := e.sim.Stats(); st[Endpoint(listTimeZones.Pattern)] != 5 || st[Endpoint(showGroup.Pattern)] != 4 {
			t.Errorf("%d: Stats() = %v", answer, st)
		}
		e.sim.Inject(Endpoint(listTimeZones.Pattern), ServerError, 1)
		if resp, _ := e.do("GET", "/api/v2/time_zones.json", nil); resp.StatusCode != 500 {
			t.Errorf("%d: faulted time zones: %d, want 500", answer, resp.StatusCode)
		}
	}
}
