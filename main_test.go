package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestLoadConfigProblems(t *testing.T) {
	for _, tc := range []struct {
		name  string
		vars  map[string]string
		wants []string // every problem named
	}{
		{"nothing set", map[string]string{}, []string{"ZENDESK_CLIENT_ID is not set", "-demo"}},
		{"bad values", map[string]string{
			"ZENDESK_SUBDOMAIN": "acme.example.com", "ZENDESK_CLIENT_ID": "id", "PORT": "http",
			"SESSION_SECRET": "short", "ZENDESK_BASE_URL": "ftp://x",
		}, []string{"ZENDESK_SUBDOMAIN", "PORT", "SESSION_SECRET", "ZENDESK_BASE_URL"}},
		{"http off localhost", map[string]string{"ZENDESK_CLIENT_ID": "id", "APP_URL": "http://app.example.com"}, []string{"APP_URL", "use https://app.example.com"}},
		{"APP_URL with a path", map[string]string{"ZENDESK_CLIENT_ID": "id", "APP_URL": "https://app.example.com/app"}, []string{"APP_URL", "without a path"}},
		{"one short secret of two", map[string]string{"ZENDESK_CLIENT_ID": "id", "SESSION_SECRET": testSessionSecret + ",short"}, []string{"secret 2"}},
		{"plain http to a remote Zendesk", map[string]string{"ZENDESK_CLIENT_ID": "id", "ZENDESK_BASE_URL": "http://proxy.example.com"}, []string{"ZENDESK_BASE_URL", "https"}},
		{"a password in a URL", map[string]string{"ZENDESK_CLIENT_ID": "id", "APP_URL": "http://user:hunter2-password@app.example.com", "ZENDESK_BASE_URL": "http://u:hunter2-password@x.example.com"}, []string{"APP_URL", "ZENDESK_BASE_URL"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadConfig(func(k string) string { return tc.vars[k] })
			var cfgErr *configError
			if !errors.As(err, &cfgErr) {
				t.Fatalf("err = %v, want a configError", err)
			}
			for _, want := range tc.wants {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks %q:\n%v", want, err)
				}
			}
			if strings.Contains(err.Error(), "short,") || strings.Contains(err.Error(), testSessionSecret) || strings.Contains(err.Error(), "hunter2") {
				t.Error("a secret's value is in the error")
			}
		})
	}
}

func TestLoadConfigDefaults(t *testing.T) {
	cfg, err := loadConfig(func(k string) string {
		return map[string]string{"ZENDESK_CLIENT_ID": "id", "ZENDESK_SUBDOMAIN": " https://Acme.zendesk.com/ "}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.subdomain != "acme" || cfg.port != "3000" || cfg.appURL != "http://localhost:3000" || cfg.scopes != "users:read" || !cfg.randomSecret || cfg.https {
		t.Errorf("config = %+v", cfg)
	}
	if got := cfg.redirectURI(); got != "http://localhost:3000/zendesk/oauth/callback" {
		t.Errorf("redirect URI %q", got)
	}
	for _, ok := range []string{"https://app.example.com", "https://app.example.com/", "http://127.0.0.1:8080", "http://[::1]:3000"} {
		if _, err := parseAppURL(ok); err != nil {
			t.Errorf("APP_URL %q refused: %v", ok, err)
		}
	}
}

func TestParseDotEnv(t *testing.T) {
	values, err := parseDotEnv(strings.NewReader("# comment\n\nexport A=1\nB = \"two words\"\nC='x=y'\nD=\n"))
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"A": "1", "B": "two words", "C": "x=y", "D": ""} {
		if values[k] != want {
			t.Errorf("%s = %q, want %q", k, values[k], want)
		}
	}
	if _, err := parseDotEnv(strings.NewReader("JUSTAWORD\n")); err == nil {
		t.Error("a line without = was accepted")
	}
}

func TestDotEnvLosesToTheEnvironment(t *testing.T) {
	path := t.TempDir() + "/.env"
	if err := os.WriteFile(path, []byte("ZENDESK_CLIENT_SECRET=from-file\nPORT=4000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	real := map[string]string{"ZENDESK_CLIENT_SECRET": ""} // set, but empty: a public client
	getenv, err := withDotEnv(func(k string) (string, bool) { v, ok := real[k]; return v, ok }, path)
	if err != nil {
		t.Fatal(err)
	}
	if got := getenv("ZENDESK_CLIENT_SECRET"); got != "" {
		t.Errorf("ZENDESK_CLIENT_SECRET = %q, want the environment's empty value", got)
	}
	if got := getenv("PORT"); got != "4000" {
		t.Errorf("PORT = %q, want .env's 4000", got)
	}
}

func TestRunRefusesBadConfig(t *testing.T) {
	var stdout, stderr strings.Builder
	err := run(context.Background(), nil, func(string) string { return "" }, &stdout, &stderr)
	var cfgErr *configError
	if !errors.As(err, &cfgErr) {
		t.Fatalf("err = %v, want a configError", err)
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// TestDemo runs the program as "go run . -demo" does and signs in through it.
func TestDemo(t *testing.T) {
	port := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	stdoutR, stdoutW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-demo"}, func(k string) string {
			return map[string]string{"PORT": port, "ZENDESK_CLIENT_ID": "ignored-in-demo"}[k]
		}, stdoutW, io.Discard)
		stdoutW.Close()
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}()

	line, err := bufio.NewReader(stdoutR).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, stdoutR)
	if !strings.Contains(line, "Zendesk is simulated at http://127.0.0.1:") || !strings.Contains(line, "Open http://localhost:"+port) {
		t.Errorf("demo banner: %q", line)
	}

	appURL := "http://localhost:" + port
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var start *http.Response
	for i := 0; ; i++ { // the server starts listening just after the banner
		start, err = client.Get(appURL + "/zendesk/auth")
		if err == nil || i == 50 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	start.Body.Close()
	consent, err := client.PostForm(start.Header.Get("Location"), url.Values{"decision": {"allow"}})
	if err != nil {
		t.Fatal(err)
	}
	consent.Body.Close()
	req, _ := http.NewRequest("GET", consent.Header.Get("Location"), nil)
	for _, c := range start.Cookies() {
		req.AddCookie(c)
	}
	page, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(page.Body)
	page.Body.Close()
	if page.StatusCode != 200 || !strings.Contains(string(body), "Hi, John Doe!") {
		t.Errorf("demo sign-in: status %d\n%s", page.StatusCode, body)
	}
}
