package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"zendesk-oauth-app/internal/zendesksim"
)

// The in-process benchmarks: what one sign-in, one signed-in page and one
// session cookie cost, with allocations. The app and the simulator run
// behind real HTTP servers on loopback. Allocation figures count every
// goroutine of the process (the test browser, the app and the simulator
// alike), so compare them between runs, not in isolation.
//
//	go test -run='^$' -bench=. -benchmem -count=3 .
//
// How the app compares with the tutorial's app, each a separate process, is
// BenchmarkSideBySide in e2e/ ("make bench-compare").

// benchClient is a browser without a cookie jar: it carries the flow
// cookie by hand, keeps connections alive and follows no redirects.
func benchClient(tb testing.TB) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	tb.Cleanup(t.CloseIdleConnections)
	return &http.Client{
		Transport:     t,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// signInFlow drives one sign-in against an app.
type signInFlow struct {
	client     *http.Client
	appURL     string
	flowCookie string // the cookie to carry from the auth redirect to the callback, or its name's prefix; "" if none
	// consent answers Zendesk's consent page for authorizeURL with Allow and
	// returns the callback URL Zendesk redirects to.
	consent func(authorizeURL string) (string, error)
}

// signIn makes the three hops and returns the callback's Set-Cookie
// headers. The profile page goes into page when it is not nil.
func (f *signInFlow) signIn(page *bytes.Buffer) (setCookies []string, err error) {
	start, err := f.get(f.appURL+"/zendesk/auth", "", http.StatusFound, nil)
	if err != nil {
		return nil, err
	}
	cookie := ""
	if f.flowCookie != "" {
		if cookie = cookiePair(start.Header, f.flowCookie); cookie == "" {
			return nil, errors.New("auth redirect set no flow cookie")
		}
	}
	callback, err := f.consent(start.Header.Get("Location"))
	if err != nil {
		return nil, err
	}
	done, err := f.get(callback, cookie, http.StatusOK, page)
	if err != nil {
		return nil, err
	}
	return done.Header["Set-Cookie"], nil
}

// get fetches target with an optional Cookie header, checks the status and
// reads the whole body (into page, or discarded) so the connection is reused.
func (f *signInFlow) get(target, cookie string, want int, page *bytes.Buffer) (*http.Response, error) {
	req, err := http.NewRequest("GET", target, nil)
	if err != nil {
		return nil, err
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	return doAndRead(f.client, req, want, page)
}

func doAndRead(client *http.Client, req *http.Request, want int, page *bytes.Buffer) (*http.Response, error) {
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if page != nil {
		page.Reset()
		_, err = page.ReadFrom(resp.Body)
	} else {
		_, err = io.Copy(io.Discard, resp.Body)
	}
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		return nil, fmt.Errorf("%s %s: status %d, want %d", req.Method, req.URL.Path, resp.StatusCode, want)
	}
	return resp, nil
}

// networkConsent posts decision=allow to the simulator's consent page over
// HTTP, as the browser does.
func networkConsent(client *http.Client) func(string) (string, error) {
	return func(authorizeURL string) (string, error) {
		req, err := http.NewRequest("POST", authorizeURL, strings.NewReader("decision=allow"))
		if err != nil {
			return "", err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := doAndRead(client, req, http.StatusFound, nil)
		if err != nil {
			return "", err
		}
		return resp.Header.Get("Location"), nil
	}
}

// cookiePair returns "name=value" of the Set-Cookie header for name, or "".
func cookiePair(h http.Header, prefix string) string {
	for _, v := range h["Set-Cookie"] {
		pair, _, _ := strings.Cut(v, ";")
		if name, value, _ := strings.Cut(pair, "="); strings.HasPrefix(name, prefix) && value != "" {
			return pair
		}
	}
	return ""
}

const (
	benchClientID     = "bench-client"
	benchClientSecret = "bench-client-secret"
)

// newBenchApp starts the app (confidential client, PKCE, sealed cookies)
// and its own simulator, each behind an httptest server on loopback. The
// app logs as in production, into io.Discard.
func newBenchApp(tb testing.TB) (*app, *httptest.Server) {
	tb.Helper()
	var handler http.Handler
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	tb.Cleanup(server.Close)
	sim := httptest.NewServer(zendesksim.New(zendesksim.Options{
		ClientID:     benchClientID,
		ClientSecret: benchClientSecret,
		RedirectURIs: []string{server.URL + "/zendesk/oauth/callback"},
	}))
	tb.Cleanup(sim.Close)
	vars := map[string]string{
		"ZENDESK_SUBDOMAIN":     "acme",
		"ZENDESK_CLIENT_ID":     benchClientID,
		"ZENDESK_CLIENT_SECRET": benchClientSecret,
		"ZENDESK_BASE_URL":      sim.URL,
		"APP_URL":               server.URL,
		"SESSION_SECRET":        testSessionSecret,
	}
	cfg, err := loadConfig(vars, false)
	if err != nil {
		tb.Fatal(err)
	}
	a, err := newApp(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(a.zendesk.HTTPClient.CloseIdleConnections)
	handler = a.handler(a.routes())
	return a, server
}

func benchSignIns(b *testing.B, f *signInFlow) {
	var page bytes.Buffer
	if _, err := f.signIn(&page); err != nil { // warm up, and check the page once
		b.Fatal(err)
	}
	if !strings.Contains(page.String(), "John Doe") || !strings.Contains(page.String(), "admin") {
		b.Fatalf("the callback did not show the profile:\n%s", page.String())
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.signIn(&page); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignIn is one complete sign-in through the app: GET
// /zendesk/auth (302, flow cookie), POST decision=allow to the simulator's
// consent page (302), GET the callback (code exchange, users/me, sealed
// session cookie, profile page).
func BenchmarkSignIn(b *testing.B) {
	a, server := newBenchApp(b)
	client := benchClient(b)
	benchSignIns(b, &signInFlow{
		client:     client,
		appURL:     server.URL,
		flowCookie: a.cookies.Name(flowCookie),
		consent:    networkConsent(client),
	})
}

// BenchmarkProfile is a signed-in GET /: open the session cookie, call
// users/me, render the profile.
func BenchmarkProfile(b *testing.B) {
	a, server := newBenchApp(b)
	client := benchClient(b)
	f := &signInFlow{client: client, appURL: server.URL, flowCookie: a.cookies.Name(flowCookie), consent: networkConsent(client)}
	setCookies, err := f.signIn(nil)
	if err != nil {
		b.Fatal(err)
	}
	session := cookiePair(http.Header{"Set-Cookie": setCookies}, a.cookies.Name(sessionCookie))
	if session == "" {
		b.Fatal("no session cookie after signing in")
	}
	var page bytes.Buffer
	if _, err := f.get(server.URL+"/", session, http.StatusOK, &page); err != nil {
		b.Fatal(err)
	}
	if !strings.Contains(page.String(), "John Doe") {
		b.Fatalf("GET / did not show the profile:\n%s", page.String())
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.get(server.URL+"/", session, http.StatusOK, &page); err != nil {
			b.Fatal(err)
		}
	}
}
