// Package requestlog gives every request an id and one log line, and
// turns a handler's panic into a log line with its stack, as the
// RequestID, Logger and Recoverer middleware of github.com/go-chi/chi do,
// with log/slog.
package requestlog

import (
	"cmp"
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"
)

type idKey struct{}

// ID is the id of the request whose context ctx is; "" outside one.
func ID(ctx context.Context) string {
	id, _ := ctx.Value(idKey{}).(string)
	return id
}

// Handler adds the request id of a record's context to every log line,
// so that no call site has to name it.
type Handler struct{ slog.Handler }

func (h Handler) Handle(ctx context.Context, r slog.Record) error {
	if id := ID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return Handler{h.Handler.WithAttrs(attrs)}
}

func (h Handler) WithGroup(name string) slog.Handler {
	return Handler{h.Handler.WithGroup(name)}
}

// Middleware gives each request an id (ID reads it), and writes one line
// to log when the request ends: its method, its path without the query
// string (which may hold an authorization code), status and duration.
// A panic in next is logged with its stack; if the response has not begun,
// panicked answers it (an error page), else the response is cut off so
// the client cannot take half a page for a whole one.
func Middleware(log *slog.Logger, panicked, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		r = r.WithContext(context.WithValue(r.Context(), idKey{}, rand.Text()[:12]))
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			path := r.URL.Path
			if len(path) > 200 { // the log handler escapes what a cut leaves of a character
				path = path[:200] + "…"
			}
			log.InfoContext(r.Context(), "request", "method", r.Method, "path", path,
				"status", cmp.Or(rec.status, http.StatusOK), "duration", time.Since(start))
		}()
		defer func() {
			v := recover()
			switch {
			case v == nil:
				return
			case v == http.ErrAbortHandler: // the handler's way to abort a response
				panic(v)
			}
			log.ErrorContext(r.Context(), "panic", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if rec.status != 0 {
				rec.status = http.StatusInternalServerError // for the log line
				panic(http.ErrAbortHandler)
			}
			panicked.ServeHTTP(rec, r)
		}()
		next.ServeHTTP(rec, r)
	})
}

// statusRecorder remembers the status a handler wrote.
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
