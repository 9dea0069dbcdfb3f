package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"zendesk-oauth-app/internal/zendesksim"
)

// What deploy/nginx.conf lets through to the app, and what it stops: a
// form as large as the app accepts and a browser's Origin reach the app;
// one address's flood of any path gets 429 from nginx, while a person's
// burst of pages does not.

// appFormBytes is the largest form body the app reads: maxFormBytes in
// the app's form.go (64 << 10). nginx's client_max_body_size must let it
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

// TestNginxClientLimit checks deploy/nginx.conf's limit on every path per
// client address. A person signs in, opens a dozen of the app's tabs at
// once, and signs out: no 429. A script then replays the dead session to
// GET / from another address, twice past the burst: nginx answers 429
// once the burst is spent, and each request that reached the app made it
// ask Zendesk for tokens. /healthz is not limited, so that a load
// balancer's checks never get 429.
func TestNginxClientLimit(t *testing.T) {
	bin := requireNginx(t)
	rate, burst := limitReq(t, "client")
	f := startFleet(t, bin, 1, zendesksim.Options{})
	sim := f.sim
	p := f.newPerson(t, "127.0.0.20")

	// fromApp checks that an answer came from the app, not from nginx.
	fromApp := func(t *testing.T, who string, r *proxied, err error) {
		t.Helper()
		switch {
		case err != nil:
			t.Errorf("%s: %v", who, err)
		case r.upstream == "":
			t.Errorf("%s %s: status %d from nginx, want the app's answer\n%s", who, r.Request.URL.Path, r.StatusCode, r.body)
		}
	}

	var dead []*http.Cookie
	t.Run("a person's dozen tabs", func(t *testing.T) {
		if err := p.signIn(); err != nil {
			t.Fatal(err)
		}
		// A browser restoring a dozen tabs of the app: each loads the page,
		// its stylesheet and the icon.
		var wg sync.WaitGroup
		for tab := range 12 {
			wg.Go(func() {
				for _, path := range []string{"/", "/static/style.css", "/favicon.ico"} {
					r, err := p.get(f.appURL+path, nil)
					fromApp(t, fmt.Sprintf("tab %d", tab+1), r, err)
				}
			})
		}
		wg.Wait()
		dead = p.cookies()
		r, err := p.post(f.appURL+"/zendesk/logout", "", http.Header{"Origin": {f.appURL}, "Sec-Fetch-Site": {"same-origin"}})
		fromApp(t, "sign-out", r, err)
		if err == nil && r.StatusCode != http.StatusSeeOther {
			t.Errorf("sign-out: status %d, want 303\n%s", r.StatusCode, r.body)
		}
	})
	if len(dead) == 0 {
		t.Fatal("the person had no cookies to replay")
	}

	t.Run("a script replays the dead session to GET /", func(t *testing.T) {
		script := f.newPerson(t, "127.0.0.21")
		before := sim.Stats()
		requests := 2 * (burst + 1)
		passed, refused := 0, 0
		begin := time.Now()
		for i := range requests {
			r, err := script.get(f.appURL+"/", dead)
			switch {
			case err != nil:
				t.Fatal(err)
			case r.upstream != "":
				passed++
			case r.StatusCode != http.StatusTooManyRequests:
				t.Fatalf("request %d: status %d from nginx, want the app's answer or 429\n%s", i+1, r.StatusCode, r.body)
			case i < burst+1:
				t.Fatalf("request %d: 429 within the burst of %d", i+1, burst)
			default:
				refused++
			}
		}
		elapsed := time.Since(begin)
		after := sim.Stats()
		t.Logf("%d requests in %v: %d reached the app, %d refused with 429 by nginx (rate %v/s, burst %d); Zendesk saw %s",
			requests, elapsed.Round(time.Millisecond), passed, refused, rate, burst, counts(before, after))

		// A fresh address gets the whole burst, then the rate: over the
		// run's time, nginx's clock (in milliseconds) cannot have refilled
		// more than rate × elapsed, give or take one.
		if most := burst + 1 + int(rate*elapsed.Seconds()) + 1; passed < burst+1 || passed > most {
			t.Errorf("%d of %d requests from one address reached the app, want between %d and %d", passed, requests, burst+1, most)
		}
		if refused == 0 {
			t.Errorf("%d requests from one address in %v, no 429", requests, elapsed)
		}
		// deploy/nginx.conf says so: the replica that signed the person out
		// remembers the tokens it revoked, and every copy of the cookie
		// reaches it, so the replays cost Zendesk nothing.
		if n := requestsBetween(before, after); n > 0 {
			t.Errorf("Zendesk saw %d requests for the %d replays of a signed-out session that reached the app, want none: %s", n, passed, counts(before, after))
		}

		// The person's address has its own budget.
		r, err := p.get(f.appURL+"/", nil)
		fromApp(t, "the person after the script", r, err)
	})

	t.Run("/healthz is not limited", func(t *testing.T) {
		checker := f.newPerson(t, "127.0.0.22")
		for i := range 2 * (burst + 1) {
			r, err := checker.get(f.appURL+"/healthz", nil)
			fromApp(t, fmt.Sprintf("GET /healthz %d", i+1), r, err)
			if err != nil || r.upstream == "" {
				return
			}
		}
		// Nor counted: the address still has its whole burst.
		for i := range burst + 1 {
			r, err := checker.get(f.appURL+"/", nil)
			fromApp(t, fmt.Sprintf("GET / %d after the checks", i+1), r, err)
			if err != nil || r.upstream == "" {
				return
			}
		}
	})
}

// limitReq returns the rate (requests a second) of deploy/nginx.conf's
// limit_req_zone called zone, and the burst of the limit_req that uses it.
func limitReq(t *testing.T, zone string) (rate float64, burst int) {
	t.Helper()
	zoneArgs := regexp.MustCompile(`\bzone=` + zone + `:\S+ rate=(\d+)r/([sm])\b`)
	var zones []string
	for _, args := range deployDirectives(t, "limit_req_zone") {
		if m := zoneArgs.FindStringSubmatch(args); m != nil {
			zones = append(zones, args)
			n, _ := strconv.Atoi(m[1])
			rate = float64(n)
			if m[2] == "m" {
				rate /= 60
			}
		}
	}
	if len(zones) != 1 {
		t.Fatalf("deploy/nginx.conf has %d limit_req_zone with zone=%s and a rate, want 1: %q", len(zones), zone, zones)
	}
	limitArgs := regexp.MustCompile(`^zone=` + zone + `\b.*\bburst=(\d+)\b`)
	var limits []string
	for _, args := range deployDirectives(t, "limit_req") {
		if m := limitArgs.FindStringSubmatch(args); m != nil {
			limits = append(limits, args)
			burst, _ = strconv.Atoi(m[1])
		}
	}
	if len(limits) != 1 {
		t.Fatalf("deploy/nginx.conf has %d limit_req with zone=%s and a burst, want 1: %q", len(limits), zone, limits)
	}
	return rate, burst
}

// TestDeploymentDocBudgets checks that the table of rate limits in
// docs/deployment.md gives each budget's rate and burst as
// deploy/nginx.conf does.
func TestDeploymentDocBudgets(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "deployment.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, zone := range []string{"client", "sign_in"} {
		rate, burst := limitReq(t, zone)
		row := regexp.MustCompile("(?m)^\\| `" + zone + "` \\|[^|\\n]*\\| ([^|\\n]*) \\| ([^|\\n]*) \\|").FindSubmatch(doc)
		wantRate, wantBurst := fmt.Sprintf("%v a second", rate), strconv.Itoa(burst)
		if row == nil || string(row[1]) != wantRate || string(row[2]) != wantBurst {
			t.Errorf("docs/deployment.md: the row of budget %s gives %q, want rate %q and burst %q as deploy/nginx.conf", zone, row, wantRate, wantBurst)
		}
	}
}

// requestsBetween counts the requests Zendesk received from before to
// after, consent pages aside (they are authorization requests, counted).
func requestsBetween(before, after zendesksim.Stats) int {
	n := 0
	for endpoint, count := range after {
		if endpoint != zendesksim.Consent {
			n += count - before[endpoint]
		}
	}
	return n
}
