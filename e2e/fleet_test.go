package e2e

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"zendesk-oauth-app/internal/zendesksim"
)

// A fleet that behaves like one instance: three instances of the app
// behind nginx running deploy/nginx.conf, whose routing keeps one person's
// requests on one instance, so that what each instance does alone (one
// refresh per session, one token request per callback) holds for the
// fleet. The simulator's counts show it.

// person is a browser signing in through the fleet, with its own cookies
// and its own client address, so that each person has their own sign-in
// budget at nginx, as people do.
type person struct {
	f      *fleet
	jar    *cookiejar.Jar
	client *http.Client // with the jar; follows no redirect
	bare   *http.Client // the same connections, without the jar
	from   string       // the client address
}

func (f *fleet) newPerson(t *testing.T, from string) *person {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	transport := proxyTransport(t, f.certs, f.nginxPort, from)
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &person{
		f:      f,
		jar:    jar,
		client: &http.Client{Transport: transport, Jar: jar, Timeout: 10 * time.Second, CheckRedirect: noRedirect},
		bare:   &http.Client{Transport: transport, Timeout: 10 * time.Second, CheckRedirect: noRedirect},
		from:   from,
	}
}

// get fetches target with the person's cookies, or with exactly cookies
// when not nil (the jar neither sends nor keeps any then), and reads the
// whole answer.
func (p *person) get(target string, cookies []*http.Cookie) (*proxied, error) {
	req, err := http.NewRequest("GET", target, nil)
	if err != nil {
		return nil, err
	}
	client := p.client
	if cookies != nil {
		client = p.bare
		for _, c := range cookies {
			req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		}
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s from %s: %w", req.URL.Path, p.from, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("GET %s from %s: reading the body: %w", req.URL.Path, p.from, err)
	}
	r := &proxied{Response: resp, body: string(body)}
	if strings.HasPrefix(target, p.f.appURL) {
		via := strings.Split(resp.Header.Get("X-Upstream"), ", ")
		r.upstream = via[len(via)-1]
	}
	return r, nil
}

// open goes to target as a browser does: it follows redirects, through
// Zendesk's authorization when the app sends the person there, and
// answers a consent page with Allow. It returns every answer on the way,
// the page last.
func (p *person) open(target string) ([]*proxied, error) {
	var hops []*proxied
	for range 10 {
		r, err := p.get(target, nil)
		if err != nil {
			return hops, err
		}
		hops = append(hops, r)
		switch {
		case r.StatusCode == http.StatusOK && p.f.isAuthorize(target):
			if target, err = p.allow(target); err != nil {
				return hops, err
			}
		case r.StatusCode >= 300 && r.StatusCode < 400:
			next, err := r.Location()
			if err != nil {
				return hops, fmt.Errorf("GET %s: %v", r.Request.URL.Path, err)
			}
			target = next.String()
		default:
			return hops, nil
		}
	}
	return hops, fmt.Errorf("more than 10 hops from %s", hops[0].Request.URL)
}

// isAuthorize reports whether target is Zendesk's authorization page.
func (f *fleet) isAuthorize(target string) bool {
	return strings.HasPrefix(target, f.sim.URL+"/oauth/authorizations/new?")
}

// allow answers Zendesk's consent page with Allow, and returns the
// callback URL Zendesk sends the browser to.
func (p *person) allow(authorizeURL string) (string, error) {
	resp, err := p.client.PostForm(authorizeURL, url.Values{"decision": {"allow"}})
	if err != nil {
		return "", err
	}
	drain(resp)
	if resp.StatusCode != http.StatusFound {
		return "", fmt.Errorf("consent: status %d, want 302", resp.StatusCode)
	}
	return resp.Header.Get("Location"), nil
}

// signIn signs the person in, from the app's sign-in link to the profile.
func (p *person) signIn() error {
	hops, err := p.open(p.f.appURL + "/zendesk/auth")
	if err != nil {
		return err
	}
	if page := hops[len(hops)-1]; !greets(page) {
		return fmt.Errorf("sign-in from %s: status %d, want 200 and %q\n%s", p.from, page.StatusCode, greeting, page.body)
	}
	return nil
}

// startSignIn goes through the sign-in up to Zendesk's answer, and
// returns the callback URL without opening it; the flow cookie is in the
// jar.
func (p *person) startSignIn() (string, error) {
	start, err := p.get(p.f.appURL+"/zendesk/auth", nil)
	if err != nil {
		return "", err
	}
	authorize := start.Header.Get("Location")
	if start.StatusCode != http.StatusFound || !p.f.isAuthorize(authorize) {
		return "", fmt.Errorf("GET /zendesk/auth: status %d, Location %q, want 302 to Zendesk", start.StatusCode, authorize)
	}
	r, err := p.get(authorize, nil)
	switch {
	case err != nil:
		return "", err
	case r.StatusCode == http.StatusOK: // the consent page
		return p.allow(authorize)
	case r.StatusCode == http.StatusFound: // a grant Zendesk remembers
		return r.Header.Get("Location"), nil
	}
	return "", fmt.Errorf("Zendesk's authorization: status %d", r.StatusCode)
}

// home opens the profile, which must greet the person, and returns it.
func (p *person) home(t *testing.T) *proxied {
	t.Helper()
	r, err := p.get(p.f.appURL+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !greets(r) {
		t.Fatalf("GET / from %s via %q: status %d, want 200 and %q\n%s", p.from, r.Header.Get("X-Upstream"), r.StatusCode, greeting, r.body)
	}
	return r
}

// cookies are the cookies the person's browser holds for the app.
func (p *person) cookies() []*http.Cookie {
	u, _ := url.Parse(p.f.appURL)
	return p.jar.Cookies(u)
}

// keep stores the cookies an answer set, as the browser does with the
// answer it reads.
func (p *person) keep(r *proxied) {
	u, _ := url.Parse(p.f.appURL)
	p.jar.SetCookies(u, r.Cookies())
}

func greets(r *proxied) bool {
	return r.StatusCode == http.StatusOK && strings.Contains(r.body, greeting)
}

// kill ends the process at once, as a crash does.
func (p *process) kill() {
	p.stopped.Store(true) // no graceful stop when the test ends
	p.cmd.Process.Kill()
	<-p.exited
}

// counts returns how many more requests each endpoint got in after than
// in before, for the log and for messages.
func counts(before, after zendesksim.Stats) string {
	var s []string
	for _, e := range []zendesksim.Endpoint{zendesksim.Authorize, zendesksim.Exchange, zendesksim.Refresh, zendesksim.Me} {
		s = append(s, fmt.Sprintf("%s %d", e, after[e]-before[e]))
	}
	return strings.Join(s, ", ")
}

// TestFleet runs three instances behind deploy/nginx.conf. Eight pages
// sent at once with one expired session make one refresh; six copies of
// one callback make one token request; a flood of sign-ins from one
// address gets 429 from nginx while a person at another address signs in;
// when an instance stops, or crashes during a refresh, the others serve
// every request, and only a person whose refresh died with it signs in
// again, once.
func TestFleet(t *testing.T) {
	bin := requireNginx(t)
	// The crash below comes while Zendesk answers late. SlowDelay may
	// change only before the simulator serves, and is restored after it
	// closes.
	slow := zendesksim.SlowDelay
	t.Cleanup(func() { zendesksim.SlowDelay = slow })
	zendesksim.SlowDelay = time.Second
	f := startFleet(t, bin, 3, zendesksim.Options{})
	sim := f.sim

	// Each person has their own client address, 127.0.0.10 and up.
	people := 0
	newPerson := func(t *testing.T) *person {
		people++
		return f.newPerson(t, fmt.Sprintf("127.0.0.%d", 9+people))
	}
	// invalidGrants counts the refreshes Zendesk refused, from the
	// instances' logs.
	invalidGrants := func() int {
		n := 0
		for _, in := range f.instances {
			n += strings.Count(in.log.String(), "invalid_grant")
		}
		return n
	}

	t.Run("eight pages at once with one expired session", func(t *testing.T) {
		p := newPerson(t)
		if err := p.signIn(); err != nil {
			t.Fatal(err)
		}
		home := p.home(t).upstream
		sim.ExpireAccessTokens()
		before := sim.Stats()

		cookies := p.cookies()
		pages := make([]*proxied, 8)
		errs := make([]error, len(pages))
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range pages {
			wg.Go(func() {
				<-start
				pages[i], errs[i] = p.get(f.appURL+"/", cookies)
			})
		}
		close(start)
		wg.Wait()
		for i, r := range pages {
			switch {
			case errs[i] != nil:
				t.Error(errs[i])
			case !greets(r) || r.upstream != home:
				t.Errorf("page %d via %q: status %d, want 200 and %q from %s, the session's instance\n%s",
					i+1, r.Header.Get("X-Upstream"), r.StatusCode, greeting, home, r.body)
			}
		}
		after := sim.Stats()
		if after[zendesksim.Refresh]-before[zendesksim.Refresh] != 1 || after[zendesksim.Authorize] != before[zendesksim.Authorize] || invalidGrants() != 0 {
			t.Errorf("Zendesk saw %s, and %d invalid_grant; want 1 refresh, no authorization and no invalid_grant",
				counts(before, after), invalidGrants())
		}
		if errs[0] == nil {
			p.keep(pages[0])
		}
	})

	t.Run("six copies of one callback", func(t *testing.T) {
		p := newPerson(t)
		callback, err := p.startSignIn()
		if err != nil {
			t.Fatal(err)
		}
		cookies := p.cookies() // the flow cookie
		before := sim.Stats()

		answers := make([]*proxied, 6)
		errs := make([]error, len(answers))
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range answers {
			wg.Go(func() {
				<-start
				answers[i], errs[i] = p.get(callback, cookies)
			})
		}
		close(start)
		wg.Wait()
		signedIn, instances := 0, map[string]bool{}
		for i, r := range answers {
			switch {
			case errs[i] != nil:
				t.Error(errs[i])
				continue
			case greets(r):
				signedIn++
				p.keep(r)
			case r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, "Sign-in expired"):
				t.Errorf("copy %d: status %d, want the profile or 400 Sign-in expired\n%s", i+1, r.StatusCode, r.body)
			}
			instances[r.upstream] = true
		}
		after := sim.Stats()
		if signedIn != 1 || len(instances) != 1 || after[zendesksim.Exchange]-before[zendesksim.Exchange] != 1 {
			t.Errorf("six copies of the callback: %d signed in, served by %v, Zendesk saw %s; want one sign-in by one instance and 1 exchange",
				signedIn, slices.Sorted(maps.Keys(instances)), counts(before, after))
		}
	})

	t.Run("a flood of sign-ins from one address", func(t *testing.T) {
		_, burst := limitReq(t, "sign_in")
		flood := f.newPerson(t, "127.0.0.1")
		// The flood runs until a person at another address has signed
		// in, and at most burst+100 requests (it ends much sooner).
		var passed, refused int
		var floodErr error
		limited := make(chan struct{}) // closed at the flood's first 429
		stop, done := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(done)
			for range burst + 100 {
				select {
				case <-stop:
					return
				default:
				}
				r, err := flood.get(f.appURL+"/zendesk/auth", nil)
				switch {
				case err != nil:
					floodErr = err
					return
				case r.StatusCode == http.StatusFound:
					passed++
				case r.StatusCode == http.StatusTooManyRequests && r.Header.Get("X-Upstream") == "":
					if refused++; refused == 1 {
						if passed < burst+1 {
							floodErr = fmt.Errorf("429 after %d sign-in requests, within the burst of %d", passed, burst)
							return
						}
						close(limited)
					}
				default:
					floodErr = fmt.Errorf("status %d via %q, want 302 from the app or 429 from nginx", r.StatusCode, r.Header.Get("X-Upstream"))
					return
				}
			}
			if refused == 0 {
				floodErr = fmt.Errorf("%d requests, no 429", burst+100)
			}
		}()
		select {
		case <-limited:
		case <-done:
			t.Fatalf("the flood: %v", floodErr)
		}

		p := newPerson(t)
		err := p.signIn()
		close(stop)
		<-done
		if err != nil {
			t.Errorf("a person at %s, during the flood from 127.0.0.1: %v", p.from, err)
		}
		if floodErr != nil {
			t.Errorf("the flood: %v", floodErr)
		}
		t.Logf("the flood from 127.0.0.1: %d requests passed to the app (burst %d), %d refused with 429 by nginx", passed, burst, refused)
	})

	t.Run("an instance stops", func(t *testing.T) {
		// People until each instance serves two of them.
		var crowd []*person
		served := map[string]int{}
		for len(crowd) < 30 && (len(served) < len(f.instances) || slices.Min(slices.Collect(maps.Values(served))) < 2) {
			p := newPerson(t)
			if err := p.signIn(); err != nil {
				t.Fatal(err)
			}
			crowd = append(crowd, p)
			served[p.home(t).upstream]++
		}
		leaving := f.instances[0]
		if served[leaving.addr] < 2 {
			t.Fatalf("%d people, served by %v: want two on each instance", len(crowd), served)
		}
		before, grants := sim.Stats(), invalidGrants()

		// Everyone opens the profile again and again. Once each has seen it
		// twice, the access tokens expire (so the people refresh while the
		// fleet changes) and one instance stops, gracefully, as in a
		// deploy. Once each has seen it twice more after that, it ends.
		type visit struct {
			who   int
			after bool // began once the instance had stopped
			hops  []*proxied
			err   error
		}
		visits, quit := make(chan visit), make(chan struct{})
		var gone atomic.Bool
		var wg sync.WaitGroup
		for i, p := range crowd {
			wg.Go(func() {
				for {
					select {
					case <-quit:
						return
					default:
					}
					after := gone.Load()
					hops, err := p.open(f.appURL + "/")
					select {
					case visits <- visit{i, after, hops, err}:
					case <-quit:
						return
					}
				}
			})
		}
		signIns := make([]int, len(crowd))    // times sent through Zendesk's authorization
		onLeaving := make([]bool, len(crowd)) // a page of theirs went to the leaving instance
		pages := make([][2]int, len(crowd))   // pages seen before and after the stop
		var stopped chan error                // the stop's result, while it runs
		stopping := false
		deadline := time.After(20 * time.Second) // a bound for a broken run; it takes well under a second
	run:
		for {
			select {
			case v := <-visits:
				if v.err != nil {
					t.Errorf("person %d: %v", v.who+1, v.err)
				} else if page := v.hops[len(v.hops)-1]; !greets(page) {
					t.Errorf("person %d: GET / via %q: status %d, want 200 and %q\n%s", v.who+1, v.hops[0].Header.Get("X-Upstream"), page.StatusCode, greeting, page.body)
				}
				for _, h := range v.hops {
					// nginx may try the stopped instance first (X-Upstream
					// "stopped, other"), but never gets an answer from it.
					if strings.Contains(h.Header.Get("X-Upstream"), leaving.addr) {
						onLeaving[v.who] = true
					}
					if v.after && h.upstream == leaving.addr {
						t.Errorf("person %d: a page begun after %s stopped came from it", v.who+1, leaving.addr)
					}
					if f.isAuthorize(h.Request.URL.String()) {
						signIns[v.who]++
					}
				}
				if v.after {
					pages[v.who][1]++
				} else {
					pages[v.who][0]++
				}
				if !stopping && !slices.ContainsFunc(pages, func(n [2]int) bool { return n[0] < 2 }) {
					stopping = true
					sim.ExpireAccessTokens()
					stopped = make(chan error, 1)
					go func() { stopped <- leaving.stop() }()
				}
				if gone.Load() && !slices.ContainsFunc(pages, func(n [2]int) bool { return n[1] < 2 }) {
					break run
				}
			case err := <-stopped:
				if err != nil {
					t.Error(err)
				}
				gone.Store(true)
				stopped = nil
			case <-deadline:
				t.Errorf("the run did not end within 20 s: pages before and after the stop %v", pages)
				break run
			}
		}
		close(quit)
		wg.Wait()

		moved := 0
		for i := range crowd {
			if onLeaving[i] {
				moved++
			}
			limit := 0 // a person elsewhere has no reason to sign in again
			if onLeaving[i] {
				limit = 1
			}
			if signIns[i] > limit {
				t.Errorf("person %d (on %s: %v) signed in again %d times, want at most %d", i+1, leaving.addr, onLeaving[i], signIns[i], limit)
			}
		}
		after := sim.Stats()
		t.Logf("%d people, %d of them on %s; Zendesk saw %s; %d invalid_grant", len(crowd), moved, leaving.addr, counts(before, after), invalidGrants()-grants)
		if moved == 0 {
			t.Errorf("no page went to %s before it stopped", leaving.addr)
		}
	})

	t.Run("an instance crashes during a refresh", func(t *testing.T) {
		p := newPerson(t)
		if err := p.signIn(); err != nil {
			t.Fatal(err)
		}
		crashing := f.instance(t, p.home(t).upstream)
		if crashing.stopped.Load() {
			t.Fatalf("the page came from %s, which had stopped", crashing.addr)
		}

		// The instance refreshes the person's tokens, then waits for
		// Zendesk's late answer to users/me with the new one, and dies
		// then: Zendesk has rotated the pair, and the browser never gets
		// the new one. (Slow makes both users/me calls late: the one with
		// the expired token, then the one after the refresh.)
		sim.ExpireAccessTokens()
		sim.Inject(zendesksim.Me, zendesksim.Slow, 2)
		before := sim.Stats()
		type visit struct {
			hops []*proxied
			err  error
		}
		visited := make(chan visit, 1)
		go func() {
			hops, err := p.open(f.appURL + "/")
			visited <- visit{hops, err}
		}()
		if !poll(10*time.Second, 2*time.Millisecond, func() bool {
			return sim.Stats()[zendesksim.Me] >= before[zendesksim.Me]+2
		}) {
			t.Fatalf("%s did not refresh and ask for the person again: Zendesk saw %s", crashing.addr, counts(before, sim.Stats()))
		}
		crashing.kill()

		// nginx passes the GET to another instance, whose refresh of the
		// old pair Zendesk refuses: the person goes through Zendesk's
		// authorization once, without a prompt, and gets the page.
		v := <-visited
		if v.err != nil {
			t.Fatal(v.err)
		}
		first, page := v.hops[0], v.hops[len(v.hops)-1]
		if via := strings.Split(first.Header.Get("X-Upstream"), ", "); !slices.Contains(via, crashing.addr) || f.instance(t, first.upstream).stopped.Load() {
			t.Errorf("the page in flight came via %q, want %s then an instance still running", first.Header.Get("X-Upstream"), crashing.addr)
		}
		after := sim.Stats()
		t.Logf("the page in flight at %s: %d hops, Zendesk saw %s", crashing.addr, len(v.hops), counts(before, after))
		if !greets(page) || after[zendesksim.Authorize]-before[zendesksim.Authorize] > 1 {
			t.Errorf("after the crash: status %d, Zendesk saw %s; want 200 and %q, and at most one authorization\n%s",
				page.StatusCode, counts(before, after), greeting, page.body)
		}

		// The one instance left serves the person again, with no further
		// sign-in.
		before = sim.Stats()
		if r := p.home(t); r.upstream == crashing.addr || f.instance(t, r.upstream).stopped.Load() {
			t.Errorf("GET / came via %q, an instance that is gone", r.Header.Get("X-Upstream"))
		}
		if after := sim.Stats(); after[zendesksim.Authorize] != before[zendesksim.Authorize] {
			t.Errorf("the next page sent the person through Zendesk again: %s", counts(before, after))
		}
	})
}
