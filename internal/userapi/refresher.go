package userapi

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"time"

	"zendesk-oauth-app/internal/recent"
	"zendesk-oauth-app/internal/zendesk"
)

// When a person's browser sends several requests with the same expiring
// session (two tabs, a page and its reload), only one of them may refresh;
// the others must get its result, or they would fail with invalid_grant
// and sign the person out.
const (
	// RememberRefresh is how long, at least, a refresh result is kept for
	// requests that still carry the old pair (at most twice that): long
	// enough for the requests the browser sent before it received the new
	// one, and no longer, since whoever holds the old pair gets the new
	// one meanwhile.
	RememberRefresh = 10 * time.Second
	// maxRememberedRefreshes bounds that memory.
	maxRememberedRefreshes = 10_000

	// rememberDead is how long, at least, a token Zendesk refused or
	// revoked is remembered as dead (at most twice that), so that a
	// replayed cookie costs Zendesk no call: Zendesk's rate limit is per
	// account, and every user of the account shares it.
	rememberDead = 10 * time.Minute
	// maxRememberedDead bounds that memory: 32 bytes a token.
	maxRememberedDead = 50_000
)

// Refresher makes at most one refresh request per refresh token within
// this process at a time, and remembers its result briefly. Several
// processes share nothing: send each person's requests to one of them.
type Refresher struct {
	zendesk *zendesk.Config
	mu      sync.Mutex
	calls   *recent.Map[refreshKey, *refreshCall] // running, or done within RememberRefresh
	dead    *recent.Map[[sha256.Size]byte, bool]  // tokens Zendesk refused or revoked, by deadKey
}

// NewRefresher returns a Refresher for the OAuth client z; its Clients
// call Zendesk through z.
func NewRefresher(z *zendesk.Config) *Refresher {
	return &Refresher{
		zendesk: z,
		calls:   recent.New[refreshKey, *refreshCall](RememberRefresh, maxRememberedRefreshes),
		dead:    recent.New[[sha256.Size]byte, bool](rememberDead, maxRememberedDead),
	}
}

// Revoked tells r that Zendesk revoked t (at sign-out, say): a Client
// holding it afterwards asks Zendesk nothing, and asks for a new
// authorization.
func (r *Refresher) Revoked(subdomain string, t zendesk.Token) {
	r.dead.Add(deadKey(subdomain, t.AccessToken), true, r.now())
	r.dead.Add(deadKey(subdomain, t.RefreshToken), true, r.now())
}

// isDead reports whether token is one Zendesk refused or revoked lately.
func (r *Refresher) isDead(subdomain, token string) bool {
	_, dead := r.dead.Get(deadKey(subdomain, token), r.now())
	return dead
}

// deadKey names a token without keeping it.
func deadKey(subdomain, token string) [sha256.Size]byte {
	return sha256.Sum256([]byte(subdomain + "\x00" + token))
}

func (r *Refresher) now() time.Time {
	if r.zendesk.Now != nil {
		return r.zendesk.Now()
	}
	return time.Now()
}

// refreshKey names one refresh token of one Zendesk.
type refreshKey struct{ subdomain, refreshToken string }

type refreshCall struct {
	done  chan struct{} // closed when token and err are set
	token *zendesk.Token
	err   error
}

// refresh returns the result of refreshing old at subdomain, running the
// request only if no other request is running it or ran it successfully
// within RememberRefresh. The shared request runs without the caller's
// cancellation, so one person closing a tab does not fail the others;
// the client's timeout still bounds it.
//
// A refresh rotates the pair at once, so its answer must reach the
// person: one is started only with time for a whole call before ctx's
// deadline. A connection that breaks before any answer is asked once more,
// at once, with the same refresh token: if Zendesk did rotate the first
// time, it answers invalid_grant; if not, the new pair.
func (r *Refresher) refresh(ctx context.Context, subdomain string, old zendesk.Token) (*zendesk.Token, error) {
	key := refreshKey{subdomain, old.RefreshToken}
	r.mu.Lock()
	call, ok := r.calls.Get(key, r.now())
	if !ok {
		if deadline, has := ctx.Deadline(); has && time.Until(deadline) < r.zendesk.Timeout() {
			r.mu.Unlock()
			return nil, &zendesk.Error{Op: zendesk.OpRefresh, Kind: zendesk.TimedOut, Err: errors.New("too little time left to refresh")}
		}
		call = &refreshCall{done: make(chan struct{})}
		r.calls.Add(key, call, r.now())
		go func() {
			ctx := context.WithoutCancel(ctx)
			call.token, call.err = r.zendesk.Refresh(ctx, subdomain, old)
			var ze *zendesk.Error
			if errors.As(call.err, &ze) && ze.Kind == zendesk.NoAnswer {
				call.token, call.err = r.zendesk.Refresh(ctx, subdomain, old)
			}
			if zendesk.HasCode(call.err, "invalid_grant") {
				// Rotated, revoked or expired: the pair is dead, its
				// access token too.
				r.Revoked(subdomain, old)
			}
			if call.err != nil {
				r.calls.Forget(key) // the next try may succeed
			}
			close(call.done)
		}()
	}
	r.mu.Unlock()

	select {
	case <-call.done:
		if call.err != nil {
			return nil, call.err
		}
		t := *call.token
		return &t, nil
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			// The refresh goes on; a request that carries the old pair
			// within RememberRefresh gets its result.
			return nil, &zendesk.Error{Op: zendesk.OpRefresh, Kind: zendesk.TimedOut, Err: ctx.Err()}
		}
		return nil, ctx.Err()
	}
}
