package zendesksim

import (
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Server is a Simulator listening on a random port of 127.0.0.1. It uses
// net/http directly rather than net/http/httptest because the app's
// production binary imports this package for its -demo mode.
type Server struct {
	// URL is the simulator's base URL, "http://127.0.0.1:PORT" (no trailing slash).
	URL string
	*Simulator

	srv      *http.Server
	served   chan struct{} // closed when srv.Serve returns
	conns    atomic.Int64  // TCP connections accepted
	mu       sync.Mutex    // guards closed and handlers.Add
	closed   bool
	handlers sync.WaitGroup // running handlers
}

// NewServer starts a simulator configured by opts on 127.0.0.1 with a random
// port. It panics if it cannot listen, like httptest.NewServer. Call Close
// when done.
func NewServer(opts Options) *Server {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("zendesksim: cannot listen on 127.0.0.1: %v", err))
	}
	s := &Server{URL: "http://" + ln.Addr().String(), Simulator: New(opts), served: make(chan struct{})}
	s.srv = &http.Server{
		Handler:           http.HandlerFunc(s.serve),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       time.Minute,
		ConnState: func(_ net.Conn, state http.ConnState) {
			if state == http.StateNew {
				s.conns.Add(1)
			}
		},
	}
	go func() {
		defer close(s.served)
		s.srv.Serve(ln)
	}()
	return s
}

// serve runs the simulator, tracking the handler so that Close can wait for it.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	s.handlers.Add(1)
	s.mu.Unlock()
	defer s.handlers.Done()
	s.Simulator.ServeHTTP(w, r)
}

// Close stops the server: it closes the listener and all connections, makes
// hanging handlers (Hang, Slow) return, and waits for every handler to
// finish. Calling Close again does nothing.
func (s *Server) Close() {
	s.mu.Lock()
	already := s.closed
	s.closed = true
	s.mu.Unlock()
	if already {
		return
	}
	s.srv.Close() // closes the connections first, so released handlers cannot answer
	close(s.done)
	<-s.served
	s.handlers.Wait()
}

// Connections returns the number of TCP connections accepted so far.
func (s *Server) Connections() int {
	return int(s.conns.Load())
}
