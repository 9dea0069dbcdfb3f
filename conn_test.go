package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"zendesk-oauth-app/internal/zendesksim"
)

// tlsZendesk is the simulator behind an HTTPS server that speaks HTTP/2,
// as Zendesk does, and counts what the app costs it: TCP connections
// accepted, TLS handshakes completed, and requests by protocol.
type tlsZendesk struct {
	sim         *zendesksim.Simulator
	server      *httptest.Server
	connections atomic.Int64 // http.StateNew: one per accepted TCP connection
	handshakes  atomic.Int64 // completed TLS handshakes, resumed or full
	resumed     atomic.Int64 // of which resumed from a session ticket
	requests    atomic.Int64
	http2       atomic.Int64 // requests with ProtoMajor 2
}

func newTLSZendesk(t *testing.T, opts zendesksim.Options) *tlsZendesk {
	t.Helper()
	z := &tlsZendesk{sim: zendesksim.New(opts)}
	z.server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		z.requests.Add(1)
		if r.ProtoMajor == 2 {
			z.http2.Add(1)
		}
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
	return z
}

// newTLSApp starts the app, served over plain HTTP to the test browser,
// with its Zendesk client pointed at z. The app's own tuned transport is
// kept; only its root CAs are replaced so that it trusts z's certificate.
func newTLSApp(t *testing.T) (*app, *httptest.Server, *tlsZendesk) {
	t.Helper()
	var handler http.Handler
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(server.Close)
	z := newTLSZendesk(t, zendesksim.Options{
		ClientID:     benchClientID,
		ClientSecret: benchClientSecret,
		RedirectURIs: []string{server.URL + "/zendesk/oauth/callback"},
	})
	vars := map[string]string{
		"ZENDESK_SUBDOMAIN":     "acme",
		"ZENDESK_CLIENT_ID":     benchClientID,
		"ZENDESK_CLIENT_SECRET": benchClientSecret,
		"ZENDESK_BASE_URL":      z.server.URL,
		"APP_URL":               server.URL,
		"SESSION_SECRET":        testSessionSecret,
	}
	cfg, err := loadConfig(func(k string) string { return vars[k] }, false)
	if err != nil {
		t.Fatal(err)
	}
	a, err := newApp(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	transport, ok := a.zendesk.http.Transport.(*http.Transport)
	if !ok || transport.TLSClientConfig == nil || transport.TLSClientConfig.ClientSessionCache == nil || !transport.ForceAttemptHTTP2 {
		t.Fatalf("the app's Zendesk transport is not the tuned *http.Transport this test expects: %#v", a.zendesk.http.Transport)
	}
	roots := x509.NewCertPool()
	roots.AddCert(z.server.Certificate())
	transport.TLSClientConfig.RootCAs = roots
	t.Cleanup(transport.CloseIdleConnections)
	handler = a.routes()
	return a, server, z
}

// inMemoryConsent answers the consent page by calling the simulator's
// handler directly: the browser's own connections to Zendesk are not the
// app's, so they must not show up in z's counters.
func inMemoryConsent(z *tlsZendesk) func(string) (string, error) {
	return func(authorizeURL string) (string, error) {
		req := httptest.NewRequest("POST", authorizeURL, strings.NewReader("decision=allow"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		z.sim.ServeHTTP(rec, req)
		if rec.Code != http.StatusFound {
			return "", fmt.Errorf("consent: status %d, want 302", rec.Code)
		}
		return rec.Header().Get("Location"), nil
	}
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

func TestSignInReusesOneConnection(t *testing.T) {
	t.Run("sequential", func(t *testing.T) {
		const signIns = 100
		a, server, z := newTLSApp(t)
		f := &signInFlow{client: benchClient(t), appURL: server.URL, flowCookie: a.cookies.name(flowCookie), consent: inMemoryConsent(z)}
		for i := range signIns {
			if _, err := f.signIn(nil); err != nil {
				t.Fatalf("sign-in %d: %v", i+1, err)
			}
		}
		z.check(t, signIns)
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
		a, server, z := newTLSApp(t)
		f := &signInFlow{client: benchClient(t), appURL: server.URL, flowCookie: a.cookies.name(flowCookie), consent: inMemoryConsent(z)}

		// Cold: no connection yet, so each sign-in may dial before the
		// first handshake tells the transport Zendesk speaks HTTP/2.
		concurrentSignIns(t, f, signIns)
		z.check(t, signIns)
		cold, handshakes := z.connections.Load(), z.handshakes.Load()
		if cold > signIns {
			t.Errorf("%d concurrent sign-ins opened %d connections to Zendesk, want at most %d", signIns, cold, signIns)
		}
		if handshakes > cold {
			t.Errorf("%d TLS handshakes on %d connections", handshakes, cold)
		}
		t.Logf("cold: %d concurrent sign-ins, %d requests over %d connection(s), %d TLS handshake(s), %d resumed",
			signIns, z.requests.Load(), cold, handshakes, z.resumed.Load())

		// Warm: the kept HTTP/2 connection carries them all.
		concurrentSignIns(t, f, signIns)
		z.check(t, 2*signIns)
		if warm := z.connections.Load() - cold; warm != 0 {
			t.Errorf("%d concurrent sign-ins over a warm connection opened %d more connections, want 0", signIns, warm)
		}
		t.Logf("warm: %d more concurrent sign-ins, %d more connection(s)", signIns, z.connections.Load()-cold)
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
			_, err := f.signIn(nil)
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
