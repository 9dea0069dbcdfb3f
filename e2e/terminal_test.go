package e2e

import (
	"bufio"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"zendesk-oauth-app/internal/zendesksim"
)

// What the app says in the terminal: the binary started as a person starts
// it, in a folder of their own (where a .env file may be), with its stdout
// and stderr apart.

// terminal is the app's binary running with exactly env, in dir. Only the
// test reads its stdout: the app writes a few lines there, far less than a
// pipe holds.
type terminal struct {
	cmd    *exec.Cmd
	stdout *bufio.Scanner
	stderr *os.File // a file, which the app writes itself: all it wrote before a stdout line is there
	exited chan struct{}
	state  *os.ProcessState // how it exited, once exited is closed
}

func startTerminal(t *testing.T, dir string, env map[string]string, args ...string) *terminal {
	t.Helper()
	term := &terminal{cmd: exec.Command(appBinary, args...), exited: make(chan struct{})}
	for k, v := range env {
		term.cmd.Env = append(term.cmd.Env, k+"="+v)
	}
	stderr, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	term.stderr = stderr
	term.cmd.Dir = dir
	term.cmd.Stderr = stderr
	out, err := term.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	term.stdout = bufio.NewScanner(out)
	if err := term.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Process.Wait, not cmd.Wait: that would close stdout under a reader.
	go func() {
		term.state, _ = term.cmd.Process.Wait()
		close(term.exited)
	}()
	t.Cleanup(func() {
		defer out.Close()
		defer stderr.Close()
		term.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-term.exited:
		case <-time.After(10 * time.Second):
			term.cmd.Process.Kill()
			t.Error("the app outlived SIGTERM by 10 s")
		}
		if t.Failed() {
			t.Logf("stderr:\n%s", term.log())
		}
	})
	return term
}

// log is what the app has written to stderr so far.
func (term *terminal) log() string {
	b, _ := os.ReadFile(term.stderr.Name())
	return string(b)
}

// upToOpen reads stdout up to its "Open ..." line, and returns it all.
func (term *terminal) upToOpen(t *testing.T) string {
	t.Helper()
	var lines []string
	for term.stdout.Scan() {
		lines = append(lines, term.stdout.Text())
		if strings.HasPrefix(term.stdout.Text(), "Open ") {
			return strings.Join(lines, "\n")
		}
	}
	t.Fatalf("the app printed no \"Open\" line:\n%s", strings.Join(lines, "\n"))
	return ""
}

// "Open http://..." comes once the app listens: the address answers at
// once. The demo says why it runs.
func TestTerminalDemo(t *testing.T) {
	port := freePort(t)
	out := startTerminal(t, t.TempDir(), map[string]string{"PORT": port}).upToOpen(t)
	if !strings.Contains(out, "Demo: no ZENDESK_* setting is set, so the built-in simulator plays Zendesk") || !strings.HasSuffix(out, "Open http://localhost:"+port) {
		t.Errorf("the demo says:\n%s", out)
	}
	resp, err := http.Get("http://localhost:" + port + "/healthz")
	if err != nil {
		t.Fatalf("right after \"Open\": %v", err)
	}
	resp.Body.Close()
}

// A second app on a port in use says which port, and how to choose
// another, and exits non-zero without "Open".
func TestTerminalBusyPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	term := startTerminal(t, t.TempDir(), map[string]string{"PORT": port})
	var out []string
	for term.stdout.Scan() {
		out = append(out, term.stdout.Text())
	}
	select {
	case <-term.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("the app did not exit")
	}
	if term.state.Success() {
		t.Error("the app exited with status 0")
	}
	if strings.Contains(strings.Join(out, "\n"), "Open") {
		t.Errorf("the app said \"Open\" without listening:\n%s", strings.Join(out, "\n"))
	}
	if msg := term.log(); !strings.Contains(msg, "port "+port+" is in use") || !strings.Contains(msg, "PORT=") {
		t.Errorf("stderr: %q, want the port and how to set PORT", msg)
	}
}

// A real run says which Zendesk it signs in to, why, and the redirect URL
// to register. A setting a letter away from the real one, in the
// environment or in .env, is named with the one it resembles: a
// configuration problem (exit status 2) when the real one is unset.
func TestTerminalRealRun(t *testing.T) {
	sim := zendesksim.NewServer(zendesksim.Options{ClientID: testClientID, ClientSecret: testClientSecret})
	t.Cleanup(sim.Close)
	port := freePort(t)

	out := startTerminal(t, t.TempDir(), appEnv(port, sim.URL)).upToOpen(t)
	for _, want := range []string{"because ZENDESK_SUBDOMAIN=acme", "The OAuth client's redirect URL must be http://localhost:" + port + "/zendesk/oauth/callback"} {
		if !strings.Contains(out, want) {
			t.Errorf("a single-instance run lacks %q:\n%s", want, out)
		}
	}

	dir := t.TempDir()
	env := appEnv(freePort(t), sim.URL)
	delete(env, "ZENDESK_SUBDOMAIN")
	env["SESSION_SECRETT"] = env["SESSION_SECRET"]
	delete(env, "SESSION_SECRET")
	if err := os.WriteFile(filepath.Join(dir, ".env"), []byte("ZENDESK_SUBDOMIAN=acme\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	term := startTerminal(t, dir, env)
	for term.stdout.Scan() {
		t.Errorf("the typo's run printed %q", term.stdout.Text())
	}
	<-term.exited
	if code := term.state.ExitCode(); code != 2 {
		t.Errorf("the typo's run exited with status %d, want 2", code)
	}
	for _, want := range []string{"ZENDESK_SUBDOMIAN is not a setting: did you mean ZENDESK_SUBDOMAIN?", "SESSION_SECRETT is not a setting: did you mean SESSION_SECRET?"} {
		if !strings.Contains(term.log(), want) {
			t.Errorf("stderr lacks %q", want)
		}
	}
}

// -help lists every setting of the README's configuration table, then the
// flags, on standard output (so that "| less" works), and exits 0.
func TestTerminalHelp(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	names := regexp.MustCompile("(?m)^\\| `([A-Z_]+)` \\|").FindAllSubmatch(readme, -1)
	if len(names) < 10 {
		t.Fatalf("found %d settings in README.md's configuration table", len(names))
	}
	cmd := exec.Command(appBinary, "-help")
	cmd.Dir = t.TempDir()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	help, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("-help: %v\nstdout:\n%s\nstderr:\n%s", err, help, stderr.String())
	}
	for _, m := range names {
		if !strings.Contains(string(help), "  "+string(m[1])+" ") {
			t.Errorf("-help does not list %s", m[1])
		}
	}
	if !strings.Contains(string(help), "Flags:") || !strings.Contains(string(help), "-demo") || !strings.Contains(string(help), "-version") {
		t.Errorf("-help lacks the flags:\n%s", help)
	}
}
