package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"zendesk-oauth-app/internal/zendesksim"
)

// What deploy/nginx.conf lets through to the app: a form as large as the
// app accepts, and a browser's Origin.

// appFormBytes is the largest form body the app reads: maxFormBytes in
// the app's draft.go (64 << 10). nginx's client_max_body_size must let it
// through, or a person's form gets nginx's 413 and loses what was typed.
const appFormBytes = 64 << 10

// post sends a POST with body as a form, from the person's address, with
// the person's cookies, and the extra headers given; it reads the whole
// answer.
func (p *person) post(target, body string, header http.Header) (*proxied, error) {
	req, err := http.NewRequest("POST", target, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("POST %s from %s: %w", req.URL.Path, p.from, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("POST %s from %s: reading the body: %w", req.URL.Path, p.from, err)
	}
	via := strings.Split(resp.Header.Get("X-Upstream"), ", ")
	return &proxied{Response: resp, body: string(b), upstream: via[len(via)-1]}, nil
}

// TestNginxFormPosts posts forms through deploy/nginx.conf, listening on a
// port other than 443 as the tests' nginx does: one as large as the app
// accepts reaches the app, and so does a browser's POST that carries
// Origin but no Sec-Fetch-Site, which the app compares with the Host
// header. Another site's Origin is still refused. The binary's one POST
// route, sign-out, answers 303 whatever the form holds.
func TestNginxFormPosts(t *testing.T) {
	bin := requireNginx(t)
	f := startFleet(t, bin, 1, zendesksim.Options{})
	p := f.newPerson(t, "127.0.0.20")
	logout := f.appURL + "/zendesk/logout"

	t.Run("a form of the app's largest size", func(t *testing.T) {
		field := "note="
		body := field + strings.Repeat("a", appFormBytes-len(field))
		// What a browser adds to the app's own form submission.
		r, err := p.post(logout, body, http.Header{"Origin": {f.appURL}, "Sec-Fetch-Site": {"same-origin"}})
		if err != nil {
			t.Fatal(err)
		}
		if r.StatusCode != http.StatusSeeOther || r.upstream == "" {
			t.Errorf("POST /zendesk/logout with a %d-byte form: status %d via %q, want the app's 303 (client_max_body_size %s)\n%s",
				len(body), r.StatusCode, r.Header.Get("X-Upstream"), deployDirective(t, "client_max_body_size"), r.body)
		}
	})

	t.Run("Origin with nginx's port, no Sec-Fetch-Site", func(t *testing.T) {
		// A browser that sends no Sec-Fetch-Site (older ones) is judged by
		// Origin, which names the port the browser used.
		r, err := p.post(logout, "", http.Header{"Origin": {f.appURL}})
		if err != nil {
			t.Fatal(err)
		}
		if r.StatusCode != http.StatusSeeOther || r.upstream == "" {
			t.Errorf("POST /zendesk/logout with Origin %s: status %d via %q, want the app's 303: nginx's Host header must keep the port\n%s",
				f.appURL, r.StatusCode, r.Header.Get("X-Upstream"), r.body)
		}
	})

	t.Run("another site's Origin, no Sec-Fetch-Site", func(t *testing.T) {
		other := "https://evil.example:" + f.nginxPort
		r, err := p.post(logout, "", http.Header{"Origin": {other}})
		if err != nil {
			t.Fatal(err)
		}
		if r.StatusCode != http.StatusForbidden || r.upstream == "" {
			t.Errorf("POST /zendesk/logout with Origin %s: status %d via %q, want the app's 403\n%s", other, r.StatusCode, r.Header.Get("X-Upstream"), r.body)
		}
	})
}
