package zendesksim

import (
	"bytes"
	"crypto/sha256"
	"io"
	"net/http"
	"time"
)

// Idempotent ticket creation. Create Ticket (POST /api/v2/tickets(.json))
// with an Idempotency-Key header runs once: a repeat with the same key
// gets the first answer again, marked x-idempotency-lookup: hit (the first
// is marked miss), and creates no second ticket. A key is any string of up
// to 255 characters and expires after two hours; the same key with other
// request parameters gets 400 IdempotentRequestError:
// https://developer.zendesk.com/api-reference/ticketing/introduction/#idempotency
//
// Where Zendesk is silent the simulator takes the stricter reading:
//   - Every answer the endpoint gives is kept and replayed, failures
//     included: a repeat of a request that got 422 gets the 422 again, not
//     a second try. A request refused before it reached the endpoint (an
//     injected fault, a bad token, a missing scope) keeps nothing.
//   - "Other parameters" means any other query or body bytes: the same
//     ticket re-encoded with other spacing or key order is refused.
//   - A key that is empty, longer than 255 bytes (characters counted as
//     bytes) or sent twice gets 400 InvalidIdempotencyKey instead of being
//     ignored.
//   - A repeat while the first request still runs gets 409
//     IdempotentRequestInProgress and never runs the endpoint, as the
//     IETF's Idempotency-Key draft says:
//     https://datatracker.ietf.org/doc/draft-ietf-httpapi-idempotency-key-header/
//   - The two hours count from the first request.
//
// Keys are kept per OAuth client, user and key: the same key sent by
// another user, or through another client, is another request. The
// reference does not say how far a key reaches; that is a guess.

const (
	idempotencyKeyTTL      = 2 * time.Hour
	maxIdempotencyKeyBytes = 255
	lookupHeader           = "x-idempotency-lookup"
	// maxTicketBodyBytes bounds what the simulator reads to compare two
	// requests; Zendesk publishes no limit for Create Ticket.
	maxTicketBodyBytes = 1 << 20
)

// createsTicket reports whether pattern is Create Ticket, the endpoint that
// honours Idempotency-Key. Update Ticket and Update User are PUTs, which
// the reference does not list among the requests that take a key; they
// run every time, key or not.
func createsTicket(pattern string) bool {
	return route(pattern) == http.MethodPost+" /api/v2/tickets"
}

// onceKey is whose key it is.
type onceKey struct {
	clientID string
	userID   int64
	key      string
}

// onceAnswer is the answer kept for a key; done is false while the first
// request runs.
type onceAnswer struct {
	request     [sha256.Size]byte // the first request's query and body
	expires     time.Time
	done        bool
	status      int
	contentType string
	body        []byte
}

// serveOnce serves a Create Ticket request with serve, once per
// Idempotency-Key: a request without the header runs every time.
func (s *Simulator) serveOnce(w http.ResponseWriter, r *http.Request, c Caller, serve func(http.ResponseWriter, *http.Request, Caller)) {
	keys := r.Header.Values("Idempotency-Key")
	if len(keys) == 0 {
		serve(w, r, c)
		return
	}
	if len(keys) > 1 || keys[0] == "" || len(keys[0]) > maxIdempotencyKeyBytes {
		WriteJSON(w, http.StatusBadRequest, describedError{"InvalidIdempotencyKey", "Idempotency-Key must be one value of 1 to 255 characters."})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxTicketBodyBytes))
	if err != nil {
		WriteJSON(w, http.StatusBadRequest, describedError{"InvalidRequest", "The request body is too large or could not be read."})
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	request := sha256.Sum256(append([]byte(r.URL.RawQuery+"\x00"), body...))
	k := onceKey{c.clientID, c.User.ID, keys[0]}
	now := s.opts.Now()

	s.mu.Lock()
	for key, old := range s.once { // forget expired keys so the map stays small
		if old.done && now.After(old.expires) {
			delete(s.once, key)
		}
	}
	a, seen := s.once[k]
	if !seen {
		a = &onceAnswer{request: request, expires: now.Add(idempotencyKeyTTL)}
		s.once[k] = a
	}
	kept := *a // runOnce changes a under s.mu
	s.mu.Unlock()

	switch {
	case !seen:
		s.runOnce(w, r, c, serve, k, a)
	case kept.request != request:
		WriteJSON(w, http.StatusBadRequest, describedError{"IdempotentRequestError", "Request parameters don't match the given idempotency key"})
	case !kept.done:
		WriteJSON(w, http.StatusConflict, describedError{"IdempotentRequestInProgress", "A request with this idempotency key is still in progress."})
	default:
		w.Header().Set(lookupHeader, "hit")
		if kept.contentType != "" {
			w.Header().Set("Content-Type", kept.contentType)
		}
		w.WriteHeader(kept.status)
		_, _ = w.Write(kept.body) // a failed write means the client left
	}
}

// runOnce runs the first request for key k and keeps its answer in a. If
// serve does not return (it panicked or aborted the response), the key is
// forgotten: there is nothing to replay.
func (s *Simulator) runOnce(w http.ResponseWriter, r *http.Request, c Caller, serve func(http.ResponseWriter, *http.Request, Caller), k onceKey, a *onceAnswer) {
	w.Header().Set(lookupHeader, "miss")
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	served := false
	defer func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if !served {
			delete(s.once, k)
			return
		}
		a.done, a.status, a.contentType, a.body = true, rec.status, rec.contentType, rec.body.Bytes()
	}()
	serve(rec, r, c)
	served = true
}

// recorder passes a handler's answer on and keeps a copy of it.
type recorder struct {
	http.ResponseWriter
	wrote       bool
	status      int
	contentType string
	body        bytes.Buffer
}

func (r *recorder) WriteHeader(status int) {
	if !r.wrote && status >= 200 { // 1xx answers are not the answer
		r.wrote, r.status, r.contentType = true, status, r.Header().Get("Content-Type")
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	if !r.wrote {
		r.WriteHeader(http.StatusOK)
	}
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (r *recorder) Unwrap() http.ResponseWriter {
	return r.ResponseWriter
}
