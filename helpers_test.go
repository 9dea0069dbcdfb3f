package main

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"zendesk-oauth-app/internal/securecookie"
	"zendesk-oauth-app/internal/zendesksim"
)

// fakeClock is a clock tests move by hand: expiry is tested without sleeps.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// syncBuffer collects log output from concurrent requests.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

const testSessionSecret = "test-session-secret-0123456789abcdef"

// env is the app and the Zendesk simulator, each behind a real HTTP server.
type env struct {
	t        testing.TB
	sim      *zendesksim.Server
	app      *app
	server   *httptest.Server
	logs     *syncBuffer
	appClock *fakeClock // the app's clock and Zendesk's are separate, as in life
	simClock *fakeClock
	handler  atomic.Pointer[http.Handler] // what the server serves: the app's routes
	pages    func(*app) []route           // a test's own pages (pageEnv)
}

// serve makes the server serve h from now on.
func (e *env) serve(h http.Handler) { e.handler.Store(&h) }

type envOptions struct {
	vars      map[string]string  // settings; defaults below
	sim       zendesksim.Options // ClientID, ClientSecret and RedirectURIs are filled in; API is added to simulatedAPI
	tls       bool               // serve the app over https
	configure func(*config)      // adjust the configuration after loading
}

// newEnv starts the simulator and the app. By default the app signs in to
// acme.zendesk.com as a confidential client.
func newEnv(t testing.TB, opts envOptions) *env {
	t.Helper()
	e := &env{t: t, logs: &syncBuffer{}, appClock: newFakeClock(), simClock: newFakeClock()}

	serve := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*e.handler.Load()).ServeHTTP(w, r) })
	if opts.tls {
		e.server = httptest.NewTLSServer(serve)
	} else {
		e.server = httptest.NewServer(serve)
	}
	t.Cleanup(e.server.Close)

	vars := map[string]string{
		"ZENDESK_SUBDOMAIN":     "acme",
		"ZENDESK_CLIENT_ID":     "test-client",
		"ZENDESK_CLIENT_SECRET": "test-client-secret",
		"APP_URL":               e.server.URL,
		"SESSION_SECRET":        testSessionSecret,
	}
	for k, v := range opts.vars {
		vars[k] = v
	}
	simOpts := opts.sim
	// The app's simulated endpoints, and the test's: a test's entry takes
	// the place of the app's with the same pattern.
	simOpts.API = slices.DeleteFunc(slices.Clone(simulatedAPI), func(app zendesksim.API) bool {
		return slices.ContainsFunc(opts.sim.API, func(own zendesksim.API) bool { return own.Pattern == app.Pattern })
	})
	simOpts.API = append(simOpts.API, opts.sim.API...)
	simOpts.ClientID = vars["ZENDESK_CLIENT_ID"]
	simOpts.ClientSecret = vars["ZENDESK_CLIENT_SECRET"]
	simOpts.RedirectURIs = []string{vars["APP_URL"] + "/zendesk/oauth/callback"}
	if simOpts.Now == nil {
		simOpts.Now = e.simClock.Now
	}
	e.sim = zendesksim.NewServer(simOpts)
	t.Cleanup(e.sim.Close)
	if _, set := opts.vars["ZENDESK_BASE_URL"]; !set {
		vars["ZENDESK_BASE_URL"] = e.sim.URL
	}

	cfg, err := loadConfig(vars, false)
	if err != nil {
		t.Fatalf("loadConfig: %v", err)
	}
	cfg.now = e.appClock.Now
	if opts.configure != nil {
		opts.configure(cfg)
	}
	e.app, err = newApp(cfg, slog.New(slog.NewTextHandler(e.logs, nil)))
	if err != nil {
		t.Fatalf("newApp: %v", err)
	}
	e.serve(e.app.handler(e.app.routes()))
	return e
}

// withRoutes is a's handler with pages of a test's own mounted beside the
// app's, as a line in routes() would mount them; a test's route takes the
// place of the app's for the same method and path.
func withRoutes(a *app, extra ...route) http.Handler {
	routes := slices.DeleteFunc(a.routes(), func(app route) bool {
		return slices.ContainsFunc(extra, func(own route) bool { return own.method == app.method && own.path == app.path })
	})
	return a.handler(append(routes, extra...))
}

// olderScopes are the scopes of a sign-in from before a team added the
// scopes of its own pages: what the app asks for out of the box.
const olderScopes = showSelfScope

// withScopes is e's app as it starts with ZENDESK_SCOPES set to scopes.
func withScopes(t *testing.T, e *env, scopes string) *app {
	t.Helper()
	cfg := *e.app.cfg
	cfg.scopes = scopes
	a, err := newApp(&cfg, e.app.log)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// pageEnv is the app with a team's pages mounted as lines in routes()
// would mount them, asking for scopes, against a simulator that also
// serves api, as entries in simulatedAPI would.
func pageEnv(t *testing.T, scopes string, api []zendesksim.API, pages func(*app) []route) *env {
	t.Helper()
	e := newEnv(t, envOptions{vars: map[string]string{"ZENDESK_SCOPES": scopes}, sim: zendesksim.Options{API: api}})
	e.pages = pages
	e.serve(withRoutes(e.app, pages(e.app)...))
	return e
}

// restart starts the app again with other scopes, as after a team changes
// ZENDESK_SCOPES or defaultScopes, its pages mounted.
func (e *env) restart(scopes string) *app {
	e.t.Helper()
	a := withScopes(e.t.(*testing.T), e, scopes)
	var pages []route
	if e.pages != nil {
		pages = e.pages(a)
	}
	e.serve(withRoutes(a, pages...))
	return a
}

// intercept puts h between the app and the simulator: h answers the
// requests it wants to, and returns false to let Zendesk answer.
func (e *env) intercept(h func(w http.ResponseWriter, r *http.Request) bool) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !h(w, r) {
			e.sim.ServeHTTP(w, r)
		}
	}))
	e.t.Cleanup(upstream.Close)
	e.app.zendesk.BaseURL = func(string) string { return upstream.URL }
}

// advance moves the app's clock and Zendesk's together.
func (e *env) advance(d time.Duration) {
	e.appClock.Advance(d)
	e.simClock.Advance(d)
}

// browser is an HTTP client with a cookie jar that does not follow
// redirects, so tests see every hop.
type browser struct {
	t      testing.TB
	client *http.Client
	env    *env
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	client := e.server.Client()
	client = &http.Client{
		Transport:     client.Transport,
		Jar:           jar,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &browser{t: e.t, client: client, env: e}
}

type response struct {
	*http.Response
	body string
}

func (b *browser) do(req *http.Request) *response {
	b.t.Helper()
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatalf("%s %s: reading body: %v", req.Method, req.URL.Path, err)
	}
	return &response{Response: resp, body: string(body)}
}

// get fetches a path of the app, or an absolute URL.
func (b *browser) get(target string) *response {
	b.t.Helper()
	req, err := http.NewRequest("GET", b.abs(target), nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

// post sends a form as a browser on the app's own page would (same origin).
func (b *browser) post(target string, form url.Values) *response {
	b.t.Helper()
	req, err := http.NewRequest("POST", b.abs(target), strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.do(req)
}

func (b *browser) abs(target string) string {
	if strings.HasPrefix(target, "/") {
		return b.env.server.URL + target
	}
	return target
}

// authorize starts a sign-in and answers Zendesk's consent page with
// decision ("allow" or "deny"), as the account's first user (John Doe, an
// admin); it returns the callback URL Zendesk sends the browser to.
func (b *browser) authorize(authPath, decision string) string {
	b.t.Helper()
	return b.authorizeAs(authPath, decision, 0)
}

// authorizeAs is authorize as the simulator's user with that id (0: the
// first), chosen on the consent page.
func (b *browser) authorizeAs(authPath, decision string, userID int64) string {
	b.t.Helper()
	start := b.get(authPath)
	if start.StatusCode != http.StatusFound {
		b.t.Fatalf("GET %s: status %d, want 302\n%s", authPath, start.StatusCode, start.body)
	}
	form := url.Values{"decision": {decision}}
	if userID != 0 {
		form.Set("user", strconv.FormatInt(userID, 10))
	}
	consent := b.post(start.Header.Get("Location"), form)
	if consent.StatusCode != http.StatusFound {
		b.t.Fatalf("consent: status %d, want 302\n%s", consent.StatusCode, consent.body)
	}
	return consent.Header.Get("Location")
}

// signIn goes through the whole flow and returns the profile page.
func (b *browser) signIn() *response {
	b.t.Helper()
	page := b.get(b.authorize("/zendesk/auth", "allow"))
	if page.StatusCode != http.StatusOK {
		b.t.Fatalf("callback: status %d, want 200\n%s", page.StatusCode, page.body)
	}
	return page
}

// allowAgain is what a person does when the app sends them through
// Zendesk's authorization again (resp is the app's redirect): Allow on
// the consent page, if Zendesk shows one, and back to the app's page.
func (b *browser) allowAgain(resp *response) *response {
	b.t.Helper()
	page := b.follow(resp)
	if strings.HasPrefix(page.Request.URL.String(), b.env.sim.URL) {
		page = b.follow(b.post(page.Request.URL.String(), url.Values{"decision": {"allow"}}))
	}
	return page
}

// cookie returns the browser's cookie with that name for the app, or nil.
func (b *browser) cookie(name string) *http.Cookie {
	u, _ := url.Parse(b.env.server.URL)
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// flowCookie returns the browser's cookie of its newest sign-in in
// progress, or nil.
func (b *browser) flowCookie() *http.Cookie {
	u, _ := url.Parse(b.env.server.URL)
	var newest *http.Cookie
	for _, c := range b.client.Jar.Cookies(u) {
		if strings.HasPrefix(c.Name, flowCookie) {
			newest = c
		}
	}
	return newest
}

// session opens the browser's session cookies the way the app does.
func (b *browser) session() session {
	b.t.Helper()
	var s session
	if found, _, err := b.env.app.cookies.Get(b.request("/"), sessionCookie, &s); !found || err != nil {
		b.t.Fatalf("no session cookie that opens (found %v): %v", found, err)
	}
	return s
}

// request is a GET of path with the browser's cookies for the app, to
// hand to a handler directly.
func (b *browser) request(path string) *http.Request {
	u, _ := url.Parse(b.env.server.URL)
	req := httptest.NewRequest("GET", path, nil)
	for _, c := range b.client.Jar.Cookies(u) {
		req.AddCookie(c)
	}
	return req
}

// follow follows redirects from resp as a browser does, at most ten, and
// returns the last answer. It answers no consent page: a journey that
// meets one stops there.
func (b *browser) follow(resp *response) *response {
	b.t.Helper()
	for range 10 {
		if resp.StatusCode < 300 || resp.StatusCode > 399 {
			return resp
		}
		resp = b.get(resp.Header.Get("Location"))
	}
	b.t.Fatalf("more than ten redirects, the last to %s", resp.Header.Get("Location"))
	return nil
}

// setCookie replaces the browser's cookie of that name for the app.
func (b *browser) setCookie(name, value string) {
	u, _ := url.Parse(b.env.server.URL)
	b.client.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
}

func setCookieHeader(resp *response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func mustContain(t *testing.T, body string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q:\n%s", want, body)
		}
	}
}

// sealString is what the codec c makes of v for the cookie name.
func sealString(c *securecookie.Codec, name string, v any, expires time.Time) string {
	value, err := c.Encode(name, v, expires)
	if err != nil {
		panic(err)
	}
	return value
}
