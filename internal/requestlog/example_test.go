package requestlog_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"

	"zendesk-oauth-app/internal/requestlog"
)

func Example() {
	// Both lines carry the same request id; it is random, so it is left
	// out here, with the time and the duration, for the output to be the
	// same at every run. The path has no query: it may hold a code.
	text := slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey || a.Key == "duration" || a.Key == "request_id" {
			return slog.Attr{}
		}
		return a
	}})
	log := slog.New(requestlog.Handler{Handler: text})
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.InfoContext(r.Context(), "signed in", "user_id", 42)
	})
	oops := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "Something went wrong", http.StatusInternalServerError)
	})
	requestlog.Middleware(log, oops, page).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/zendesk/oauth/callback?code=secret", nil))
	// Output:
	// level=INFO msg="signed in" user_id=42
	// level=INFO msg=request method=GET path=/zendesk/oauth/callback status=200
}
