package dotenv_test

import (
	"fmt"
	"strings"

	"zendesk-oauth-app/internal/dotenv"
)

func ExampleParse() {
	env, err := dotenv.Parse(strings.NewReader(`
# Settings for a real Zendesk
ZENDESK_SUBDOMAIN=acme          # acme.zendesk.com
export ZENDESK_SCOPES="users:read tickets:read"
SESSION_SECRET= # generate one with openssl rand -base64 32
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%q %q %q\n", env["ZENDESK_SUBDOMAIN"], env["ZENDESK_SCOPES"], env["SESSION_SECRET"])
	// Output: "acme" "users:read tickets:read" ""
}
