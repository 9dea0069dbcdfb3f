package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"zendesk-oauth-app/internal/zendesksim"
)

// The settings every test gives the app, and the simulator's client.
const (
	testClientID      = "test-client"
	testClientSecret  = "test-client-secret"
	testSessionSecret = "test-session-secret-0123456789abcdef"
	greeting          = "Hi, John Doe!" // the profile page for the simulator's user
)

// appEnv is the app's whole environment for signing in to acme.zendesk.com,
// simulated at simURL, as a confidential client, at http://localhost:port.
func appEnv(port, simURL string) map[string]string {
	return map[string]string{
		"PORT":                  port,
		"APP_URL":               "http://localhost:" + port,
		"ZENDESK_SUBDOMAIN":     "acme",
		"ZENDESK_CLIENT_ID":     testClientID,
		"ZENDESK_CLIENT_SECRET": testClientSecret,
		"ZENDESK_SCOPES":        "users:read",
		"SESSION_SECRET":        testSessionSecret,
		"ZENDESK_BASE_URL":      simURL,
	}
}

// goBuild builds the package pkg, a path relative to the module root, into
// dir/name, and returns the binary's path. It runs the go command that
// runs the tests ("go test" puts its own GOROOT/bin first in PATH), with
// the tests' environment, so GOTOOLCHAIN and GOFLAGS are the same too.
func goBuild(dir, name, pkg string) (string, error) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("building %s: %w", pkg, err)
	}
	out := filepath.Join(dir, name)
	cmd := exec.Command(goCmd, "build", "-o", out, pkg)
	cmd.Dir = ".." // the module root: tests run in the package's folder
	if output, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build -o %s %s: %v\n%s", out, pkg, err, output)
	}
	return out, nil
}

var ports = struct {
	sync.Mutex
	given map[int]bool
}{given: map[int]bool{}}

// freePort returns a TCP port that is free on every interface, for a
// process that will listen on it. The port is picked below the kernel's
// range for outgoing connections (ip_local_port_range), because a port from
// that range, closed again to hand it over, can be taken as the local port
// of any new outgoing connection before the process binds it; and the test
// makes many connections. No port is given twice in one test run.
func freePort(tb testing.TB) string {
	tb.Helper()
	lowest, first := 10000, ephemeralStart()
	ports.Lock()
	defer ports.Unlock()
	for range 100 {
		p := 0 // any port, when the ephemeral range leaves no room below it
		if first > lowest {
			p = lowest + rand.IntN(first-lowest)
		}
		if ports.given[p] {
			continue
		}
		l, err := net.Listen("tcp", ":"+strconv.Itoa(p))
		if err != nil {
			continue
		}
		p = l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !ports.given[p] {
			ports.given[p] = true
			return strconv.Itoa(p)
		}
	}
	tb.Fatal("found no free TCP port in 100 tries")
	return ""
}

// ephemeralStart is the first port the kernel gives outgoing connections.
func ephemeralStart() int {
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				return n
			}
		}
	}
	return 32768 // Linux's default
}

// syncBuffer collects a process's output, written from another goroutine.
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

// process is a built binary running as a child of the test process.
type process struct {
	name    string
	addr    string        // 127.0.0.1:PORT; it listens on PORT on every interface
	log     *syncBuffer   // stdout and stderr: for the app, its slog lines
	startup time.Duration // from exec until it answered its readiness check
	cmd     *exec.Cmd
	exited  chan struct{} // closed once it has exited
	waitErr error         // how it exited, once exited is closed

	killedOK bool // being killed by SIGTERM is a normal end (the tutorial's app)
	stopOnce sync.Once
	stopped  atomic.Bool // stop was called: its caller reports its error
	stopErr  error
}

// startApp runs the app with exactly the environment env (plus PORT when
// env lacks it) and waits until GET /healthz answers 200. It fails the
// test if the app does not start; it stops the app when the test ends, and
// fails the test if the app does not then exit cleanly. The app's log is
// printed when the test fails.
func startApp(tb testing.TB, env map[string]string) *process {
	tb.Helper()
	return startProcess(tb, "app", appBinary, env, "/healthz", false)
}

// startWithZendesk starts a simulated Zendesk and the app, signing in to
// it as acme's confidential client at http://localhost:PORT: the app, its
// URL and the simulator.
func startWithZendesk(t *testing.T) (app *process, appURL string, sim *zendesksim.Server) {
	t.Helper()
	port := freePort(t)
	appURL = "http://localhost:" + port
	sim = zendesksim.NewServer(zendesksim.Options{
		ClientID:     testClientID,
		ClientSecret: testClientSecret,
		RedirectURIs: []string{appURL + "/zendesk/oauth/callback"},
	})
	t.Cleanup(sim.Close)
	return startApp(t, appEnv(port, sim.URL)), appURL, sim
}

// startProcess runs binary with exactly the environment env, in an empty
// folder (so no .env file is read), and waits until GET ready answers 200.
func startProcess(tb testing.TB, name, binary string, env map[string]string, ready string, killedOK bool) *process {
	tb.Helper()
	sourcesOnce.Do(statSources)
	env = cloneMap(env)
	if env["PORT"] == "" {
		env["PORT"] = freePort(tb)
	}
	var environ []string
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	slices.Sort(environ)

	p := &process{
		name:     name + " on port " + env["PORT"],
		addr:     "127.0.0.1:" + env["PORT"],
		log:      &syncBuffer{},
		exited:   make(chan struct{}),
		killedOK: killedOK,
	}
	p.cmd = exec.Command(binary)
	p.cmd.Env = environ
	p.cmd.Dir = tb.TempDir()
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	begin := time.Now()
	if err := p.cmd.Start(); err != nil {
		tb.Fatalf("starting %s: %v", p.name, err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	tb.Cleanup(func() {
		if !p.stopped.Load() {
			if err := p.stop(); err != nil {
				tb.Error(err)
			}
		}
		if tb.Failed() {
			tb.Logf("log of %s:\n%s", p.name, p.log)
		}
	})

	// Under the name of APP_URL in most tests: the app redirects any other
	// loopback name to it.
	ready = "http://localhost:" + env["PORT"] + ready
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	if err := waitUntilOK(client, ready, 10*time.Second, p.exited); err != nil {
		tb.Fatalf("%s: GET %s: %v (exit: %v)\n%s", p.name, ready, err, p.waitErr, p.log)
	}
	p.startup = time.Since(begin)
	return p
}

// waitUntilOK polls GET url until it answers 200, for at most timeout. It
// gives up at once when exited is closed: the process died.
func waitUntilOK(client *http.Client, url string, timeout time.Duration, exited <-chan struct{}) error {
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-exited:
			return errors.New("the process exited")
		default:
		}
		resp, err := client.Get(url)
		if err == nil {
			drain(resp)
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no 200 within %v (last: %v)", timeout, err)
		}
		time.Sleep(2 * time.Millisecond) // a pace, not a wait for an event
	}
}

var sourcesOnce sync.Once

// statSources stats every file of the module. go test caches a package's
// result against its test binary and the files its tests read. The app is
// not in this package's test binary (TestMain builds it with the go
// command), so without this an edit to the app would leave these suites'
// cached "ok" standing. It must run within a test: go test records only
// what tests read, not what TestMain does before them.
func statSources() {
	filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
		case path != ".." && strings.HasPrefix(d.Name(), "."):
			if d.IsDir() {
				return filepath.SkipDir // .git and the like
			}
		case !d.IsDir():
			os.Stat(path)
		}
		return nil
	})
}

// stop sends SIGTERM and waits for the process to exit, at most 15 s
// before killing it. It returns an error for an unclean exit, for its
// caller to report (the test's cleanup reports it when nobody called
// stop). Calling it again returns the same result.
func (p *process) stop() error {
	p.stopped.Store(true)
	p.stopOnce.Do(func() {
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(15 * time.Second):
			p.cmd.Process.Kill()
			<-p.exited
			p.stopErr = fmt.Errorf("%s was still running 15 s after SIGTERM: killed", p.name)
			return
		}
		var exit *exec.ExitError
		if errors.As(p.waitErr, &exit) && p.killedOK {
			if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGTERM {
				return
			}
		}
		if p.waitErr != nil {
			p.stopErr = fmt.Errorf("%s exited with %v after SIGTERM", p.name, p.waitErr)
		}
	})
	return p.stopErr
}

func cloneMap(m map[string]string) map[string]string {
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// poll calls cond every interval until it holds, for at most timeout.
func poll(timeout, interval time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(timeout); !cond(); time.Sleep(interval) {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}

// newClient is a browser without a cookie jar that follows no redirects,
// so a test sees every hop, and keeps up to idle connections per host.
func newClient(tb testing.TB, idle int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = idle
	tb.Cleanup(t.CloseIdleConnections)
	return &http.Client{
		Transport:     t,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// signInFlow is one person's sign-in, driven by hand: GET /zendesk/auth,
// Allow on Zendesk's consent page, then the callback carrying the cookies
// the first step set, whatever their names.
type signInFlow struct {
	client *http.Client
	appURL string
	// consent answers Zendesk's consent page for authorizeURL with Allow
	// and returns the callback URL Zendesk redirects the browser to.
	consent func(authorizeURL string) (callbackURL string, err error)
}

// signIn makes the three hops and returns the callback's response, once
// its page greets the simulator's user.
func (f *signInFlow) signIn() (*http.Response, error) {
	start, _, err := f.get(f.appURL+"/zendesk/auth", nil, http.StatusFound)
	if err != nil {
		return nil, err
	}
	callback, err := f.consent(start.Header.Get("Location"))
	if err != nil {
		return nil, err
	}
	page, body, err := f.get(callback, start.Cookies(), http.StatusOK)
	if err != nil {
		return nil, err
	}
	if !bytes.Contains(body, []byte(greeting)) {
		return nil, fmt.Errorf("the callback's page does not say %q:\n%s", greeting, body)
	}
	return page, nil
}

// get fetches target with the cookies that are not deletions, checks the
// status, and reads the whole body so the connection is reused.
func (f *signInFlow) get(target string, cookies []*http.Cookie, want int) (*http.Response, []byte, error) {
	req, err := http.NewRequest("GET", target, nil)
	if err != nil {
		return nil, nil, err
	}
	for _, c := range cookies {
		if c.MaxAge >= 0 && c.Value != "" {
			req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		}
	}
	return do(f.client, req, want)
}

// do sends req, reads the whole body and checks the status.
func do(client *http.Client, req *http.Request, want int) (*http.Response, []byte, error) {
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: reading the body: %v", req.Method, req.URL.Path, err)
	}
	if resp.StatusCode != want {
		return nil, nil, fmt.Errorf("%s %s: status %d, want %d\n%s", req.Method, req.URL.Path, resp.StatusCode, want, body)
	}
	return resp, body, nil
}

func drain(resp *http.Response) {
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// networkConsent posts decision=allow to the consent page over HTTP, as a
// browser does, at the simulator listening at base (scheme and host), so
// that the browser's connections to Zendesk are not the app's.
func networkConsent(client *http.Client, base string) func(string) (string, error) {
	return func(authorizeURL string) (string, error) {
		u, err := url.Parse(authorizeURL)
		if err != nil {
			return "", err
		}
		req, err := http.NewRequest("POST", base+u.RequestURI(), strings.NewReader("decision=allow"))
		if err != nil {
			return "", err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, _, err := do(client, req, http.StatusFound)
		if err != nil {
			return "", fmt.Errorf("consent: %w", err)
		}
		return resp.Header.Get("Location"), nil
	}
}

// handlerConsent answers the consent page by calling the simulator's
// handler in memory: no connection to Zendesk at all besides the app's.
func handlerConsent(sim http.Handler) func(string) (string, error) {
	return func(authorizeURL string) (string, error) {
		req := httptest.NewRequest("POST", authorizeURL, strings.NewReader("decision=allow"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, req)
		if rec.Code != http.StatusFound {
			return "", fmt.Errorf("consent: status %d, want 302\n%s", rec.Code, rec.Body)
		}
		return rec.Header().Get("Location"), nil
	}
}
