package main

import (
	"context"
	"crypto/sha256"
	"sync"
	"time"
)

// Zendesk rotates refresh tokens: each one works once
// (https://developer.zendesk.com/documentation/api-basics/authentication/refresh-token).
// When a person's browser sends several requests with the same expiring
// session (two tabs, a page and its reload), only one of them may refresh;
// the others must get its result, or they would fail with invalid_grant and
// sign the person out.

const (
	// rememberRefresh is how long a refresh result is kept for requests
	// that still carry the old cookie: long enough for the requests the
	// browser sent before it received the new one, and no longer, since
	// whoever holds the old cookie gets the new pair meanwhile.
	rememberRefresh = 10 * time.Second
	// maxRememberedRefreshes bounds that memory.
	maxRememberedRefreshes = 10_000
)

// refresher makes at most one refresh request per refresh token within this
// process at a time, and remembers the new pair briefly. Across several
// instances it cannot help; the README explains what happens there.
type refresher struct {
	mu       sync.Mutex
	inFlight map[[32]byte]*refreshCall // by hash of subdomain and refresh token
	results  *recent[[32]byte, *tokens]
	now      func() time.Time
}

type refreshCall struct {
	done   chan struct{} // closed when tokens and err are set
	tokens *tokens
	err    error
}

func newRefresher(now func() time.Time) *refresher {
	return &refresher{
		inFlight: map[[32]byte]*refreshCall{},
		results:  newRecent[[32]byte, *tokens](rememberRefresh, maxRememberedRefreshes),
		now:      now,
	}
}

// do returns the result of refresh(ctx) for this subdomain and refresh
// token, running it only if no other request is running it or ran it
// successfully within rememberRefresh. The shared call runs without the
// caller's cancellation, so one person closing a tab does not fail the
// others; the Zendesk client's own timeout still bounds it.
func (r *refresher) do(ctx context.Context, subdomain, refreshToken string, refresh func(context.Context) (*tokens, error)) (*tokens, error) {
	key := sha256.Sum256([]byte(subdomain + "\x00" + refreshToken))
	r.mu.Lock()
	if t, ok := r.results.get(key, r.now()); ok {
		r.mu.Unlock()
		return t, nil
	}
	call, ok := r.inFlight[key]
	if !ok {
		call = &refreshCall{done: make(chan struct{})}
		r.inFlight[key] = call
		go func() {
			t, err := refresh(context.WithoutCancel(ctx))
			r.mu.Lock()
			if err == nil { // a failure is not remembered: the next try may succeed
				r.results.add(key, t, r.now())
			}
			call.tokens, call.err = t, err
			delete(r.inFlight, key)
			r.mu.Unlock()
			close(call.done)
		}()
	}
	r.mu.Unlock()

	select {
	case <-call.done:
		return call.tokens, call.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
