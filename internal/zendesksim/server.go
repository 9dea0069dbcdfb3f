package zendesksim

// Server is a Simulator listening on a random port of 127.0.0.1: one
// account, as the -demo mode and most tests use it. Accounts serves
// several.
type Server struct {
	// URL is the simulator's base URL, "http://127.0.0.1:PORT" (no trailing slash).
	URL string
	*Simulator

	l *listener
}

// NewServer starts a simulator configured by opts on 127.0.0.1 with a random
// port. It panics if it cannot listen, like httptest.NewServer. Call Close
// when done.
func NewServer(opts Options) *Server {
	sim := New(opts)
	l := listen(sim, sim)
	return &Server{URL: "http://" + l.addr, Simulator: sim, l: l}
}

// Close stops the server: it closes the listener and all connections, makes
// hanging handlers (Hang, Slow) return, and waits for every handler to
// finish. Calling Close again does nothing.
func (s *Server) Close() {
	s.l.close()
}

// Connections returns the number of TCP connections accepted so far.
func (s *Server) Connections() int {
	return int(s.l.conns.Load())
}
