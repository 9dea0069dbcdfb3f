package main

import (
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// maxConns bounds the connections the server keeps open. Each costs a
// file descriptor and some memory, so without a bound one client holding
// thousands of idle keep-alive connections exhausts both.
const maxConns = 1000

// newServer wraps the app in a server with bounds for slow or hostile
// clients: headers must arrive within 5 s and fit in 32 KiB (431
// otherwise), an idle connection is closed after 30 s, and at most maxConns
// are open. A page makes at most five Zendesk calls (sign-out: refresh,
// revoke, refresh and revoke again after a 401, then the check), which
// sets the write timeout.
func newServer(a *app) *http.Server {
	limit := newConnLimiter(maxConns)
	return &http.Server{
		Handler:           a.routes(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      5*a.cfg.zendeskTimeout + 5*time.Second,
		IdleTimeout:       30 * time.Second,
		// net/http allows 4 KiB more than MaxHeaderBytes (bufio slack), so
		// this makes the limit 32 KiB, request line included.
		MaxHeaderBytes: 32<<10 - 4096,
		ConnState:      limit.track,
		ErrorLog:       slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
}

// connLimiter keeps at most max connections open. When a new one comes at
// the limit, it closes the one that has waited longest without a request
// in progress: an idle keep-alive connection, or one that has not sent a
// request yet. So a client holding many idle connections cannot lock
// others out, and one that reopens pays only a new handshake. Connections
// with a request in progress are never closed; if all are busy, the new
// one is.
type connLimiter struct {
	max int

	mu      sync.Mutex
	open    int
	waiting map[net.Conn]uint64 // the connections without a request, by when they began to wait
	clock   uint64              // counts the waits
}

func newConnLimiter(max int) *connLimiter {
	return &connLimiter{max: max, waiting: map[net.Conn]uint64{}}
}

// track is the server's ConnState hook.
func (l *connLimiter) track(c net.Conn, state http.ConnState) {
	var evict net.Conn
	l.mu.Lock()
	switch state {
	case http.StateNew:
		l.open++
		if l.open > l.max {
			evict = l.longestWaiting(c)
			delete(l.waiting, evict)
		}
		l.clock++
		l.waiting[c] = l.clock
	case http.StateIdle:
		l.clock++
		l.waiting[c] = l.clock
	case http.StateActive:
		delete(l.waiting, c)
	case http.StateClosed, http.StateHijacked:
		delete(l.waiting, c)
		l.open--
	}
	l.mu.Unlock()
	if evict != nil {
		evict.Close() // the server then reports it closed
	}
}

// longestWaiting returns the connection that has waited longest, or c if
// none waits. It looks at all of them, but only at the limit, where a
// client's surplus of connections pays for it. l.mu must be held.
func (l *connLimiter) longestWaiting(c net.Conn) net.Conn {
	oldest, since := c, ^uint64(0)
	for conn, t := range l.waiting {
		if t < since {
			oldest, since = conn, t
		}
	}
	return oldest
}
