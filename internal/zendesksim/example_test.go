package zendesksim_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"zendesk-oauth-app/internal/zendesksim"
)

// A team adds Update User to change a user's time zone, with its pattern
// as Zendesk's reference writes it. The handler is short: the Caller's
// store applies Zendesk's rules, and WriteError answers as Zendesk would.
// Show Self then shows the new time zone; a time zone Zendesk does not
// know is 422, and an end user may not use Update User, not even on
// themselves.
// https://developer.zendesk.com/api-reference/ticketing/users/users/#update-user
func Example() {
	updateUser := zendesksim.API{
		Pattern:  "PUT /api/v2/users/{id}.json",
		Resource: "users",
		Handler: func(w http.ResponseWriter, r *http.Request, c zendesksim.Caller) {
			id, err := zendesksim.PathID(r, "id")
			if err != nil {
				zendesksim.WriteError(w, err)
				return
			}
			var in struct {
				User struct {
					TimeZone string `json:"time_zone"`
				} `json:"user"`
			}
			if err := zendesksim.ReadJSON(w, r, &in); err != nil {
				zendesksim.WriteError(w, err)
				return
			}
			u, err := c.UpdateUser(id, func(u *zendesksim.User) error {
				u.TimeZone = in.User.TimeZone
				return nil
			})
			if err != nil {
				zendesksim.WriteError(w, err)
				return
			}
			zendesksim.WriteJSON(w, http.StatusOK, map[string]any{"user": u})
		},
	}
	zendesk := zendesksim.NewServer(zendesksim.Options{API: []zendesksim.API{updateUser}})
	defer zendesk.Close()
	john, _ := zendesk.CreateToken(1, "users:read users:write") // John Doe, an admin
	jane, _ := zendesk.CreateToken(2, "users:read users:write") // Jane Roe, an end user

	call := func(token, method, path, body string) (int, []byte) {
		req, _ := http.NewRequest(method, zendesk.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	showSelf := func(token string) {
		_, b := call(token, "GET", "/api/v2/users/me.json", "")
		var me struct {
			User struct {
				Name         string `json:"name"`
				TimeZone     string `json:"time_zone"`
				IANATimeZone string `json:"iana_time_zone"`
			} `json:"user"`
		}
		json.Unmarshal(b, &me)
		fmt.Printf("Show Self: %s, %s (%s)\n", me.User.Name, me.User.TimeZone, me.User.IANATimeZone)
	}

	showSelf(john)
	status, _ := call(john, "PUT", "/api/v2/users/1.json", `{"user":{"time_zone":"Eastern Time (US & Canada)"}}`)
	fmt.Println("John sets Eastern Time:", status)
	showSelf(john)
	status, b := call(john, "PUT", "/api/v2/users/1.json", `{"user":{"time_zone":"America/New_York"}}`)
	fmt.Println("John sets America/New_York:", status, string(b))
	status, b = call(jane, "PUT", "/api/v2/users/1.json", `{"user":{"time_zone":"Amsterdam"}}`)
	fmt.Println("Jane sets John's:", status, string(b))
	status, _ = call(jane, "PUT", "/api/v2/users/2", `{"user":{"time_zone":"Amsterdam"}}`)
	fmt.Println("Jane sets her own:", status)
	showSelf(jane)

	// Output:
	// Show Self: John Doe, Copenhagen (Europe/Copenhagen)
	// John sets Eastern Time: 200
	// Show Self: John Doe, Eastern Time (US & Canada) (America/New_York)
	// John sets America/New_York: 422 {"error":"RecordInvalid","description":"Record validation errors","details":{"time_zone":[{"description":"Time zone: is not included in the list","error":"InvalidValue"}]}}
	// Jane sets John's: 403 {"error":"Forbidden","description":"You do not have access to this page. Please contact the account owner of this help desk for further help."}
	// Jane sets her own: 403
	// Show Self: Jane Roe, Copenhagen (Europe/Copenhagen)
}
