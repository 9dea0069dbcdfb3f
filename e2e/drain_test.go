package e2e

import (
	"errors"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"zendesk-oauth-app/internal/zendesksim"
)

// drainLimit is how long the app lets requests in progress finish after
// SIGTERM: its server's write timeout (main.go's run, server.go), five
// Zendesk calls of 10 s and 5 s more.
const drainLimit = 55 * time.Second

// TestDrain stops the app with SIGTERM while a page waits for a slow
// Zendesk, as a deploy or a scale-down does: new connections are refused
// at once, so a proxy sends them elsewhere; the page in flight still
// arrives whole; and the process then exits cleanly, within its drain
// limit.
func TestDrain(t *testing.T) {
	// SlowDelay may change only before the simulator serves.
	slow := zendesksim.SlowDelay
	t.Cleanup(func() { zendesksim.SlowDelay = slow })
	zendesksim.SlowDelay = time.Second

	app, appURL, sim := startWithZendesk(t)
	flow := &signInFlow{client: newClient(t, 1), appURL: appURL, consent: handlerConsent(sim)}
	page, err := flow.signIn()
	if err != nil {
		t.Fatal(err)
	}

	// A page in flight: it waits for Zendesk's late answer to users/me.
	sim.Inject(zendesksim.Me, zendesksim.Slow, 1)
	before := sim.Stats()[zendesksim.Me]
	type answer struct {
		body []byte
		err  error
	}
	answered := make(chan answer, 1)
	go func() {
		_, body, err := flow.get(appURL+"/", page.Cookies(), 200)
		answered <- answer{body, err}
	}()
	if !poll(5*time.Second, 2*time.Millisecond, func() bool { return sim.Stats()[zendesksim.Me] > before }) {
		t.Fatal("the page did not ask Zendesk for the person")
	}

	sigterm := time.Now()
	stopped := make(chan error, 1)
	go func() { stopped <- app.stop() }() // SIGTERM, then wait for the exit

	// New connections are refused while the page is still in flight.
	refused := poll(zendesksim.SlowDelay, 2*time.Millisecond, func() bool {
		conn, err := net.DialTimeout("tcp", app.addr, time.Second)
		if err == nil {
			conn.Close() // accepted: the signal has not arrived yet
		}
		return errors.Is(err, syscall.ECONNREFUSED)
	})
	select {
	case a := <-answered:
		t.Fatalf("the page was answered (%v) before new connections were refused (%v)", a.err, refused)
	default:
	}
	if !refused {
		t.Fatalf("new connections were still accepted %v after SIGTERM", time.Since(sigterm))
	}
	t.Logf("new connections refused %v after SIGTERM", time.Since(sigterm))

	a := <-answered
	if a.err != nil || !strings.Contains(string(a.body), greeting) {
		t.Errorf("the page in flight at SIGTERM: %v, want 200 and %q\n%s", a.err, greeting, a.body)
	}
	if err := <-stopped; err != nil {
		t.Error(err) // exited with an error, or killed after 15 s
	}
	if d := time.Since(sigterm); d > drainLimit {
		t.Errorf("the app exited %v after SIGTERM, beyond its drain limit of %v", d, drainLimit)
	} else {
		t.Logf("the app exited %v after SIGTERM", d)
	}
	if log := app.log.String(); !strings.Contains(log, "shutting down") || strings.Contains(log, "level=ERROR") {
		t.Errorf("the app's log does not say it is shutting down, or has an error:\n%s", log)
	}
}
