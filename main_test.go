package main

import (
	"sync"
	"zendesk-oauth-app/internal/dotenv"

	"bufio"
	"context"
	"encoding/json"
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
		{"nothing set", map[string]string{}, []string{"ZENDESK_CLIENT_ID is not set", "make demo"}},
		// A near miss of a setting left unset stops the app, beside the
		// sample value it would otherwise hide.
		{"a near miss", map[string]string{"ZENDESK_SUBDOMIAN": "acme", "ZENDESK_CLIENT_ID": "your-client-identifier"},
			[]string{"ZENDESK_SUBDOMIAN is not a setting: did you mean ZENDESK_SUBDOMAIN?", "ZENDESK_CLIENT_ID is still the sample value"}},
		{"bad values", map[string]string{
			"ZENDESK_SUBDOMAIN": "acme.example.com", "ZENDESK_CLIENT_ID": "id", "PORT": "http",
			"SESSION_SECRET": "short", "ZENDESK_BASE_URL": "ftp://x",
		}, []string{"ZENDESK_SUBDOMAIN", "PORT", "SESSION_SECRET", "ZENDESK_BASE_URL"}},
		{"http off localhost", map[string]string{"ZENDESK_CLIENT_ID": "id", "APP_URL": "http://app.example.com"}, []string{"APP_URL", "use https://app.example.com"}},
		{"APP_URL with a path", map[string]string{"ZENDESK_CLIENT_ID": "id", "APP_URL": "https://app.example.com/app"}, []string{"APP_URL", "without a path"}},
		{"one short secret of two", map[string]string{"ZENDESK_CLIENT_ID": "id", "SESSION_SECRET": testSessionSecret + ",short"}, []string{"secret 2"}},
		{"a control character in a header", map[string]string{"ZENDESK_CLIENT_ID": "id", "ZENDESK_MARKETPLACE_NAME": "Acme\x1b[2J app",
			"ZENDESK_MARKETPLACE_ORGANIZATION_ID": "1", "ZENDESK_MARKETPLACE_APP_ID": "2"}, []string{"ZENDESK_MARKETPLACE_NAME has a character that cannot go in its header"}},
		{"plain http to a remote Zendesk", map[string]string{"ZENDESK_CLIENT_ID": "id", "ZENDESK_BASE_URL": "http://proxy.example.com"}, []string{"ZENDESK_BASE_URL", "https"}},
		{"a password in a URL", map[string]string{"ZENDESK_CLIENT_ID": "id", "APP_URL": "http://user:hunter2-password@app.example.com", "ZENDESK_BASE_URL": "http://u:hunter2-password@x.example.com"}, []string{"APP_URL", "ZENDESK_BASE_URL"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadConfig(tc.vars, false)
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
	cfg, err := loadConfig(map[string]string{"ZENDESK_CLIENT_ID": "id", "ZENDESK_SUBDOMAIN": " https://Acme.zendesk.com/ "}, false)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.subdomain != "acme" || cfg.port != "3000" || cfg.appURL != "http://localhost:3000" || cfg.scopes != defaultScopes || len(cfg.secrets) != 1 || cfg.https {
		t.Errorf("config = %+v", cfg)
	}
	if got := cfg.redirectURI(); got != "http://localhost:3000/zendesk/oauth/callback" {
		t.Errorf("redirect URI %q", got)
	}
	for _, ok := range []string{"https://app.example.com", "https://app.example.com/", "http://127.0.0.1:8080", "http://[::1]:3000"} {
		if _, err := parseURL(ok); err != nil {
			t.Errorf("APP_URL %q refused: %v", ok, err)
		}
	}
}

// The demo runs when nothing configures a real Zendesk.
func TestWantsDemo(t *testing.T) {
	for _, tc := range []struct {
		vars map[string]string
		want bool
	}{
		{map[string]string{}, true},
		{map[string]string{"PORT": "3701", "SESSION_SECRET": testSessionSecret}, true},
		{map[string]string{"APP_URL": "http://127.0.0.1:3000"}, true},
		{map[string]string{"ZENDESK_CLIENT_ID": "id"}, false},
		{map[string]string{"ZENDESK_SUBDOMAIN": "acme"}, false},
		{map[string]string{"ZENDESK_BASE_URL": "http://127.0.0.1:9"}, false},
		{map[string]string{"APP_URL": "https://app.example.com"}, false},
		{map[string]string{"APP_URL": "localhost:3000"}, false}, // a real run says what is wrong
	} {
		if got := wantsDemo(tc.vars); got != tc.want {
			t.Errorf("wantsDemo(%v) = %v, want %v", tc.vars, got, tc.want)
		}
	}
}

// A .env copied from .env.example and left as it is does not start: each
// sample value is named.
func TestEnvExampleNeedsEditing(t *testing.T) {
	f, err := os.Open(".env.example")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	values, err := dotenv.Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	if wantsDemo(values) {
		t.Fatal("an unedited .env.example runs the demo: it should ask for editing")
	}
	_, err = loadConfig(values, false)
	for _, p := range placeholders {
		name, sample := p[0], p[1]
		if values[name] != sample {
			t.Errorf(".env.example sets %s=%q; the app knows the sample %q", name, values[name], sample)
		}
		if err == nil || !strings.Contains(err.Error(), name+" is still the sample value") {
			t.Errorf("%s: error %v, want it named as a sample value", name, err)
		}
	}
	if _, set := values["APP_URL"]; set {
		t.Error(".env.example sets APP_URL: it should follow PORT")
	}
}

func TestConfigMessages(t *testing.T) {
	_, err := loadConfig(map[string]string{"ZENDESK_CLIENT_ID": "id", "APP_URL": "localhost:3701"}, false)
	if err == nil || !strings.Contains(err.Error(), "has no scheme") {
		t.Errorf("APP_URL without a scheme: %v", err)
	}

	cfg, err := loadConfig(map[string]string{"ZENDESK_CLIENT_ID": "id", "APP_URL": "http://localhost:3000", "PORT": "3701", "SESSION_SECRET": testSessionSecret}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.warnings) != 1 || !strings.Contains(cfg.warnings[0], "port 3000 but the app listens on PORT 3701") {
		t.Errorf("warnings %q, want one about the ports", cfg.warnings)
	}
	for _, vars := range []map[string]string{
		{"ZENDESK_CLIENT_ID": "id", "PORT": "3701", "SESSION_SECRET": testSessionSecret},
		{"ZENDESK_CLIENT_ID": "id", "APP_URL": "https://app.example.com", "SESSION_SECRET": testSessionSecret}, // behind a proxy
	} {
		cfg, err := loadConfig(vars, false)
		if err != nil || len(cfg.warnings) != 0 || cfg.listenAddr() != ":"+cfg.port {
			t.Errorf("%v: warnings %q, listening on %q, error %v", vars, cfg.warnings, cfg.listenAddr(), err)
		}
	}
}

// The demo keeps to this machine and to keys of its own: nothing it
// issues opens in an app configured for production.
func TestDemoConfig(t *testing.T) {
	vars := map[string]string{"SESSION_SECRET": testSessionSecret, "ZENDESK_CLIENT_ID": "prod-client", "ZENDESK_SUBDOMAIN": "acme", "PORT": "3701"}
	cfg, err := loadConfig(vars, true)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.listenAddr() != "localhost:3701" || cfg.appURL != "http://localhost:3701" || cfg.clientID != "demo-client" || len(cfg.warnings) != 0 {
		t.Errorf("demo config: listen %q, APP_URL %q, client %q, warnings %q", cfg.listenAddr(), cfg.appURL, cfg.clientID, cfg.warnings)
	}
	if string(cfg.secrets[0]) == testSessionSecret {
		t.Error("the demo seals cookies with SESSION_SECRET")
	}
	vars["APP_URL"] = "https://app.example.com"
	if _, err := loadConfig(vars, true); err == nil || !strings.Contains(err.Error(), "the demo serves this machine only") {
		t.Errorf("demo with a public APP_URL: %v", err)
	}
}

func TestRunRefusesBadConfig(t *testing.T) {
	var stdout, stderr strings.Builder
	err := run(context.Background(), nil, map[string]string{"ZENDESK_SUBDOMAIN": "acme"}, &stdout, &stderr)
	var cfgErr *configError
	if !errors.As(err, &cfgErr) || !strings.Contains(err.Error(), "ZENDESK_CLIENT_ID is not set") {
		t.Fatalf("err = %v, want a configError naming ZENDESK_CLIENT_ID", err)
	}

	for _, args := range [][]string{{"-bogus"}, {"demo"}} {
		stderr.Reset()
		err = run(context.Background(), args, nil, &stdout, &stderr)
		var usage *usageError
		if !errors.As(err, &usage) || !strings.Contains(stderr.String(), "Usage") || strings.Contains(err.Error(), "configuration") {
			t.Errorf("%q: err %v, stderr %q: want a usage error", args, err, stderr.String())
		}
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

// TestDemo runs the program as "go run ." does in a fresh clone, with no
// settings, and signs in through the demo it serves.
func TestDemo(t *testing.T) {
	port := freePort(t)
	banner, stderr, _ := runUntilOpen(t, map[string]string{"PORT": port})
	mustContain(t, banner, "no ZENDESK_* setting is set, so the built-in simulator plays Zendesk, at http://127.0.0.1:", "Open http://localhost:"+port)

	appURL := "http://localhost:" + port
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	start, err := client.Get(appURL + "/zendesk/auth") // listening: no retry
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
	if page.StatusCode != 200 || !strings.Contains(string(body), "Hi, John Doe!") || !strings.Contains(string(body), "simulated Zendesk") {
		t.Errorf("demo sign-in: status %d\n%s", page.StatusCode, body)
	}
	if logs := stderr.String(); strings.Contains(logs, "SESSION_SECRET") || !strings.Contains(logs, "addr=127.0.0.1:"+port) || !strings.Contains(logs, "demo=true") {
		t.Errorf("demo log: want it listening on 127.0.0.1 only, with no SESSION_SECRET warning:\n%s", logs)
	}
}

// TestVersionFlag: -version prints one line and starts nothing, whatever
// the settings.
func TestVersionFlag(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var stdout, stderr strings.Builder
	if err := run(ctx, []string{"-version"}, nil, &stdout, &stderr); err != nil {
		t.Fatalf("run -version: %v", err)
	}
	out := stdout.String()
	if !strings.HasPrefix(out, "zendesk-oauth-app ") || strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
		t.Errorf("run -version printed %q, want one line starting with \"zendesk-oauth-app \"", out)
	}
	if stderr.Len() != 0 {
		t.Errorf("run -version wrote to stderr: %q", stderr.String())
	}
	t.Logf("%s", strings.TrimSpace(out))
}

// runUntilOpen runs the program in-process with env until it says "Open"
// (it listens then), and stops it when the test ends. It returns what it
// printed up to there, and its log.
func runUntilOpen(t *testing.T, env map[string]string) (banner string, log *syncBuffer, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdoutR, stdoutW := io.Pipe()
	log = &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, nil, env, stdoutW, log)
		stdoutW.Close()
	}()
	// stop shuts the program down as SIGTERM does, and waits until every
	// request has finished, its log line written.
	stop = sync.OnceFunc(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	t.Cleanup(stop)
	var lines []string
	for out := bufio.NewScanner(stdoutR); out.Scan(); {
		if lines = append(lines, out.Text()); strings.HasPrefix(out.Text(), "Open ") {
			go io.Copy(io.Discard, stdoutR)
			return strings.Join(lines, "\n"), log, stop
		}
	}
	t.Fatalf("the program ended without \"Open\": %s\n%s", strings.Join(lines, "\n"), log)
	return "", nil, nil
}

// LOG_FORMAT=json writes the same lines as JSON objects, for log pipelines.
// A right-to-left override in what a request sends reaches the log as an
// escape: the line reads as what it says.
func TestJSONLogs(t *testing.T) {
	port := freePort(t)
	_, stderr, stop := runUntilOpen(t, map[string]string{"PORT": port, "LOG_FORMAT": "json"})
	for _, target := range []string{"/%E2%80%AEgnp.exe", "/zendesk/auth?subdomain=%E2%80%AEacme&return=/%E2%80%AEx"} {
		resp, err := http.Get("http://localhost:" + port + target)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	stop()
	if strings.Contains(stderr.String(), "\u202e") || !strings.Contains(stderr.String(), `\u202egnp.exe`) {
		t.Errorf("the override is not escaped:\n%s", stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	for _, line := range lines {
		var record struct {
			Level, Msg string
		}
		if err := json.Unmarshal([]byte(line), &record); err != nil || record.Msg == "" {
			t.Errorf("not a JSON log line: %q (%v)", line, err)
		}
	}
	if !strings.Contains(stderr.String(), `"msg":"listening"`) {
		t.Errorf("no listening line:\n%s", stderr.String())
	}
	if _, err := loadConfig(map[string]string{"ZENDESK_CLIENT_ID": "id", "LOG_FORMAT": "xml"}, false); err == nil || !strings.Contains(err.Error(), "LOG_FORMAT") {
		t.Errorf("LOG_FORMAT=xml: %v, want a problem naming it", err)
	}
}

// In the many-instances mode a local OAuth client fails on every Zendesk
// but its own, with Zendesk's "No such client" page: the start-up output
// says so, unless the client is a global one (zdg-).
func TestModeLineNamesTheLocalClientTrap(t *testing.T) {
	for clientID, warns := range map[string]bool{"my-local-client": true, "zdg-acme-app": false} {
		cfg, err := loadConfig(map[string]string{"ZENDESK_CLIENT_ID": clientID, "SESSION_SECRET": testSessionSecret}, false)
		if err != nil {
			t.Fatal(err)
		}
		line := modeLine(cfg, false)
		if !strings.HasPrefix(line, "Many instances") || strings.Contains(line, `"No such client"`) != warns ||
			strings.Contains(line, "Set ZENDESK_SUBDOMAIN, or ask Zendesk for a global client") != warns {
			t.Errorf("client %s: %q", clientID, line)
		}
	}
}
