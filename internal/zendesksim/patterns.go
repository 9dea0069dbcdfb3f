package zendesksim

import (
	"context"
	"net/http"
	"net/url"
	"strings"
)

// API paths as Zendesk's documentation writes them. The reference writes
// its endpoints with .json after a path parameter, e.g.
// "GET /api/v2/tickets/{ticket_id}.json", and Zendesk answers the same
// path without .json too:
// https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#show-ticket
//
// A ServeMux wildcard must be a whole path segment, so the simulator
// routes API requests on their path without the final .json: the pattern
// "GET /api/v2/tickets/{id}.json" is routed as "GET /api/v2/tickets/{id}",
// and a request for /api/v2/tickets/35.json as /api/v2/tickets/35, so
// r.PathValue("id") is "35". Literal segments still win over wildcards,
// as in any ServeMux: /api/v2/tickets/count.json goes to a pattern
// ".../tickets/count.json" before ".../tickets/{id}.json". A pattern
// written with and without .json is the same endpoint, listed twice.

// apiPrefix is where the paths that may end in .json begin.
const apiPrefix = "/api/"

// route returns the ServeMux pattern an API pattern is routed on: the same
// method and path, without the final .json of a path under /api/.
func route(pattern string) string {
	method, path, _ := strings.Cut(pattern, " ")
	return method + " " + withoutJSON(path)
}

// withoutJSON returns path without its final ".json" if path is under
// /api/ and the last segment has a name before the suffix; any other path
// is returned as it is.
func withoutJSON(path string) string {
	p, ok := strings.CutSuffix(path, ".json")
	if !ok || !strings.HasPrefix(p, apiPrefix) || strings.HasSuffix(p, "/") {
		return path
	}
	return p
}

// requestURLKey is the context key of an API request's URL as it was sent,
// before routing took its .json away.
type requestURLKey struct{}

// routed returns r as the ServeMux routes it: an API path without its
// final .json. The URL as sent is kept in the context for sentAs.
func routed(r *http.Request) *http.Request {
	p := withoutJSON(r.URL.Path)
	if p == r.URL.Path {
		return r
	}
	u := *r.URL
	u.Path = p
	u.RawPath = strings.TrimSuffix(r.URL.RawPath, ".json")
	r2 := r.WithContext(context.WithValue(r.Context(), requestURLKey{}, r.URL))
	r2.URL = &u
	return r2
}

// sentAs returns r with its URL as the client sent it (with .json, if it
// had one), its path values as routing found them, and Pattern as the API
// entry lists it: what an endpoint's handler sees.
func sentAs(r *http.Request, pattern string) *http.Request {
	r2 := r.WithContext(r.Context()) // a shallow copy, path values included
	if u, ok := r.Context().Value(requestURLKey{}).(*url.URL); ok {
		r2.URL = u
	}
	r2.Pattern = pattern
	return r2
}

// underTickets reports whether path is the Tickets API's: /api/v2/tickets,
// with or without .json, or anything under it, and the lists of a user's
// or an organization's tickets (/api/v2/users/{id}/tickets/requested,
// /api/v2/organizations/{id}/tickets), which List Tickets also allows
// agents only:
// https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#list-tickets
func underTickets(path string) bool {
	p := withoutJSON(path)
	segments := strings.Split(p, "/") // "", "api", "v2", ...
	return p == "/api/v2/tickets" || strings.HasPrefix(p, "/api/v2/tickets/") ||
		len(segments) >= 6 && (segments[3] == "users" || segments[3] == "organizations") && segments[5] == "tickets"
}
