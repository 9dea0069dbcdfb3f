package browsertest

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A minimal W3C WebDriver client for chromedriver, with net/http and
// encoding/json only: just what the browser journeys need.

// wait bounds every wait for a page, an element or chromedriver.
const wait = 10 * time.Second

// Driver is a running chromedriver.
type Driver struct {
	url, chromium string
	client        *http.Client
}

// Start starts chromedriver and stops it when the test ends. Without a
// browser it skips the test, or fails it when E2E=1.
func Start(t *testing.T) *Driver {
	t.Helper()
	chromium, err1 := exec.LookPath("chromium")
	driver, err2 := exec.LookPath("chromedriver")
	if err1 != nil || err2 != nil {
		SkipWithout(t, "E2E", "Chromium and chromedriver", "apt-get install chromium chromium-driver")
	}
	// Port 0: chromedriver listens on a port the kernel gives it, and
	// says which on its standard output.
	out, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(driver, "--port=0")
	cmd.Stdout = w
	err = cmd.Start()
	w.Close()
	if err != nil {
		out.Close()
		t.Fatalf("starting chromedriver: %v", err)
	}
	said := make(chan string, 1)
	go func() {
		defer out.Close()
		lines := bufio.NewScanner(out)
		for lines.Scan() {
			if port, ok := strings.CutPrefix(lines.Text(), "ChromeDriver was started successfully on port "); ok {
				said <- strings.TrimSuffix(port, ".")
				break
			}
		}
		io.Copy(io.Discard, out)
	}()
	d := &Driver{chromium: chromium, client: &http.Client{Timeout: 2 * wait}}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		// Ask first (chromedriver then quits its browsers), then insist.
		if d.url != "" {
			if resp, err := d.client.Get(d.url + "/shutdown"); err == nil {
				resp.Body.Close()
			}
		}
		select {
		case <-exited:
		case <-time.After(wait):
			cmd.Process.Kill()
			<-exited
		}
	})
	select {
	case port := <-said:
		d.url = "http://127.0.0.1:" + port
	case <-exited:
		t.Fatal("chromedriver exited before it listened")
	case <-time.After(wait):
		t.Fatalf("chromedriver did not say its port within %v", wait)
	}
	if !poll(func() bool { return d.call("GET", "/status", nil, nil) == nil }) {
		t.Fatalf("chromedriver did not start within %v", wait)
	}
	return d
}

// poll calls cond every 50 ms until it holds, for at most wait.
func poll(cond func() bool) bool {
	for deadline := time.Now().Add(wait); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}

// call sends one command and decodes the "value" of the answer into out.
func (d *Driver) call(method, path string, body, out any) error {
	var buf bytes.Buffer
	if body != nil {
		json.NewEncoder(&buf).Encode(body)
	}
	req, err := http.NewRequest(method, d.url+path, &buf)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := d.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var answer struct{ Value json.RawMessage }
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		return fmt.Errorf("%s %s: status %d: %v", method, path, resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error, Message string }
		json.Unmarshal(answer.Value, &e)
		msg, _, _ := strings.Cut(e.Message, "\n")
		return fmt.Errorf("%s %s: %s: %s", method, path, e.Error, msg)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(answer.Value, out)
}

// Session is one browser with a fresh profile. Its methods fail T when a
// command fails.
type Session struct {
	T  *testing.T
	d  *Driver
	id string
}

// NewSession opens a browser with a fresh profile, closed when the test
// ends.
func (d *Driver) NewSession(t *testing.T) *Session {
	t.Helper()
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--no-proxy-server", "--window-size=900,650", "--user-data-dir=" + t.TempDir()}
	// The performance log carries the network events, and so the headers
	// of every page the browser received (DocumentHeaders).
	caps := map[string]any{"capabilities": map[string]any{"alwaysMatch": map[string]any{
		"goog:chromeOptions": map[string]any{"binary": d.chromium, "args": args,
			"perfLoggingPrefs": map[string]bool{"enableNetwork": true, "enablePage": false}},
		"goog:loggingPrefs": map[string]string{"browser": "ALL", "performance": "ALL"},
		"timeouts":          map[string]int{"pageLoad": int(wait.Milliseconds()), "script": int(wait.Milliseconds())},
	}}}
	var created struct{ SessionID string }
	if err := d.call("POST", "/session", caps, &created); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	s := &Session{T: t, d: d, id: created.SessionID}
	t.Cleanup(func() { d.call("DELETE", "/session/"+s.id, nil, nil) })
	return s
}

func (s *Session) try(method, path string, body, out any) error {
	return s.d.call(method, "/session/"+s.id+path, body, out)
}

// do runs a command and fails the test if it fails.
func (s *Session) do(method, path string, body, out any) {
	s.T.Helper()
	if err := s.try(method, path, body, out); err != nil {
		s.T.Fatal(err)
	}
}

var noArgs = struct{}{}

// Navigate loads url.
func (s *Session) Navigate(url string) {
	s.T.Helper()
	s.do("POST", "/url", map[string]string{"url": url}, nil)
}

// Reload loads the page again.
func (s *Session) Reload() { s.T.Helper(); s.do("POST", "/refresh", noArgs, nil) }

// Source returns the page's HTML.
func (s *Session) Source() (v string) { s.T.Helper(); s.do("GET", "/source", nil, &v); return v }

// URL returns the browser's address.
func (s *Session) URL() (v string) { s.T.Helper(); s.do("GET", "/url", nil, &v); return v }

// Click clicks the element matching a CSS selector, once there is one.
func (s *Session) Click(css string) {
	s.T.Helper()
	s.do("POST", "/element/"+s.WaitFor(css)+"/click", noArgs, nil)
}

// Type replaces the value of a text field.
func (s *Session) Type(css, text string) {
	s.T.Helper()
	el := s.WaitFor(css)
	s.do("POST", "/element/"+el+"/clear", noArgs, nil)
	s.do("POST", "/element/"+el+"/value", map[string]string{"text": text}, nil)
}

// Execute runs a script in the page and returns its result.
func (s *Session) Execute(script string, args ...any) (v any) {
	s.T.Helper()
	s.do("POST", "/execute/sync", map[string]any{"script": script, "args": append([]any{}, args...)}, &v)
	return v
}

// executeAsync runs a script that ends by calling its last argument, the
// callback WebDriver appends, and decodes what it passed into out.
func (s *Session) executeAsync(script string, out any, args ...any) {
	s.T.Helper()
	s.do("POST", "/execute/async", map[string]any{"script": script, "args": append([]any{}, args...)}, out)
}

// cdp sends a Chrome DevTools Protocol command to the page, through
// chromedriver.
func (s *Session) cdp(cmd string, params any) {
	s.T.Helper()
	s.do("POST", "/goog/cdp/execute", map[string]any{"cmd": cmd, "params": params}, nil)
}

// ColorScheme makes the page's prefers-color-scheme "light" or "dark",
// until it is changed again; the setting survives navigations. It checks
// that the page now matches the media query, so a test cannot pass in the
// wrong scheme without noticing.
func (s *Session) ColorScheme(scheme string) {
	s.T.Helper()
	s.cdp("Emulation.setEmulatedMedia", map[string]any{
		"features": []map[string]string{{"name": "prefers-color-scheme", "value": scheme}},
	})
	query := "(prefers-color-scheme: " + scheme + ")"
	if got := s.Execute("return matchMedia(arguments[0]).matches", query); got != true {
		s.T.Fatalf("after emulating %s, matchMedia(%q) = %v", scheme, query, got)
	}
}

// Cookie is a cookie as WebDriver reports it, HttpOnly ones included.
type Cookie struct {
	Name, Value, SameSite string
	HTTPOnly              bool `json:"httpOnly"`
}

// Cookies returns the cookies the browser would send to the current page.
func (s *Session) Cookies() (v []Cookie) {
	s.T.Helper()
	s.do("GET", "/cookie", nil, &v)
	return v
}

// DocumentHeaders returns the response headers (names in lower case) of
// the web pages the browser loaded since the last call, oldest first: the
// documents only, after every redirect. It reads them from chromedriver's
// performance log, which it empties.
func (s *Session) DocumentHeaders() []PageHeaders {
	s.T.Helper()
	var entries []struct{ Message string }
	s.do("POST", "/se/log", map[string]string{"type": "performance"}, &entries)
	var pages []PageHeaders
	for _, e := range entries {
		var m struct {
			Message struct {
				Method string
				Params struct {
					Type     string
					Response struct {
						URL     string
						Status  int
						Headers map[string]string
					}
				}
			}
		}
		if err := json.Unmarshal([]byte(e.Message), &m); err != nil {
			s.T.Fatalf("performance log entry %.200s: %v", e.Message, err)
		}
		r := m.Message.Params.Response
		if m.Message.Method != "Network.responseReceived" || m.Message.Params.Type != "Document" ||
			!strings.HasPrefix(r.URL, "http") { // not the browser's own pages, chrome://...
			continue
		}
		p := PageHeaders{URL: r.URL, Status: r.Status, Header: map[string]string{}}
		for k, v := range r.Headers {
			p.Header[strings.ToLower(k)] = v
		}
		pages = append(pages, p)
	}
	return pages
}

// PageHeaders is what DocumentHeaders reports of one page.
type PageHeaders struct {
	URL    string
	Status int
	Header map[string]string // lower-case names
}

type logEntry struct{ Level, Source, Message string }

// consoleLog returns the console entries since the last call.
func (s *Session) consoleLog() (v []logEntry) {
	s.T.Helper()
	s.do("POST", "/se/log", map[string]string{"type": "browser"}, &v)
	return v
}

// WantCleanConsole fails the test for every console error since the last
// check, except the exact entries listed in allowed.
func (s *Session) WantCleanConsole(allowed ...string) {
	s.T.Helper()
	for _, entry := range s.consoleLog() {
		if entry.Level != "SEVERE" {
			s.T.Logf("console %s: %s", entry.Level, entry.Message)
			continue
		}
		if entry.Source != "network" || !slices.Contains(allowed, entry.Message) {
			s.T.Errorf("console error (%s): %s", entry.Source, entry.Message)
		}
	}
}

// StatusEntry is the console error Chromium logs for a page that answers
// with an error status: the one console error an error page may cause.
func StatusEntry(pageURL string, status int) string {
	return pageURL + " - Failed to load resource: the server responded with a status of " +
		strconv.Itoa(status) + " (" + http.StatusText(status) + ")"
}

// find returns the element matching a CSS selector, or "" if there is none.
func (s *Session) find(css string) string {
	var el map[string]string
	s.try("POST", "/element", map[string]string{"using": "css selector", "value": css}, &el)
	return el["element-6066-11e4-a52e-4f735466cecf"]
}

// WaitFor waits for an element and returns it.
func (s *Session) WaitFor(css string) (el string) {
	s.T.Helper()
	s.waitUntil("element "+css, func() bool { el = s.find(css); return el != "" })
	return el
}

// WaitText waits until an element's text contains want; it returns the text.
func (s *Session) WaitText(css, want string) (text string) {
	s.T.Helper()
	s.waitUntil(fmt.Sprintf("%q in %s", want, css), func() bool {
		el := s.find(css)
		return el != "" && s.try("GET", "/element/"+el+"/text", nil, &text) == nil && strings.Contains(text, want)
	})
	return text
}

// WaitURL waits until the browser's address starts with prefix; it returns the address.
func (s *Session) WaitURL(prefix string) (url string) {
	s.T.Helper()
	s.waitUntil("address "+prefix, func() bool { return s.try("GET", "/url", nil, &url) == nil && strings.HasPrefix(url, prefix) })
	return url
}

// waitUntil polls cond; on timeout it fails with the page and the console.
func (s *Session) waitUntil(what string, cond func() bool) {
	s.T.Helper()
	if !poll(cond) {
		var url, src string
		var console []logEntry
		s.try("GET", "/url", nil, &url)
		s.try("GET", "/source", nil, &src)
		s.try("POST", "/se/log", map[string]string{"type": "browser"}, &console)
		s.T.Fatalf("waited %v for %s; console: %+v; the browser is at %s:\n%s", wait, what, console, url, src)
	}
}

// ScreenshotDark saves the page in the dark colour scheme as a PNG named
// name in the folder $SCREENSHOTS, if set, and goes back to the light one.
func (s *Session) ScreenshotDark(name string) {
	s.T.Helper()
	if os.Getenv("SCREENSHOTS") == "" {
		return
	}
	s.ColorScheme("dark")
	s.Screenshot(name)
	s.ColorScheme("light")
}

// Screenshot saves the page as a PNG named name in the folder $SCREENSHOTS, if set.
func (s *Session) Screenshot(name string) {
	s.T.Helper()
	dir := os.Getenv("SCREENSHOTS")
	if dir == "" {
		return
	}
	var b64 string
	s.do("GET", "/screenshot", nil, &b64)
	png, err := base64.StdEncoding.DecodeString(b64)
	if err == nil {
		err = os.MkdirAll(dir, 0o755)
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, name), png, 0o644)
	}
	if err != nil {
		s.T.Fatalf("screenshot %s: %v", name, err)
	}
}
