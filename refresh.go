package main

import (
	"context"
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
	// rememberRefresh is how long, at least, a refresh result is kept for
	// requests that still carry the old cookie (at most twice that): long
	// enough for the requests the browser sent before it received the new
	// one, and no longer, since whoever holds the old cookie gets the new
	// pair meanwhile.
	rememberRefresh = 10 * time.Second
	// maxRememberedRefreshes bounds that memory.
	maxRememberedRefreshes = 10_000
)

// refresher makes at most one refresh request per refresh token within this
// process at a time, and remembers its result briefly. Behind a load
// balancer, several replicas of the app share nothing: deploy/nginx.conf
// sends each person's requests to one replica (docs/deployment.md).
type refresher struct {
	mu    sync.Mutex
	calls *recent[refreshKey, *refreshCall] // running, or done within rememberRefresh
	now   func() time.Time
}

// refreshKey names one refresh token of one Zendesk.
type refreshKey struct{ subdomain, refreshToken string }

type refreshCall struct {
	done   chan struct{} // closed when tokens and err are set
	tokens *tokens
	err    error
}

func newRefresher(now func() time.Time) *refresher {
	return &refresher{calls: newRecent[refreshKey, *refreshCall](rememberRefresh, maxRememberedRefreshes), now: now}
}

// do returns the result of refresh(ctx) for this subdomain and refresh
// token, running it only if no other request is running it or ran it
// successfully within the last rememberRefresh. The shared call runs
// without the caller's cancellation, so one person closing a tab does not
// fail the others; the Zendesk client's own timeout still bounds it.
func (r *refresher) do(ctx context.Context, subdomain, refreshToken string, refresh func(context.Context) (*tokens, error)) (*tokens, error) {
	key := refreshKey{subdomain, refreshToken}
	r.mu.Lock()
	call, ok := r.calls.get(key, r.now())
	if !ok {
		call = &refreshCall{done: make(chan struct{})}
		r.calls.add(key, call, r.now())
		go func() {
			call.tokens, call.err = refresh(context.WithoutCancel(ctx))
			if call.err != nil {
				r.calls.forget(key) // the next try may succeed
			}
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
