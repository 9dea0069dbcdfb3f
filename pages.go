package main

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static/style.css
var stylesheet []byte

// pages are the HTML templates, parsed once at start-up: a broken template
// stops the app at once instead of failing a request later.
type pages struct {
	byName map[string]*template.Template
}

func parsePages() *pages {
	p := &pages{byName: map[string]*template.Template{}}
	for _, name := range []string{"index", "profile", "error"} {
		p.byName[name] = template.Must(template.ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
	}
	return p
}

// The views: what each template shows.
type (
	indexView struct {
		AskSubdomain bool   // the global-client mode asks which Zendesk
		Subdomain    string // pre-fills the form
		Error        string // why the typed subdomain was refused
		Notice       string
	}
	profileView struct {
		Name, Role, Instance string
	}
	errorView struct {
		Title, Message    string
		Detail            string // Zendesk's own words, if any
		Status            int
		Action, ActionURL string // the way forward
		RequestID         string
	}
)

// render writes a page. It renders into a buffer first, so a failing
// template cannot leave half a page behind a 200 status.
func (a *app) render(w http.ResponseWriter, r *http.Request, status int, name string, view any) {
	var buf bytes.Buffer
	if err := a.pages.byName[name].ExecuteTemplate(&buf, "layout", view); err != nil {
		a.log.ErrorContext(r.Context(), "rendering a page failed", "page", name, "request_id", requestID(r.Context()), "error", err)
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}
