package main

import (
	"cmp"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"zendesk-oauth-app/internal/securecookie"
	"zendesk-oauth-app/internal/userapi"
	"zendesk-oauth-app/internal/zendesk"
)

// Forms. A form's page is the path it posts to: a new authorization in
// between brings the person back to that path, whose page then shows what
// they typed (the draft). A form is two handlers: showForm renders the
// page, postForm sends what was posted to Zendesk and answers with the
// outcome.

// maxFormBytes bounds what a form may post.
const maxFormBytes = 64 << 10

// formPage is a form's template, and whether the form creates a record:
// each rendered create carries an Idempotency-Key, so that sending it
// again after a lost answer cannot create a second record. Updates (PUT)
// take none: repeating one is harmless
// (https://developer.zendesk.com/api-reference/ticketing/introduction/#idempotency).
type formPage struct {
	*page
	creates bool
}

// formView is what a form's template shows.
type formView struct {
	Values url.Values          // what the person typed: {{.Values.Get "subject"}}
	Key    string              // the Idempotency-Key of a create
	Errors map[string][]string // Zendesk's word on each field
	Error  string              // on the form as a whole
	Notice string              // a draft kept across a new authorization
	Data   any                 // whatever else the page shows
}

// showForm renders the form's page: empty, or with what the person typed
// before a new authorization.
func (a *app) showForm(w http.ResponseWriter, r *http.Request, api *userAPI, p formPage, data any) error {
	v := formView{Values: url.Values{}, Data: data}
	if draft, notice, ok := a.takeDraft(w, r, api.session); ok {
		v.Values, v.Notice = draft, notice
	}
	if p.creates {
		v.Key = idempotencyKey(v.Values)
	}
	a.render(w, r, http.StatusOK, p.page, v)
	return nil
}

// postForm reads the form posted, within maxFormBytes, and has save send
// it to Zendesk (key is the Idempotency-Key of a create). It answers with
// the outcome:
//   - saved: 303 to the page save returns, so that a reload sends nothing;
//   - Zendesk's 422: the form again, with each field's message;
//   - a refusal (the person's role, a record they may not see): the form
//     again, saying what Zendesk refused, with what was typed;
//   - Zendesk down or busy: the form again, with what was typed, the same
//     key, and Retry-After;
//   - a new authorization needed: returned, for requireSignIn, which keeps
//     what was typed for the form's page.
func (a *app) postForm(w http.ResponseWriter, r *http.Request, api *userAPI, p formPage, data any, save func(form url.Values, key string) (saved string, err error)) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		a.fail(w, r, problem(http.StatusBadRequest, "The form could not be read", "It may be too long. Please go back and send it again."), err)
		return nil
	}
	v := formView{Values: r.PostForm, Data: data}
	if p.creates {
		v.Key = idempotencyKey(v.Values)
	}
	saved, err := save(v.Values, v.Key)
	var ze *zendesk.Error
	switch {
	case err == nil:
		http.Redirect(w, r, saved, http.StatusSeeOther)
		return nil
	case errors.As(err, new(*userapi.ReauthorizeError)), a.newGrantHelps(api.session, err), !errors.As(err, &ze):
		return err
	case ze.Status == http.StatusUnprocessableEntity:
		// Zendesk's answer is final: the corrected form gets a new key.
		v.Errors, v.Error = ze.Fields, "Zendesk did not save it: "+cmp.Or(ze.Description, "it refused the form")+"."
		if p.creates {
			v.Key = rand.Text()
		}
		a.log.InfoContext(r.Context(), "form refused by Zendesk", "error", err)
		a.render(w, r, http.StatusUnprocessableEntity, p.page, v)
		return nil
	}
	page := a.zendeskErrorPage(err)
	if ze.Kind != zendesk.Rejected { // Zendesk may or may not have saved it
		again := "repeating it is harmless."
		if p.creates {
			again = "if Zendesk saved it, it answers with that record instead of a second."
		}
		page.Message += " Send the form again: " + again
	}
	if page.retryAfter > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(int(page.retryAfter.Seconds())))
	}
	v.Error = page.Message
	a.log.WarnContext(r.Context(), page.Title, "status", page.Status, "error", err)
	a.render(w, r, page.Status, p.page, v)
	return nil
}

// idempotencyKey is the Idempotency-Key of a rendered create: the one the form
// carried, unless it is no valid header value or longer than Zendesk
// takes (255), which is replaced rather than sent again.
func idempotencyKey(form url.Values) string {
	if key := form.Get("idempotency_key"); key != "" && len(key) <= 255 && zendesk.ValidHeaderValue(key) {
		return key
	}
	return rand.Text()
}

// A form whose POST needs a new authorization first (the refresh token is
// spent, the scopes changed, the session is too old) was not sent to
// Zendesk: a redirect cannot repeat a POST. reauthorize keeps what the
// person typed with keepDraft, in a sealed cookie like the session's, and
// the form's page shows it again: only to the same person on the same
// Zendesk, once. Sign-out clears it.

const draftCookie = "draft"

// draft is what a person typed into the form at Path.
type draft struct {
	Path      string
	Subdomain string
	UserID    int64
	Form      url.Values // nil: not kept (too long for one cookie, or whose it is was unknown)
}

// keepDraft keeps the form of the POST r, by the person of session s, for
// the form's page. A draft fits one cookie, sealed, or its form is not
// kept: JSON escaping can make a form several times longer than it was
// posted, and a second cookie beside a large session would make the
// request headers too large for the proxy.
func (a *app) keepDraft(w http.ResponseWriter, r *http.Request, s *session) {
	d := draft{Path: r.URL.Path, Subdomain: s.Subdomain, UserID: s.UserID}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err == nil && s.UserID != 0 {
		d.Form = r.PostForm
	}
	expires := a.cfg.now().Add(flowLifetime)
	if sealed, err := a.cookies.Codec.Encode(a.cookies.Name(draftCookie), d, expires); err != nil || len(sealed) > securecookie.PartBytes {
		d.Form = nil
	}
	if err := a.cookies.Set(w, r, draftCookie, d, expires); err != nil {
		a.log.WarnContext(r.Context(), "keeping the form failed", "error", err)
	}
}

// takeDraft returns what the person of session s typed into this page's
// form before a new authorization, and what the page should say about it;
// ok is false when there is none. A draft is shown once, and never to
// another person.
func (a *app) takeDraft(w http.ResponseWriter, r *http.Request, s *session) (form url.Values, notice string, ok bool) {
	var d draft
	if found, _, err := a.cookies.Get(r, draftCookie, &d); !found || err != nil || d.Path != r.URL.Path {
		return nil, "", false
	}
	a.cookies.Clear(w, r, draftCookie)
	switch {
	case d.Subdomain != s.Subdomain || d.UserID != s.UserID:
		return nil, "", false
	case d.Form == nil:
		return url.Values{}, "You had to sign in again, so your form was not sent, and what you typed could not be kept. Please type it again.", true
	}
	return d.Form, "You had to sign in again, so your form was not sent. What you typed is below: check it and send it again.", true
}
