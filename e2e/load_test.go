package e2e

import (
	"errors"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"zendesk-oauth-app/internal/zendesksim"
)

// TestManySignIns runs 500 complete sign-ins, 50 at a time, through the
// app's binary: none fails, the app keeps its connections to Zendesk warm
// instead of opening one per sign-in, and it still shuts down cleanly.
func TestManySignIns(t *testing.T) {
	// 50 is the app's cap on connections per Zendesk (maxConnsPerZendesk
	// in zendesk.go): the most this burst may open.
	const total, concurrency = 500, 50
	app, appURL, sim := startWithZendesk(t)

	// The browsers' consent clicks reach the same simulated Zendesk through
	// another listener, so the simulator's own counts only the app's
	// connections.
	consent := httptest.NewServer(sim.Simulator)
	t.Cleanup(consent.Close)
	client := newClient(t, concurrency)
	f := &signInFlow{client: client, appURL: appURL, consent: networkConsent(client, consent.URL)}

	var next, failures atomic.Int64
	var firstErr sync.Once
	var wg sync.WaitGroup
	for range concurrency {
		wg.Go(func() {
			for next.Add(1) <= total {
				page, err := f.signIn()
				if err == nil && len(page.Cookies()) == 0 {
					err = errors.New("the callback set no cookie: no session")
				}
				if err != nil {
					failures.Add(1)
					firstErr.Do(func() { t.Errorf("sign-in failed: %v", err) })
				}
			}
		})
	}
	wg.Wait()

	if n := failures.Load(); n != 0 {
		t.Errorf("%d of %d sign-ins failed", n, total)
	}
	if st := sim.Stats(); st[zendesksim.Exchange] != total || st[zendesksim.Me] != total {
		t.Errorf("Zendesk saw %+v, want %d exchanges and users/me calls", st, total)
	}
	if n := sim.Connections(); n > concurrency {
		t.Errorf("the app opened %d connections to Zendesk for %d sign-ins, %d at a time; want at most %d", n, total, concurrency, concurrency)
	}
	// Nothing the load started keeps the app from a graceful shutdown.
	if err := app.stop(); err != nil {
		t.Error(err)
	}
}
