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

// The middleware every request goes through, outermost first: a request id,
// panic recovery and one log line; security headers; one loopback name.

type requestIDKey struct{}

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// requestIDHandler adds the request id of a record's context to every log
// line, so that no call site has to name it.
type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := requestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(attrs)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
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
// can quote it), turns a panic into an error page, and writes one line when
// the request ends. It logs the path without the query string, which may
// hold an authorization code.
func (a *app) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		r = r.WithContext(context.WithValue(r.Context(), requestIDKey{}, rand.Text()[:12]))
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			a.log.InfoContext(r.Context(), "request", "method", r.Method, "path", shorten(r.URL.Path, 200),
				"status", cmp.Or(rec.status, http.StatusOK), "duration", time.Since(start))
		}()
		defer a.recoverPanic(rec, r)
		next.ServeHTTP(rec, r)
	})
}

// recoverPanic, deferred, turns a panic in a handler into a 500 page and a
// log line with the stack; the server goes on serving.
func (a *app) recoverPanic(w *statusRecorder, r *http.Request) {
	v := recover()
	switch {
	case v == nil:
		return
	case v == http.ErrAbortHandler: // the handler's way to abort a response
		panic(v)
	case w.status != 0:
		// The response has begun: cut it off, so the client cannot take
		// half a page for a whole one.
		a.log.ErrorContext(r.Context(), "panic after the response began", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
		w.status = http.StatusInternalServerError // for the log line
		panic(http.ErrAbortHandler)
	}
	a.fail(w, r, errorView{
		Status:  http.StatusInternalServerError,
		Title:   "Something went wrong",
		Message: "The app hit an unexpected error. It has been logged; please try again.",
	}, fmt.Errorf("panic: %v\n%s", v, debug.Stack()))
}

// secureHeaders sets the headers every response carries (OWASP Secure
// Headers). Nothing is cached, since pages show a person's data or set
// cookies; only the stylesheet's handler allows it.
func (a *app) secureHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY") // for browsers without CSP frame-ancestors
		// No Referer: the callback URL holds the authorization code.
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if a.cfg.https {
			h.Set("Strict-Transport-Security", "max-age=63072000")
		}
		h.Set("Cache-Control", "no-store")
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
