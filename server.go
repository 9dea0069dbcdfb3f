package main

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// A request's Zendesk calls share one deadline, zendeskBudget after the
// request began: time for three whole calls of up to zendeskTimeout each
// (a refresh, Show Self, a page's own call), however many it makes. The
// server's write timeout leaves writeMargin beyond it to write the page
// and its cookies: a refreshed pair must reach the browser, or the person
// holds a dead refresh token.
const writeMargin = 5 * time.Second

func (c *config) zendeskBudget() time.Duration { return 3 * c.zendeskTimeout }

// newServer wraps the app in a server with bounds for slow or hostile
// clients: headers must arrive within 5 s and fit in 32 KiB (431
// otherwise), a whole request within 10 s, and an idle connection is closed
// after 30 s. A flood of connections is the reverse proxy's to stop
// (deploy/nginx.conf); these timeouts make sure that no connection holds
// on for long.
func newServer(a *app) *http.Server {
	return &http.Server{
		Handler:           a.handler(a.routes()),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      a.cfg.zendeskBudget() + writeMargin,
		IdleTimeout:       30 * time.Second,
		// net/http allows 4 KiB more than MaxHeaderBytes (bufio slack), so
		// this makes the limit 32 KiB, request line included.
		MaxHeaderBytes: 32<<10 - 4096,
		ErrorLog:       slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
}

// withDeadline gives every Zendesk call of a request the request's one
// deadline: each call uses the request's context.
func (a *app) withDeadline(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), a.cfg.zendeskBudget())
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}
