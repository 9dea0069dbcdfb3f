package main

import (
	"bytes"
	"embed"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"zendesk-oauth-app/internal/requestlog"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static/style.css
var stylesheet []byte

// page is one HTML page: templates/NAME.html inside templates/layout.html.
// Pages are parsed when the program starts, so a missing or broken
// template stops it at once (and fails every test), never a request later.
type page struct {
	name string
	tmpl *template.Template
}

func parsePage(name string) *page {
	return &page{name, template.Must(template.ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))}
}

// The app's pages. A new page is a template and one such line, here or
// beside its handler.
var (
	indexPage   = parsePage("index")
	profilePage = parsePage("profile")
	errorPage   = parsePage("error")
)

// The views: what each template shows.
type (
	indexView struct {
		AskSubdomain bool   // the many-instances mode asks which Zendesk
		Subdomain    string // pre-fills the form
		Error        string // why the typed subdomain was refused
		Return       string // the app's page to go back to after signing in
		Notice       string
	}
	profileView struct {
		Name, Role, Instance string
	}
	errorView struct {
		Status            int
		Title, Message    string
		Detail            string        // Zendesk's own words, if any
		Action, ActionURL string        // the way forward; by default back to the start
		RequestID         string        // also in the log line that explains the error
		retryAfter        time.Duration // sent as Retry-After when not zero
	}
)

// layoutView is what the layout shows around a page's view.
type layoutView struct {
	Demo bool // the built-in simulator plays Zendesk: the pages say so
	View any
}

// render writes a page. It renders into a buffer first, so a failing
// template cannot leave half a page behind a 200 status.
func (a *app) render(w http.ResponseWriter, r *http.Request, status int, p *page, view any) {
	var buf bytes.Buffer
	if err := p.tmpl.ExecuteTemplate(&buf, "layout", layoutView{Demo: a.cfg.demo, View: view}); err != nil {
		a.log.ErrorContext(r.Context(), "rendering a page failed", "page", p.name, "error", err)
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes()) // a failed write means the browser left: nothing to tell it
}

// problem is an error page with its status, title and message; the page
// leads back to the start unless its Action says otherwise.
func problem(status int, title, message string) errorView {
	return errorView{Status: status, Title: title, Message: message}
}

// fail answers a request with the error page v and writes the one log line
// that explains it, with err: the one way the app shows an error. Without
// err (a page not found, say) the request's own log line says enough.
func (a *app) fail(w http.ResponseWriter, r *http.Request, v errorView, err error) {
	if err != nil {
		level := slog.LevelInfo
		if v.Status >= 500 {
			level = slog.LevelError
		}
		a.log.Log(r.Context(), level, v.Title, "status", v.Status, "error", err)
	}
	if v.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(v.retryAfter.Seconds())))
	}
	if v.Action == "" {
		v.Action, v.ActionURL = "Back to the start", "/"
	}
	v.RequestID = requestlog.ID(r.Context())
	a.render(w, r, v.Status, errorPage, v)
}

// The Content-Security-Policy of every page: nothing but the app's own
// stylesheet and images, no scripts at all, forms only to the app itself,
// never in a frame.
const (
	cspWithoutFormAction  = "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
	contentSecurityPolicy = cspWithoutFormAction + "; form-action 'self'"
)

// shorten cuts s to at most n bytes of valid UTF-8, for text that came from
// outside and is logged or shown.
func shorten(s string, n int) string {
	s = strings.ToValidUTF8(s, "")
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}
