package zendesksim

import (
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// listener serves a handler on a random port of 127.0.0.1 for Server and
// Accounts. It uses net/http directly rather than net/http/httptest
// because the app's production binary imports this package for its -demo
// mode.
type listener struct {
	addr     string
	sims     []*Simulator // whose hung handlers close releases
	srv      *http.Server
	served   chan struct{} // closed when srv.Serve returns
	conns    atomic.Int64  // TCP connections accepted
	mu       sync.Mutex    // guards closed and handlers.Add
	closed   bool
	handlers sync.WaitGroup // running handlers
}

// listen starts serving h on 127.0.0.1 with a random port; sims are the
// simulators h serves. It panics if it cannot listen, like
// httptest.NewServer.
func listen(h http.Handler, sims ...*Simulator) *listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("zendesksim: cannot listen on 127.0.0.1: %v", err))
	}
	l := &listener{addr: ln.Addr().String(), sims: sims, served: make(chan struct{})}
	l.srv = &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { l.serve(w, r, h) }),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       time.Minute,
		ConnState: func(_ net.Conn, state http.ConnState) {
			if state == http.StateNew {
				l.conns.Add(1)
			}
		},
	}
	go func() {
		defer close(l.served)
		l.srv.Serve(ln)
	}()
	return l
}

// serve runs h, tracking the handler so that close can wait for it.
func (l *listener) serve(w http.ResponseWriter, r *http.Request, h http.Handler) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	l.handlers.Add(1)
	l.mu.Unlock()
	defer l.handlers.Done()
	h.ServeHTTP(w, r)
}

// close stops serving: it closes the listener and all connections, makes
// hanging handlers (Hang, Slow) return, and waits for every handler to
// finish. Calling close again does nothing.
func (l *listener) close() {
	l.mu.Lock()
	already := l.closed
	l.closed = true
	l.mu.Unlock()
	if already {
		return
	}
	l.srv.Close() // closes the connections first, so released handlers cannot answer
	for _, s := range l.sims {
		close(s.done)
	}
	<-l.served
	l.handlers.Wait()
}
