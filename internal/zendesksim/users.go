package zendesksim

import (
	"encoding/json"
	"fmt"
	"maps"
)

// User is a user of the simulated account. Its JSON is the user object of
// Zendesk's Users API, as Show Self answers it:
// https://developer.zendesk.com/api-reference/ticketing/users/users/#json-format
type User struct {
	ID    int64
	Name  string
	Email string
	// Role is "end-user", "agent" or "admin".
	Role string
	// TimeZone is the user's time zone as Zendesk names it, e.g.
	// "Eastern Time (US & Canada)" (see TimeZones); "" means "Copenhagen".
	TimeZone string
	// Suspended users cannot sign in, and their tokens do not work.
	Suspended bool
	// Fields are more properties of the user's JSON object, whatever a
	// team's pages read: "locale", "user_fields", "photo", ... The
	// properties above win over a field of the same name.
	Fields map[string]any
}

// The roles Zendesk users have:
// https://developer.zendesk.com/api-reference/ticketing/users/users/#json-format
const (
	roleEndUser = "end-user"
	roleAgent   = "agent"
	roleAdmin   = "admin"
)

// defaultTimeZone is the time zone of a user whose TimeZone is "": what
// Show Self always answered before users had one.
const defaultTimeZone = "Copenhagen"

// DefaultUsers returns the users of an account whose Options.Users is nil:
// John Doe, an admin, who signs in by default, and Jane Roe, an end user.
func DefaultUsers() []User {
	return []User{
		{ID: 1, Name: "John Doe", Email: "john@example.com", Role: roleAdmin},
		{ID: 2, Name: "Jane Roe", Email: "jane@example.com", Role: roleEndUser},
	}
}

// MarshalJSON writes u as Zendesk's user object: u.Fields, then id, name,
// email, role, time_zone, iana_time_zone, suspended and active over them,
// and locale "en-US" and role_type null unless u.Fields has them.
func (u User) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, len(u.Fields)+10)
	m["locale"] = "en-US"
	m["role_type"] = nil
	maps.Copy(m, u.Fields)
	tz := u.timeZone()
	iana, _ := ianaName(tz)
	m["id"], m["name"], m["email"], m["role"] = u.ID, u.Name, u.Email, u.Role
	m["time_zone"], m["iana_time_zone"] = tz, iana
	m["suspended"], m["active"] = u.Suspended, true
	return json.Marshal(m)
}

// timeZone is the user's time zone, "Copenhagen" if none is set.
func (u User) timeZone() string {
	if u.TimeZone == "" {
		return defaultTimeZone
	}
	return u.TimeZone
}

// clone returns a copy of u that shares nothing with it.
func (u User) clone() User {
	if u.Fields != nil {
		u.Fields = deepCopy(u.Fields).(map[string]any)
	}
	return u
}

// deepCopy copies the maps and slices of a JSON-like value; other values
// are returned as they are.
func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = deepCopy(e)
		}
		return out
	}
	return v
}

// checkUser returns what is wrong with u, as Update User would refuse it:
// an unknown role or time zone is a 422 RecordInvalid. Zendesk's
// messages for these are not documented; the simulator's are guesses in
// Zendesk's "Field: problem" style.
func checkUser(u User) error {
	switch u.Role {
	case roleEndUser, roleAgent, roleAdmin:
	default:
		return Invalid("role", "Role: is not included in the list", "InvalidValue")
	}
	if _, ok := ianaName(u.timeZone()); !ok {
		return Invalid("time_zone", "Time zone: is not included in the list", "InvalidValue")
	}
	return nil
}

// checkUsers panics unless users is a valid list for Options.Users: at
// least one user, ids positive and unique, every role and time zone known.
func checkUsers(users []User) {
	if len(users) == 0 {
		panic("zendesksim: Options.Users is empty: an account needs a user")
	}
	seen := map[int64]bool{}
	for _, u := range users {
		if u.ID <= 0 || seen[u.ID] {
			panic(fmt.Sprintf("zendesksim: Options.Users: user id %d is not positive or not unique", u.ID))
		}
		seen[u.ID] = true
		if err := checkUser(u); err != nil {
			panic(fmt.Sprintf("zendesksim: Options.Users: user %d: role %q or time zone %q is not Zendesk's", u.ID, u.Role, u.TimeZone))
		}
	}
}
