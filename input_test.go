package main

import (
	"zendesk-oauth-app/internal/securecookie"

	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"zendesk-oauth-app/internal/zendesksim"
)

// Hostile or broken callbacks: never a 500, never a request to Zendesk.
func TestCallbackBadInput(t *testing.T) {
	big := strings.Repeat("x", 10<<10)
	for _, tc := range []struct {
		name     string
		query    func(state string) string // state is the real one of this browser's flow
		status   int
		withFlow bool
	}{
		{"no parameters", func(string) string { return "" }, 400, true},
		{"no parameters, no flow", func(string) string { return "" }, 400, false},
		{"code without state", func(string) string { return "code=abc" }, 400, true},
		{"state without code", func(s string) string { return "state=" + s }, 400, true},
		{"repeated code", func(s string) string { return "code=a&code=b&state=" + s }, 400, true},
		{"repeated error", func(string) string { return "error=access_denied&error=x" }, 400, true},
		{"10 KB code", func(s string) string { return "code=" + big + "&state=" + s }, 400, true},
		{"10 KB state", func(string) string { return "code=abc&state=" + big }, 400, true},
		{"10 KB error", func(string) string { return "error=" + big + "&error_description=" + big }, 400, true},
		{"not UTF-8", func(s string) string { return "code=%ff%fe%fd&state=" + s + "%ff" }, 400, true},
		{"not UTF-8 error", func(string) string { return "error=%ff%fe&error_description=%c3%28" }, 400, true},
		{"malformed escapes", func(string) string { return "code=%zz&state=%" }, 400, true},
		{"markup in error_description", func(string) string {
			return "error=server_error&error_description=" + url.QueryEscape(`<a href="//evil">click</a>`)
		}, 400, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			b := e.browser()
			state := ""
			if tc.withFlow {
				loc, _ := url.Parse(b.get("/zendesk/auth").Header.Get("Location"))
				state = loc.Query().Get("state")
			}
			resp := b.get("/zendesk/oauth/callback?" + tc.query(state))
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if st := e.sim.Stats(); st[zendesksim.Exchange]+st[zendesksim.Me] != 0 {
				t.Errorf("invalid input reached Zendesk: %+v", st)
			}
			if strings.Contains(resp.body, big) || strings.Contains(resp.body, `<a href="//evil">`) {
				t.Error("input echoed in full or unescaped")
			}
			mustContain(t, resp.body, "request id", `href="`)
		})
	}
}

func TestBadFlowCookie(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	callback := b.authorize("/zendesk/auth", "allow")
	good := b.flowCookie()
	tampered := []byte(good.Value)
	tampered[10] ^= 1 // a different character, whichever it was
	session := e.browser()
	session.signIn()

	for name, value := range map[string]string{
		"tampered":           string(tampered),
		"truncated":          good.Value[:len(good.Value)-5],
		"oversized":          strings.Repeat("A", 8000),
		"a session cookie":   session.cookie("session").Value, // sealed for another name
		"another app's flow": sealWith(t, "another-secret-another-secret-0123456789", good.Name),
	} {
		t.Run(name, func(t *testing.T) {
			b := e.browser()
			b.setCookie(good.Name, value)
			resp := b.get(callback)
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("status %d, want 400", resp.StatusCode)
			}
			mustContain(t, resp.body, "Sign-in expired")
		})
	}
	if n := e.sim.Stats()[zendesksim.Exchange]; n != 1 { // the signed-in browser's own
		t.Errorf("%d token requests, want 1", n)
	}
}

func sealWith(t *testing.T, secret, name string) string {
	s, err := securecookie.New([][]byte{[]byte(secret)}, "test-client@acme")
	if err != nil {
		t.Fatal(err)
	}
	return sealString(s, name, &flow{Verifier: "y", Subdomain: "acme"}, time.Now().Add(time.Hour))
}

// serve starts the app behind the server that run uses, with its limits.
// adjust, when not nil, changes the server before it starts.
func serve(t *testing.T, e *env, adjust func(*http.Server)) string {
	srv := newServer(e.app)
	if adjust != nil {
		adjust(srv)
	}
	ts := httptest.NewUnstartedServer(nil)
	ts.Config = srv
	ts.Start()
	t.Cleanup(ts.Close)
	return ts.Listener.Addr().String()
}

func TestOversizedHeaders(t *testing.T) {
	e := newEnv(t, envOptions{})
	addr := serve(t, e, nil)
	req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
	req.Header.Set("X-Big", strings.Repeat("x", 64<<10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("status %d, want 431", resp.StatusCode)
	}
}

// A client that sends its headers a byte at a time is cut off.
func TestSlowHeadersAreCutOff(t *testing.T) {
	e := newEnv(t, envOptions{})
	addr := serve(t, e, func(srv *http.Server) {
		if srv.ReadHeaderTimeout <= 0 || srv.ReadHeaderTimeout > 10*time.Second {
			t.Fatalf("ReadHeaderTimeout = %v", srv.ReadHeaderTimeout)
		}
		srv.ReadHeaderTimeout = 200 * time.Millisecond // the same mechanism, sooner
	})

	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	request := "GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + strings.Repeat("x", 1000)
	for i := range len(request) {
		if _, err := conn.Write([]byte{request[i]}); err != nil {
			break // cut off
		}
		if time.Since(start) > 3*time.Second {
			t.Fatal("still accepting header bytes after 3 s")
		}
		time.Sleep(10 * time.Millisecond) // the slow client's pace, not a wait for the app
	}
	conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	reply, _ := io.ReadAll(bufio.NewReader(conn))
	if strings.Contains(string(reply), "200 OK") {
		t.Errorf("the slow request was served: %q", reply)
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("cut off after %v", elapsed)
	}
}

func TestPanicIsRecovered(t *testing.T) {
	e := newEnv(t, envOptions{})
	ts := httptest.NewServer(withRoutes(e.app, route{"GET", "/boom", func(http.ResponseWriter, *http.Request) { panic("boom") }}))
	defer ts.Close()

	resp, err := http.Get(ts.URL + "/boom")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(string(body), "Something went wrong") {
		t.Errorf("status %d\n%s", resp.StatusCode, body)
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "panic=boom") || !strings.Contains(logs, "goroutine") || !strings.Contains(logs, "status=500") {
		t.Errorf("no panic log line with a stack:\n%s", logs)
	}
	if resp, err := http.Get(ts.URL + "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Errorf("the server stopped serving after a panic: %v", err)
	}
}

func TestFreshSessionCookieAtEverySignIn(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	b.signIn()
	first, firstSession := b.cookie("session").Value, b.session()
	b.signIn()
	if b.cookie("session").Value == first || b.session().AccessToken == firstSession.AccessToken {
		t.Error("a second sign-in kept the session cookie's value")
	}
}
