package e2e

import (
	"crypto/tls"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"zendesk-oauth-app/internal/zendesksim"
)

// tlsZendesk is the simulator behind an HTTPS server that speaks HTTP/2,
// as Zendesk does, and counts what the app costs it: TCP connections
// accepted, TLS handshakes completed, and requests by protocol and by
// connection.
type tlsZendesk struct {
	sim         *zendesksim.Simulator
	server      *httptest.Server
	certFile    string       // the server's certificate as PEM, for SSL_CERT_FILE
	connections atomic.Int64 // http.StateNew: one per accepted TCP connection
	handshakes  atomic.Int64 // completed TLS handshakes, resumed or full
	resumed     atomic.Int64 // of which resumed from a session ticket
	requests    atomic.Int64
	http2       atomic.Int64 // requests with ProtoMajor 2

	mu      sync.Mutex
	perConn map[string]int // requests by connection (the app's address) since the last takePerConn
}

func newTLSZendesk(t *testing.T, opts zendesksim.Options) *tlsZendesk {
	t.Helper()
	z := &tlsZendesk{sim: zendesksim.New(opts), perConn: map[string]int{}}
	z.server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		z.requests.Add(1)
		if r.ProtoMajor == 2 {
			z.http2.Add(1)
		}
		z.mu.Lock()
		z.perConn[r.RemoteAddr]++
		z.mu.Unlock()
		z.sim.ServeHTTP(w, r)
	}))
	z.server.EnableHTTP2 = true
	z.server.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			z.connections.Add(1)
		}
	}
	// VerifyConnection runs on the server side of every handshake, full or
	// resumed, just before it completes.
	z.server.TLS = &tls.Config{VerifyConnection: func(cs tls.ConnectionState) error {
		z.handshakes.Add(1)
		if cs.DidResume {
			z.resumed.Add(1)
		}
		return nil
	}}
	z.server.StartTLS()
	t.Cleanup(z.server.Close)

	// The app's binary trusts the server's self-signed certificate through
	// SSL_CERT_FILE, which crypto/x509 reads for the system roots on Linux.
	z.certFile = filepath.Join(t.TempDir(), "zendesk.pem")
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: z.server.Certificate().Raw})
	if err := os.WriteFile(z.certFile, cert, 0o644); err != nil {
		t.Fatal(err)
	}
	return z
}

// takePerConn returns how many requests each connection carried since the
// last call, and starts counting afresh.
func (z *tlsZendesk) takePerConn() map[string]int {
	z.mu.Lock()
	defer z.mu.Unlock()
	m := z.perConn
	z.perConn = map[string]int{}
	return m
}

// check asserts that Zendesk saw exactly the calls of signIns sign-ins
// (one exchange and one users/me each), all of them over HTTP/2.
func (z *tlsZendesk) check(t *testing.T, signIns int) {
	t.Helper()
	stats := z.sim.Stats()
	if stats[zendesksim.Exchange] != signIns || stats[zendesksim.Me] != signIns {
		t.Errorf("Zendesk saw %d exchanges and %d users/me calls, want %d of each", stats[zendesksim.Exchange], stats[zendesksim.Me], signIns)
	}
	if requests, http2 := z.requests.Load(), z.http2.Load(); requests != int64(2*signIns) || http2 != requests {
		t.Errorf("Zendesk saw %d requests, %d of them over HTTP/2; want %d, all over HTTP/2", requests, http2, 2*signIns)
	}
}

// startTLSApp runs the app's binary against z. The browser's consent goes
// to the simulator's handler in memory, so that every connection z counts
// is the app's.
func startTLSApp(t *testing.T) (*signInFlow, *tlsZendesk) {
	t.Helper()
	port := freePort(t)
	appURL := "http://localhost:" + port
	z := newTLSZendesk(t, zendesksim.Options{
		ClientID:     testClientID,
		ClientSecret: testClientSecret,
		RedirectURIs: []string{appURL + "/zendesk/oauth/callback"},
	})
	env := appEnv(port, z.server.URL)
	env["SSL_CERT_FILE"] = z.certFile
	startApp(t, env)
	return &signInFlow{client: newClient(t, 64), appURL: appURL, consent: handlerConsent(z.sim)}, z
}

// TestSignInReusesOneConnection checks the app's warm connections to
// Zendesk: sequential sign-ins share one connection and one TLS handshake,
// and concurrent ones share one HTTP/2 connection once it exists.
func TestSignInReusesOneConnection(t *testing.T) {
	t.Run("sequential", func(t *testing.T) {
		const signIns = 100
		f, z := startTLSApp(t)
		for i := range signIns {
			if _, err := f.signIn(); err != nil {
				t.Fatalf("sign-in %d: %v", i+1, err)
			}
		}
		z.check(t, signIns)
		// One request at a time: only the very first found no connection,
		// so only it dialed.
		if n := z.connections.Load(); n != 1 {
			t.Errorf("%d sequential sign-ins opened %d connections to Zendesk, want 1", signIns, n)
		}
		if n := z.handshakes.Load(); n != 1 {
			t.Errorf("%d sequential sign-ins made %d TLS handshakes with Zendesk, want 1", signIns, n)
		}
		t.Logf("%d sign-ins: %d requests over %d connection(s), %d TLS handshake(s)", signIns, z.requests.Load(), z.connections.Load(), z.handshakes.Load())
	})

	t.Run("concurrent", func(t *testing.T) {
		const signIns = 20
		f, z := startTLSApp(t)

		// Cold: no connection yet. Each code exchange that finds none
		// starts a dial of its own, not knowing yet that Zendesk speaks
		// HTTP/2. The first connection to complete is handed to every
		// request waiting (http.Transport's tryPutIdleConn), while the
		// other dials go on in the background: their contexts are detached
		// from the requests. Each is then accepted, found unneeded and
		// closed, possibly after every sign-in has returned. So the number
		// of connections is no snapshot at the end of this phase: a late
		// one would be counted in the next. What this phase may assert is
		// a bound (at most one dial per sign-in), checked at the end.
		concurrentSignIns(t, f, signIns)
		z.check(t, signIns)
		cold := z.takePerConn()

		// Warm: the kept HTTP/2 connection carries them all, whatever
		// stragglers of the cold phase still arrive meanwhile (they carry
		// no request).
		concurrentSignIns(t, f, signIns)
		z.check(t, 2*signIns)
		warm := z.takePerConn()
		if len(warm) != 1 {
			t.Errorf("%d concurrent sign-ins over a warm connection used %d connections, want 1: %v", signIns, len(warm), warm)
		}
		for addr := range warm {
			if cold[addr] == 0 {
				t.Errorf("the warm sign-ins used a new connection (%s), not the one of the cold phase (%v)", addr, keys(cold))
			}
		}

		// Handshakes first: each connection is counted at accept, before
		// its handshake, so this order never sees more handshakes than
		// connections.
		handshakes := z.handshakes.Load()
		connections := z.connections.Load()
		if connections > signIns {
			t.Errorf("%d concurrent sign-ins, then %d more, opened %d connections to Zendesk, want at most %d", signIns, signIns, connections, signIns)
		}
		if handshakes > connections {
			t.Errorf("%d TLS handshakes on %d connections", handshakes, connections)
		}
		t.Logf("cold: %d concurrent sign-ins over %d connection(s); warm: %d more over %d; %d connection(s) accepted in all, %d TLS handshake(s), %d resumed",
			signIns, len(cold), signIns, len(warm), connections, handshakes, z.resumed.Load())
	})
}

// concurrentSignIns runs n sign-ins at once.
func concurrentSignIns(t *testing.T, f *signInFlow, n int) {
	t.Helper()
	start := make(chan struct{})
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			<-start
			_, err := f.signIn()
			errs <- err
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func keys(m map[string]int) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
