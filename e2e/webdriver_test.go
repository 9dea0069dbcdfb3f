package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A minimal W3C WebDriver client for chromedriver, with net/http and
// encoding/json only: just what the browser journeys need.

// wdWait bounds every wait for a page, an element or chromedriver.
const wdWait = 10 * time.Second

// webDriver is a running chromedriver.
type webDriver struct {
	url, chromium string
	client        *http.Client
}

// startWebDriver starts chromedriver on a free port and stops it when the
// test ends. Without a browser it skips the test, or fails it when E2E=1.
func startWebDriver(t *testing.T) *webDriver {
	t.Helper()
	chromium, err1 := exec.LookPath("chromium")
	driver, err2 := exec.LookPath("chromedriver")
	if err1 != nil || err2 != nil {
		skipWithout(t, "E2E", "Chromium and chromedriver", "apt-get install chromium chromium-driver")
	}
	port := freePort(t)
	cmd := exec.Command(driver, "--port="+port)
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting chromedriver: %v", err)
	}
	wd := &webDriver{url: "http://127.0.0.1:" + port, chromium: chromium, client: &http.Client{Timeout: 2 * wdWait}}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		// Ask first (chromedriver then quits its browsers), then insist.
		if resp, err := wd.client.Get(wd.url + "/shutdown"); err == nil {
			resp.Body.Close()
		}
		select {
		case <-exited:
		case <-time.After(wdWait):
			cmd.Process.Kill()
			<-exited
		}
	})
	if !poll(wdWait, 50*time.Millisecond, func() bool { return wd.call("GET", "/status", nil, nil) == nil }) {
		t.Fatalf("chromedriver did not start within %v", wdWait)
	}
	return wd
}

// call sends one command and decodes the "value" of the answer into out.
func (wd *webDriver) call(method, path string, body, out any) error {
	var buf bytes.Buffer
	if body != nil {
		json.NewEncoder(&buf).Encode(body)
	}
	req, err := http.NewRequest(method, wd.url+path, &buf)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := wd.client.Do(req)
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

// wdSession is one browser with a fresh profile.
type wdSession struct {
	t  *testing.T
	wd *webDriver
	id string
}

func (wd *webDriver) newSession(t *testing.T) *wdSession {
	t.Helper()
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--no-proxy-server", "--window-size=900,650", "--user-data-dir=" + t.TempDir()}
	// The performance log carries the network events, and so the headers
	// of every page the browser received (documentHeaders).
	caps := map[string]any{"capabilities": map[string]any{"alwaysMatch": map[string]any{
		"goog:chromeOptions": map[string]any{"binary": wd.chromium, "args": args,
			"perfLoggingPrefs": map[string]bool{"enableNetwork": true, "enablePage": false}},
		"goog:loggingPrefs": map[string]string{"browser": "ALL", "performance": "ALL"},
		"timeouts":          map[string]int{"pageLoad": int(wdWait.Milliseconds()), "script": int(wdWait.Milliseconds())},
	}}}
	var created struct{ SessionID string }
	if err := wd.call("POST", "/session", caps, &created); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	s := &wdSession{t: t, wd: wd, id: created.SessionID}
	t.Cleanup(func() { wd.call("DELETE", "/session/"+s.id, nil, nil) })
	return s
}

func (s *wdSession) try(method, path string, body, out any) error {
	return s.wd.call(method, "/session/"+s.id+path, body, out)
}

// do runs a command and fails the test if it fails.
func (s *wdSession) do(method, path string, body, out any) {
	s.t.Helper()
	if err := s.try(method, path, body, out); err != nil {
		s.t.Fatal(err)
	}
}

var noArgs = struct{}{}

func (s *wdSession) navigate(url string) {
	s.t.Helper()
	s.do("POST", "/url", map[string]string{"url": url}, nil)
}
func (s *wdSession) reload()                { s.t.Helper(); s.do("POST", "/refresh", noArgs, nil) }
func (s *wdSession) source() (v string)     { s.t.Helper(); s.do("GET", "/source", nil, &v); return v }
func (s *wdSession) currentURL() (v string) { s.t.Helper(); s.do("GET", "/url", nil, &v); return v }
func (s *wdSession) click(css string) {
	s.t.Helper()
	s.do("POST", "/element/"+s.waitFor(css)+"/click", noArgs, nil)
}

// typeInto replaces the value of a text field.
func (s *wdSession) typeInto(css, text string) {
	s.t.Helper()
	el := s.waitFor(css)
	s.do("POST", "/element/"+el+"/clear", noArgs, nil)
	s.do("POST", "/element/"+el+"/value", map[string]string{"text": text}, nil)
}

// execute runs a script in the page and returns its result.
func (s *wdSession) execute(script string, args ...any) (v any) {
	s.t.Helper()
	s.do("POST", "/execute/sync", map[string]any{"script": script, "args": append([]any{}, args...)}, &v)
	return v
}

// executeAsync runs a script that ends by calling its last argument, the
// callback WebDriver appends, and decodes what it passed into out.
func (s *wdSession) executeAsync(script string, out any, args ...any) {
	s.t.Helper()
	s.do("POST", "/execute/async", map[string]any{"script": script, "args": append([]any{}, args...)}, out)
}

// cdp sends a Chrome DevTools Protocol command to the page, through
// chromedriver.
func (s *wdSession) cdp(cmd string, params any) {
	s.t.Helper()
	s.do("POST", "/goog/cdp/execute", map[string]any{"cmd": cmd, "params": params}, nil)
}

// colorScheme makes the page's prefers-color-scheme "light" or "dark",
// until it is changed again; the setting survives navigations. It checks
// that the page now matches the media query, so a test cannot pass in the
// wrong scheme without noticing.
func (s *wdSession) colorScheme(scheme string) {
	s.t.Helper()
	s.cdp("Emulation.setEmulatedMedia", map[string]any{
		"features": []map[string]string{{"name": "prefers-color-scheme", "value": scheme}},
	})
	query := "(prefers-color-scheme: " + scheme + ")"
	if got := s.execute("return matchMedia(arguments[0]).matches", query); got != true {
		s.t.Fatalf("after emulating %s, matchMedia(%q) = %v", scheme, query, got)
	}
}

// wdCookie is a cookie as WebDriver reports it, HttpOnly ones included.
type wdCookie struct {
	Name, Value, SameSite string
	HTTPOnly              bool `json:"httpOnly"`
}

// cookies returns the cookies the browser would send to the current page.
func (s *wdSession) cookies() (v []wdCookie) {
	s.t.Helper()
	s.do("GET", "/cookie", nil, &v)
	return v
}

// documentHeaders returns the response headers (names in lower case) of
// the web pages the browser loaded since the last call, oldest first: the
// documents only, after every redirect. It reads them from chromedriver's
// performance log, which it empties.
func (s *wdSession) documentHeaders() []pageHeaders {
	s.t.Helper()
	var entries []struct{ Message string }
	s.do("POST", "/se/log", map[string]string{"type": "performance"}, &entries)
	var pages []pageHeaders
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
			s.t.Fatalf("performance log entry %.200s: %v", e.Message, err)
		}
		r := m.Message.Params.Response
		if m.Message.Method != "Network.responseReceived" || m.Message.Params.Type != "Document" ||
			!strings.HasPrefix(r.URL, "http") { // not the browser's own pages, chrome://...
			continue
		}
		p := pageHeaders{URL: r.URL, Status: r.Status, Header: map[string]string{}}
		for k, v := range r.Headers {
			p.Header[strings.ToLower(k)] = v
		}
		pages = append(pages, p)
	}
	return pages
}

// pageHeaders is what documentHeaders reports of one page.
type pageHeaders struct {
	URL    string
	Status int
	Header map[string]string // lower-case names
}

type logEntry struct{ Level, Source, Message string }

// consoleLog returns the console entries since the last call.
func (s *wdSession) consoleLog() (v []logEntry) {
	s.t.Helper()
	s.do("POST", "/se/log", map[string]string{"type": "browser"}, &v)
	return v
}

// find returns the element matching a CSS selector, or "" if there is none.
func (s *wdSession) find(css string) string {
	var el map[string]string
	s.try("POST", "/element", map[string]string{"using": "css selector", "value": css}, &el)
	return el["element-6066-11e4-a52e-4f735466cecf"]
}

// waitFor waits for an element and returns it.
func (s *wdSession) waitFor(css string) (el string) {
	s.t.Helper()
	s.waitUntil("element "+css, func() bool { el = s.find(css); return el != "" })
	return el
}

// waitText waits until an element's text contains want; it returns the text.
func (s *wdSession) waitText(css, want string) (text string) {
	s.t.Helper()
	s.waitUntil(fmt.Sprintf("%q in %s", want, css), func() bool {
		el := s.find(css)
		return el != "" && s.try("GET", "/element/"+el+"/text", nil, &text) == nil && strings.Contains(text, want)
	})
	return text
}

// waitURL waits until the browser's address starts with prefix; it returns the address.
func (s *wdSession) waitURL(prefix string) (url string) {
	s.t.Helper()
	s.waitUntil("address "+prefix, func() bool { return s.try("GET", "/url", nil, &url) == nil && strings.HasPrefix(url, prefix) })
	return url
}

// waitUntil polls cond; on timeout it fails with the page and the console.
func (s *wdSession) waitUntil(what string, cond func() bool) {
	s.t.Helper()
	if !poll(wdWait, 50*time.Millisecond, cond) {
		var url, src string
		var console []logEntry
		s.try("GET", "/url", nil, &url)
		s.try("GET", "/source", nil, &src)
		s.try("POST", "/se/log", map[string]string{"type": "browser"}, &console)
		s.t.Fatalf("waited %v for %s; console: %+v; the browser is at %s:\n%s", wdWait, what, console, url, src)
	}
}

// screenshotDark saves the page in the dark colour scheme as a PNG named
// name in the folder $SCREENSHOTS, if set, and goes back to the light one.
func (s *wdSession) screenshotDark(name string) {
	s.t.Helper()
	if os.Getenv("SCREENSHOTS") == "" {
		return
	}
	s.colorScheme("dark")
	s.screenshot(name)
	s.colorScheme("light")
}

// screenshot saves the page as a PNG named name in the folder $SCREENSHOTS, if set.
func (s *wdSession) screenshot(name string) {
	s.t.Helper()
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
		s.t.Fatalf("screenshot %s: %v", name, err)
	}
}
