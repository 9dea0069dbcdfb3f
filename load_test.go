package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"zendesk-oauth-app/internal/zendesksim"
)

// TestManySignIns runs 500 complete sign-ins, 50 at a time: none fails,
// the app reuses its connections to Zendesk, and no goroutine is left
// behind.
func TestManySignIns(t *testing.T) {
	const total, concurrency = 500, maxConnsPerInstance
	e := newEnv(t, envOptions{})
	transport := &http.Transport{MaxIdleConnsPerHost: concurrency}
	client := &http.Client{
		Transport:     transport,
		Timeout:       20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	// The browsers' consent clicks reach the same simulated Zendesk through
	// another listener, so the simulator's own counts the app's connections.
	consent := httptest.NewServer(e.sim.Simulator)
	defer consent.Close()
	before := runtime.NumGoroutine()

	var next, failures atomic.Int64
	var firstErr sync.Once
	var wg sync.WaitGroup
	for range concurrency {
		wg.Go(func() {
			for next.Add(1) <= total {
				if err := signInOnce(client, e.server.URL, consent.URL); err != nil {
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
	if st := e.sim.Stats(); st[zendesksim.Exchange] != total || st[zendesksim.Me] != total {
		t.Errorf("Zendesk saw %+v, want %d exchanges and users/me calls", st, total)
	}
	if n := e.sim.Connections(); n > concurrency {
		t.Errorf("the app opened %d connections to Zendesk for %d concurrent sign-ins", n, concurrency)
	}

	// Idle keep-alive connections hold goroutines on purpose; once they are
	// closed, the count must return to where it started.
	transport.CloseIdleConnections()
	e.app.zendesk.http.CloseIdleConnections()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // bounded wait for connection goroutines to exit
	}
	if after := runtime.NumGoroutine(); after > before {
		buf := make([]byte, 1<<16)
		t.Errorf("goroutines: %d before, %d after\n%s", before, after, buf[:runtime.Stack(buf, true)])
	}
}

// signInOnce is one person's sign-in: the app's redirect, Allow on
// Zendesk's page, the callback carrying the flow cookie.
func signInOnce(client *http.Client, appURL, consentURL string) error {
	start, err := client.Get(appURL + "/zendesk/auth")
	if err != nil {
		return err
	}
	drain(start)
	authorize, err := url.Parse(start.Header.Get("Location"))
	if err != nil {
		return err
	}
	consent, err := client.PostForm(consentURL+authorize.RequestURI(), url.Values{"decision": {"allow"}})
	if err != nil {
		return err
	}
	drain(consent)
	req, err := http.NewRequest("GET", consent.Header.Get("Location"), nil)
	if err != nil {
		return err
	}
	for _, c := range start.Cookies() {
		req.AddCookie(c)
	}
	page, err := client.Do(req)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(page.Body)
	page.Body.Close()
	if err != nil {
		return err
	}
	if page.StatusCode != http.StatusOK || !strings.Contains(string(body), "Hi, John Doe!") {
		return fmt.Errorf("callback: status %d", page.StatusCode)
	}
	if len(page.Cookies()) == 0 {
		return errors.New("no session cookie")
	}
	return nil
}

func drain(resp *http.Response) {
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}
