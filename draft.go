package main

import (
	"net/http"
	"net/url"
)

// A form whose POST needs a new authorization first (the refresh token is
// spent, the scopes changed, the session is too old) was not sent to
// Zendesk: a redirect cannot repeat a POST. reauthorize keeps what the
// person typed with keepDraft, in a sealed cookie like the session's, and
// the form's page shows it again with takeDraft.

const (
	draftCookie = "draft"
	// maxDraftBytes keeps a draft in one cookie, and the request headers
	// within deploy/nginx.conf's 16 KB line beside the largest session.
	// Longer text is not kept, and the page says so.
	maxDraftBytes = 2000
	// maxFormBytes bounds what a form may post at all.
	maxFormBytes = 64 << 10
)

// draft is what a person typed into the form at Path.
type draft struct {
	Path string
	Form url.Values // nil: too long to keep
}

// keepDraft keeps the form of the POST r for the form's page.
func (a *app) keepDraft(w http.ResponseWriter, r *http.Request) {
	d := draft{Path: r.URL.Path}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err == nil && len(r.PostForm.Encode()) <= maxDraftBytes {
		d.Form = r.PostForm
	}
	if err := a.cookies.Set(w, r, draftCookie, d, a.cfg.now().Add(flowLifetime)); err != nil {
		a.log.WarnContext(r.Context(), "keeping the form failed", "error", err)
	}
}

// takeDraft returns what the person typed into this page's form before a
// new authorization, and what the page should say about it; ok is false
// when there is none. A draft is shown once.
func (a *app) takeDraft(w http.ResponseWriter, r *http.Request) (form url.Values, notice string, ok bool) {
	var d draft
	if found, _, err := a.cookies.Get(r, draftCookie, &d); !found || err != nil || d.Path != r.URL.Path {
		return nil, "", false
	}
	a.cookies.Clear(w, r, draftCookie)
	if d.Form == nil {
		return url.Values{}, "You had to sign in again, so your form was not sent, and what you typed was too long to keep. Please type it again.", true
	}
	return d.Form, "You had to sign in again, so your form was not sent. What you typed is below: check it and send it again.", true
}
