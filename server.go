package main

import (
	"log/slog"
	"net/http"
	"time"
)

// newServer wraps the app in a server with bounds for slow or hostile
// clients: headers must arrive within 5 s and fit in 32 KiB (431
// otherwise), a whole request within 10 s, and an idle connection is closed
// after 30 s. A flood of connections is the reverse proxy's to stop
// (deploy/nginx.conf); these timeouts make sure that no connection holds
// on for long. The write timeout leaves a page room for several Zendesk
// calls of up to zendeskTimeout each.
func newServer(a *app) *http.Server {
	return &http.Server{
		Handler:           a.handler(a.routes()),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      5*a.cfg.zendeskTimeout + 5*time.Second,
		IdleTimeout:       30 * time.Second,
		// net/http allows 4 KiB more than MaxHeaderBytes (bufio slack), so
		// this makes the limit 32 KiB, request line included.
		MaxHeaderBytes: 32<<10 - 4096,
		ErrorLog:       slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
}
