package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"time"
)

// The middleware every request goes through, outermost first: a request id
// and one log line, panic recovery, security headers, one loopback name.

type requestIDKey struct{}

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// statusRecorder remembers the status a handler wrote, for the log line
// and for panic recovery.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the real writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// logRequests gives each request an id (shown on error pages, so a person
// can quote it) and writes one line when it ends. It logs the path without
// the query string, which may hold an authorization code.
func (a *app) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := rand.Text()[:12]
		r = r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id))
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		a.logAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", r.Method),
			slog.String("path", shorten(r.URL.Path, 200)),
			slog.Int("status", cmp.Or(rec.status, http.StatusOK)),
			slog.Duration("duration", time.Since(start)),
			slog.String("request_id", id))
	})
}

// logAttrs writes one log line, as slog.Logger.LogAttrs does but without
// looking up the caller's program counter (runtime.Callers), which the
// text handler never prints and which costs more than formatting the
// line. The request log line and the sign-in line go through it.
func (a *app) logAttrs(ctx context.Context, level slog.Level, msg string, attrs ...slog.Attr) {
	h := a.log.Handler()
	if !h.Enabled(ctx, level) {
		return
	}
	record := slog.NewRecord(time.Now(), level, msg, 0)
	record.AddAttrs(attrs...)
	_ = h.Handle(ctx, record) // the text handler's only error is a failed write to stderr
}

// recoverPanics turns a panic in a handler into a 500 page and a log line
// with the stack; the server goes on serving.
func (a *app) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler { // the handler's way to abort a response
				panic(v)
			}
			a.log.ErrorContext(r.Context(), "panic", "request_id", requestID(r.Context()),
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if rec, ok := w.(*statusRecorder); ok && rec.status != 0 {
				// The response has begun: cut it off, so the client cannot
				// take half a page for a whole one.
				panic(http.ErrAbortHandler)
			}
			a.renderError(w, r, errorView{
				Title:   "Something went wrong",
				Message: "The app hit an unexpected error. It has been logged; please try again.",
				Status:  http.StatusInternalServerError,
			})
		}()
		next.ServeHTTP(w, r)
	})
}

// secureHeaders sets the headers every response carries (OWASP Secure
// Headers). Nothing is cached, since pages show a person's data or set
// cookies; only the stylesheet may be.
func (a *app) secureHeaders(next http.Handler) http.Handler {
	headers := http.Header{} // built once: the same values for every response
	headers.Set("Content-Security-Policy", contentSecurityPolicy)
	headers.Set("X-Content-Type-Options", "nosniff")
	headers.Set("X-Frame-Options", "DENY") // for browsers without CSP frame-ancestors
	// No Referer: the callback URL holds the authorization code.
	headers.Set("Referrer-Policy", "no-referrer")
	headers.Set("Cross-Origin-Opener-Policy", "same-origin")
	if a.cfg.https {
		headers.Set("Strict-Transport-Security", "max-age=63072000")
	}
	headers.Set("Cache-Control", "no-store") // the stylesheet's handler allows caching
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		for name, values := range headers {
			h[name] = values // shared, never changed: a handler that needs another value Sets it
		}
		next.ServeHTTP(w, r)
	})
}

// oneLoopbackName sends a request that reached the app under another
// loopback name than APP_URL's (127.0.0.1 or [::1] for localhost, say) to
// the same address under APP_URL's name, before anything else happens. To
// a browser they are different sites: a sign-in started under one would
// come back to the other without its cookies. Only when the app is served
// directly (http on a loopback name, and the port APP_URL names): behind a
// proxy, the Host header is the proxy's business.
func (a *app) oneLoopbackName(next http.Handler) http.Handler {
	u, _ := url.Parse(a.cfg.appURL) // checked by loadConfig
	if u.Scheme != "http" || !isLoopback(u.Hostname()) {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, port, err := net.SplitHostPort(r.Host)
		if err == nil && isLoopback(host) && host != u.Hostname() && port == cmp.Or(u.Port(), "80") {
			http.Redirect(w, r, a.cfg.appURL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
			return
		}
		next.ServeHTTP(w, r)
	})
}
