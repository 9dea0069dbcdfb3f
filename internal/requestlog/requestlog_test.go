package requestlog

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// One line per request, with its id, method, path without the query,
// status; the handler's own lines carry the same id.
func TestOneLinePerRequest(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(Handler{slog.NewTextHandler(&logs, nil)})
	var seen string
	h := Middleware(log, nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = ID(r.Context())
		log.InfoContext(r.Context(), "inside")
		w.WriteHeader(http.StatusTeapot)
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/zendesk/oauth/callback?code=SECRET", nil))
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(seen) != 12 || len(lines) != 2 {
		t.Fatalf("id %q, lines:\n%s", seen, logs.String())
	}
	for _, line := range lines {
		if !strings.HasSuffix(line, "request_id="+seen) {
			t.Errorf("a line without the request id: %s", line)
		}
	}
	if !strings.Contains(lines[1], "method=GET path=/zendesk/oauth/callback status=418") || strings.Contains(logs.String(), "SECRET") {
		t.Errorf("request line: %s", lines[1])
	}
}

// A panic before the response begins is logged with its stack and
// answered by panicked; after it begins, the response is cut off.
func TestPanics(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	panicked := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "sorry", http.StatusInternalServerError)
	})
	before := httptest.NewRecorder()
	Middleware(log, panicked, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") })).
		ServeHTTP(before, httptest.NewRequest("GET", "/", nil))
	if before.Code != http.StatusInternalServerError || !strings.Contains(logs.String(), "panic=boom") || !strings.Contains(logs.String(), "goroutine") {
		t.Errorf("status %d, logs:\n%s", before.Code, logs.String())
	}

	ts := httptest.NewServer(Middleware(log, panicked, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("<p>half a page"))
		http.NewResponseController(w).Flush()
		panic("boom")
	})))
	resp, err := http.Get(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Error("the half page arrived as a complete response")
	}
	resp.Body.Close()
	ts.Close() // waits for the handler, and its log line
	if !strings.Contains(logs.String(), "status=500") {
		t.Errorf("the request line does not say 500:\n%s", logs.String())
	}
}

// A right-to-left override (and other characters that are not what they
// print) reaches a JSON log as an escape, and decodes back to itself.
func TestPrintableJSON(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(PrintableJSON(&buf), nil))
	sneaky := "acme\u202eevil\u200b\U000e0041é"
	log.Info("subdomain refused", "subdomain", sneaky)
	line := buf.String()
	if strings.ContainsAny(line, "\u202e\u200b\U000e0041") || !strings.Contains(line, `acme\u202eevil\u200b\udb40\udc41é`) {
		t.Errorf("line: %s", line)
	}
	var record struct{ Subdomain string }
	if err := json.Unmarshal([]byte(line), &record); err != nil || record.Subdomain != sneaky {
		t.Errorf("decodes to %q (%v), want %q", record.Subdomain, err, sneaky)
	}
}
