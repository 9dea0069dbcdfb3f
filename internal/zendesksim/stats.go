package zendesksim

// Endpoint names what Stats counts and what Inject can make misbehave. An
// endpoint listed in Options.API is named by its pattern:
// Endpoint("GET /api/v2/users/{id}/tickets/requested.json").
type Endpoint string

// The built-in endpoints.
const (
	Authorize Endpoint = "authorize" // every GET /oauth/authorizations/new, whatever it answered
	Consent   Endpoint = "consent"   // consent pages shown: a count only, it takes no faults
	Exchange  Endpoint = "exchange"  // POST /oauth/tokens with grant_type=authorization_code
	Refresh   Endpoint = "refresh"   // POST /oauth/tokens with grant_type=refresh_token
	Me        Endpoint = "me"        // GET /api/v2/users/me(.json)
	Revoke    Endpoint = "revoke"    // DELETE /api/v2/oauth/tokens/current(.json)
)

// Stats counts the requests that reached each endpoint, faulted or not,
// successful or not. A missing key counts zero.
type Stats map[Endpoint]int

// count adds one to endpoint e's counter.
func (s *Simulator) count(e Endpoint) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats[e]++
}
