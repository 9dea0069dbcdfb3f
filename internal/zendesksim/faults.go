package zendesksim

import (
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"time"
)

// Fault is a way for an endpoint to misbehave; see Simulator.Inject.
// "2xx" below means the token endpoints' success status (201, or 200 with
// Options.TokenStatusOK) and 200 for the others.
type Fault int

// The faults. A fault that makes no sense for an endpoint (e.g. NoUser on
// Exchange) behaves like ServerError.
const (
	NoFault          Fault = iota
	ServerError            // 500 {"error":"InternalError"}
	BadGatewayHTML         // 502 with an HTML page
	RateLimited            // 429, Retry-After: 30, text/plain "Too Many Requests"
	Slow                   // answers normally after SlowDelay, or not at all if the request is cancelled first
	Hang                   // never answers: blocks until the request is cancelled or the server closes
	Reset                  // closes the connection with a TCP RST and no response (HTTP/2: aborts the stream)
	InvalidJSON            // 2xx, application/json, truncated body `{"access_token": "abc`
	Oversized              // 2xx, application/json, a valid JSON object larger than 2 MiB
	WrongContentType       // 2xx, a valid-looking JSON body sent as text/html
	ErrorIn2xx             // 200 {"error":"invalid_grant","error_description":"The provided authorization grant is invalid"}
	NoAccessToken          // token endpoints: 2xx {"token_type":"bearer","scope":"users:read"}
	NoUser                 // users/me: 200 {}
	AnonymousUser          // users/me: 200 {"user":{"id":null,"name":"Anonymous user","role":"end-user"}}
	Forbidden              // 403 "You do not have access to this page...": the role-based refusal, not the missing-scope 403
	LostReply              // serves the request in full (a refresh rotates, an exchange uses the code), then resets like Reset
	// RateLimitedJSON is 429 with Retry-After: 30 and Zendesk's JSON body,
	// {"error":"APIRateLimitExceeded","description":"Number of allowed API requests per minute exceeded"}.
	RateLimitedJSON
	// RateLimitedNoRetryAfter is 429 without any Retry-After, with the body
	// of Zendesk's edge protection, {"detail":"Rate limited by Zendesk edge
	// protection","status":"429","title":"Automated response"}.
	RateLimitedNoRetryAfter
)

// SlowDelay is how long a Slow fault waits before answering. Change it only
// while no simulator is serving, e.g. at the start of a test.
var SlowDelay = 30 * time.Second

// injected is a pending fault; left is how many more requests it hits
// (0: every request until cleared).
type injected struct {
	fault Fault
	left  int
}

// Inject makes endpoint e answer with fault f for the next times requests
// (times <= 0: every request, until Inject(e, NoFault, 0)). Every endpoint
// counted in Stats takes faults, except Consent; an endpoint listed in
// Options.API is named Endpoint(pattern). A faulted request changes no state
// (an exchange hit by a fault does not consume the code), except Slow,
// which answers normally after the delay, and LostReply, which does all
// the request asked and then loses the answer: after a refresh whose
// reply is lost, the old pair is dead and the new one never arrived.
func (s *Simulator) Inject(e Endpoint, f Fault, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f == NoFault {
		delete(s.faults, e)
		return
	}
	s.faults[e] = &injected{fault: f, left: max(times, 0)}
}

// begin counts a request to endpoint e and returns the fault it must suffer.
func (s *Simulator) begin(e Endpoint) Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats[e]++
	in := s.faults[e]
	if in == nil {
		return NoFault
	}
	if in.left > 0 {
		if in.left--; in.left == 0 {
			delete(s.faults, e)
		}
	}
	return in.fault
}

// misbehave acts out fault f on endpoint e and reports whether the request
// is finished (true) or must be served normally (false). LostReply is
// served normally, into lost(), and its caller then resets the
// connection.
func (s *Simulator) misbehave(w http.ResponseWriter, r *http.Request, e Endpoint, f Fault) bool {
	tokenEndpoint := e == Exchange || e == Refresh
	ok := http.StatusOK
	if tokenEndpoint {
		ok = s.tokenStatus()
	}
	switch {
	case f == NoFault, f == LostReply:
		return false
	case f == Slow:
		t := time.NewTimer(SlowDelay)
		defer t.Stop()
		select {
		case <-t.C:
			return false
		case <-r.Context().Done():
		case <-s.done:
		}
	case f == Hang:
		select {
		case <-r.Context().Done():
		case <-s.done:
		}
	case f == Reset:
		resetConnection(w)
	case f == BadGatewayHTML:
		writeRaw(w, http.StatusBadGateway, "text/html; charset=utf-8",
			[]byte("<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>\n"))
	case f == RateLimited:
		// Zendesk's 429 may come with a plain-text body, not JSON:
		// https://developer.zendesk.com/api-reference/introduction/rate-limits/
		w.Header().Set("Retry-After", "30")
		writeRaw(w, http.StatusTooManyRequests, "text/plain; charset=utf-8", []byte("Too Many Requests"))
	case f == RateLimitedJSON:
		// The JSON 429 field reports show (the reports quote the
		// description of the endpoint's own limit; this is the general one):
		// https://github.com/airbytehq/airbyte/issues/11899
		// https://github.com/airbytehq/airbyte/issues/11035
		w.Header().Set("Retry-After", "30")
		WriteJSON(w, http.StatusTooManyRequests, describedError{"APIRateLimitExceeded", "Number of allowed API requests per minute exceeded"})
	case f == RateLimitedNoRetryAfter:
		// Zendesk's edge protection answers 429 with this body, and a
		// client can find no Retry-After to wait for: the rate-limit page
		// documents the header, field reports meet answers without it.
		// https://developer.zendesk.com/api-reference/introduction/rate-limits/
		// https://github.com/airbytehq/airbyte/issues/11899
		// https://github.com/airbytehq/airbyte/issues/14253
		writeRaw(w, http.StatusTooManyRequests, jsonType,
			[]byte(`{"detail":"Rate limited by Zendesk edge protection","status":"429","title":"Automated response"}`))
	case f == Forbidden:
		writeForbidden(w)
	case f == InvalidJSON:
		writeRaw(w, ok, jsonType, []byte(`{"access_token": "abc`))
	case f == Oversized:
		writeRaw(w, ok, jsonType, []byte(`{"padding":"`+strings.Repeat("x", 2<<20+1024)+`"}`))
	case f == WrongContentType:
		var v any = map[string]any{}
		if tokenEndpoint {
			v = tokenResponse{AccessToken: randomToken(), TokenType: "bearer", Scope: "users:read",
				RefreshToken: randomToken(), ExpiresIn: seconds(defaultAccessTTL), RefreshTokenExpiresIn: seconds(defaultRefreshTTL)}
		} else if e == Me {
			u, _ := s.firstUser()
			v = userBody(u)
		}
		body, _ := json.Marshal(v)
		writeRaw(w, ok, "text/html; charset=utf-8", body)
	case f == ErrorIn2xx:
		WriteJSON(w, http.StatusOK, apiError{Code: "invalid_grant", Description: "The provided authorization grant is invalid"})
	case f == NoAccessToken && tokenEndpoint:
		WriteJSON(w, ok, map[string]string{"token_type": "bearer", "scope": "users:read"})
	case f == NoUser && e == Me:
		WriteJSON(w, http.StatusOK, map[string]any{})
	case f == AnonymousUser && e == Me:
		WriteJSON(w, http.StatusOK, map[string]any{"user": map[string]any{"id": nil, "name": "Anonymous user", "role": "end-user"}})
	default: // ServerError, and faults that do not fit e
		WriteJSON(w, http.StatusInternalServerError, apiError{Code: "InternalError"})
	}
	return true
}

// lost returns a ResponseWriter whose answer goes nowhere: a LostReply
// request is served into it, then its connection is reset.
func lost() http.ResponseWriter {
	return unsent{http.Header{}}
}

// unsent is lost's writer: it keeps headers for the handler and drops the rest.
type unsent struct{ header http.Header }

func (u unsent) Header() http.Header         { return u.header }
func (u unsent) Write(b []byte) (int, error) { return len(b), nil }
func (u unsent) WriteHeader(int)             {}

// resetConnection closes the request's connection with a TCP RST, writing
// nothing. HTTP/2 connections cannot be hijacked: the stream is aborted.
func resetConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // net/http aborts the response without logging
	}
	if tc, ok := conn.(interface{ NetConn() net.Conn }); ok { // TLS: reset the TCP conn underneath
		conn = tc.NetConn()
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		tcp.SetLinger(0)
	}
	conn.Close()
}
