package main

import (
	"context"
	"crypto/sha256"
	"sync"
	"time"
)

// Zendesk rotates refresh tokens: each one works once (zendesk-api.md §9.1).
// When a person's browser sends several requests with the same expiring
// session, only one of them may refresh; the others must get its result,
// or they would fail with invalid_grant and sign the person out.

// rememberRefresh is how long a refresh result is kept for requests that
// still carry the old cookie (another tab, a request already in flight).
const rememberRefresh = time.Minute

// refresher makes at most one refresh request per refresh token within this
// process, and remembers the new pair briefly. Across several instances it
// cannot help; the README explains what happens there.
type refresher struct {
	mu    sync.Mutex
	calls map[[32]byte]*refreshCall // by hash of subdomain and refresh token
	now   func() time.Time
}

type refreshCall struct {
	done   chan struct{} // closed when tokens and err are set
	tokens *tokens
	err    error
	ended  time.Time
}

func newRefresher(now func() time.Time) *refresher {
	return &refresher{calls: make(map[[32]byte]*refreshCall), now: now}
}

// do returns the result of refresh(ctx) for this subdomain and refresh
// token, running it only if no other request is running it or ran it
// successfully within the last minute. The shared call runs without the
// caller's cancellation, so one person closing a tab does not fail the
// others; the Zendesk client's own timeout still bounds it.
func (r *refresher) do(ctx context.Context, subdomain, refreshToken string, refresh func(context.Context) (*tokens, error)) (*tokens, error) {
	key := sha256.Sum256([]byte(subdomain + "\x00" + refreshToken))
	r.mu.Lock()
	r.forgetOld()
	call, ok := r.calls[key]
	if !ok {
		call = &refreshCall{done: make(chan struct{})}
		r.calls[key] = call
		go func() {
			t, err := refresh(context.WithoutCancel(ctx))
			r.mu.Lock()
			call.tokens, call.err, call.ended = t, err, r.now()
			if err != nil {
				delete(r.calls, key) // a failure is not remembered: the next try may succeed
			}
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

// forgetOld drops results older than rememberRefresh. r.mu must be held.
func (r *refresher) forgetOld() {
	for key, call := range r.calls {
		if !call.ended.IsZero() && r.now().Sub(call.ended) > rememberRefresh {
			delete(r.calls, key)
		}
	}
}
