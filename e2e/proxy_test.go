package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"zendesk-oauth-app/internal/zendesksim"
)

// The app behind a real TLS-terminating reverse proxy (nginx), as
// deploy/nginx.conf runs it: two instances sharing SESSION_SECRET,
// round-robin, no sticky sessions.

// nginxBinary finds nginx in PATH or at Debian's /usr/sbin/nginx (not in a
// non-root PATH). NGINX names another binary; a missing one lets the skip
// and the PROXY_TEST=1 failure be tried on a machine that has nginx.
func nginxBinary() (string, error) {
	if p := os.Getenv("NGINX"); p != "" {
		return exec.LookPath(p)
	}
	if p, err := exec.LookPath("nginx"); err == nil {
		return p, nil
	}
	return exec.LookPath("/usr/sbin/nginx")
}

// requireNginx skips the test without nginx, or fails it when PROXY_TEST=1
// (CI sets it, so the proxy tests cannot silently stop running there).
func requireNginx(t *testing.T) string {
	t.Helper()
	bin, err := nginxBinary()
	if err != nil {
		msg := "proxy tests need nginx (looked in PATH and /usr/sbin/nginx): apt-get install nginx"
		if os.Getenv("PROXY_TEST") == "1" {
			t.Fatalf("%s (PROXY_TEST=1: they must run): %v", msg, err)
		}
		t.Skip(msg)
	}
	return bin
}

// proxyCerts is a throwaway CA and a certificate it issued for localhost.
type proxyCerts struct {
	pool              *x509.CertPool // trusts the CA only
	certFile, keyFile string
}

func newProxyCerts(t *testing.T, dir string) proxyCerts {
	t.Helper()
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTemplate := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "zendesk-oauth-app proxy test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	c := proxyCerts{pool: x509.NewCertPool(), certFile: filepath.Join(dir, "localhost.pem"), keyFile: filepath.Join(dir, "localhost-key.pem")}
	c.pool.AddCert(ca)
	if err := os.WriteFile(c.certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return c
}

// nginxConfig is the test's nginx.conf: everything (pid, logs, temporary
// files) in dir, in the foreground so the test owns the process, and the
// "location /" block of deploy/nginx.conf as it is, plus X-Upstream so the
// test sees which instance answered.
func nginxConfig(t *testing.T, dir, listen string, certs proxyCerts, upstreams []string) string {
	t.Helper()
	var b strings.Builder
	if os.Geteuid() == 0 {
		// Else the workers would run as nobody, who cannot enter dir.
		b.WriteString("user root;\n")
	}
	q := func(name string) string { return fmt.Sprintf("%q", filepath.Join(dir, name)) }
	fmt.Fprintf(&b, `daemon off;
master_process on;
worker_processes 1;
pid %s;
error_log %s info;
events {
    worker_connections 64;
}
http {
    access_log %s;
    client_body_temp_path %s;
    proxy_temp_path %s;
    fastcgi_temp_path %s;
    uwsgi_temp_path %s;
    scgi_temp_path %s;
    upstream zendesk_oauth_app {
`, q("nginx.pid"), q("error.log"), q("access.log"), q("client_body"), q("proxy"), q("fastcgi"), q("uwsgi"), q("scgi"))
	for _, u := range upstreams {
		fmt.Fprintf(&b, "        server %s;\n", u)
	}
	fmt.Fprintf(&b, `        keepalive 4;
    }
    server {
        listen %s ssl;
        server_name localhost;
        ssl_certificate %q;
        ssl_certificate_key %q;
        ssl_protocols TLSv1.2 TLSv1.3;
        client_max_body_size 16k;
        large_client_header_buffers %s;
        location / {
%s
            # Test only: which instance answered (all of them, after a retry).
            add_header X-Upstream $upstream_addr always;
        }
    }
}
`, listen, certs.certFile, certs.keyFile, deployDirective(t, "large_client_header_buffers"), deployLocationBlock(t))
	return b.String()
}

// deployDirective returns the arguments of the one directive called name
// in deploy/nginx.conf, e.g. "2 16k" for large_client_header_buffers.
func deployDirective(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "deploy", "nginx.conf"))
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, l := range strings.Split(string(data), "\n") {
		l, _, _ = strings.Cut(l, "#")
		if args, ok := strings.CutPrefix(strings.TrimSpace(l), name+" "); ok {
			found = append(found, strings.TrimSuffix(strings.TrimSpace(args), ";"))
		}
	}
	if len(found) != 1 {
		t.Fatalf("deploy/nginx.conf has %d %s directives, want 1: %q", len(found), name, found)
	}
	return found[0]
}

// headerBuffers parses large_client_header_buffers' "number size": nginx
// refuses a request whose request line or any header line exceeds one
// buffer, or whose header lines do not fit in all of them.
func headerBuffers(t *testing.T, args string) (number, size int) {
	t.Helper()
	f := strings.Fields(args)
	number, err := strconv.Atoi(f[0])
	if len(f) != 2 || err != nil {
		t.Fatalf("large_client_header_buffers %q: want a number and a size", args)
	}
	return number, nginxSize(t, f[1])
}

// nginxSize parses an nginx size: bytes, or a number followed by k or m.
func nginxSize(t *testing.T, size string) int {
	t.Helper()
	unit := map[string]int{"k": 1 << 10, "K": 1 << 10, "m": 1 << 20, "M": 1 << 20}[size[len(size)-1:]]
	if unit == 0 {
		unit = 1
	} else {
		size = size[:len(size)-1]
	}
	n, err := strconv.Atoi(size)
	if err != nil {
		t.Fatalf("nginx size %q: %v", size, err)
	}
	return n * unit
}

// headerSizes records the largest request header block sent through it
// and its longest line, as they go on the wire (request line included),
// and the largest response header block received.
type headerSizes struct {
	http.RoundTripper
	mu                        sync.Mutex
	request, longLine, answer int
}

func (h *headerSizes) RoundTrip(req *http.Request) (*http.Response, error) {
	head := req.Clone(req.Context())
	head.Body, head.ContentLength = nil, 0
	var buf bytes.Buffer
	if err := head.Write(&buf); err != nil {
		return nil, err
	}
	h.mu.Lock()
	h.request = max(h.request, buf.Len())
	for _, line := range strings.Split(buf.String(), "\r\n") {
		h.longLine = max(h.longLine, len(line)+2)
	}
	h.mu.Unlock()
	resp, err := h.RoundTripper.RoundTrip(req)
	if err == nil {
		buf.Reset()
		resp.Header.Write(&buf)
		h.mu.Lock()
		h.answer = max(h.answer, len("HTTP/1.1 ")+len(resp.Status)+2+buf.Len()+2)
		h.mu.Unlock()
	}
	return resp, err
}

// deployLocationBlock returns the directives of the "location / { ... }"
// block of deploy/nginx.conf, without comments.
func deployLocationBlock(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "deploy", "nginx.conf"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	start := slices.IndexFunc(lines, func(l string) bool { return strings.TrimSpace(l) == "location / {" })
	if start < 0 {
		t.Fatal(`deploy/nginx.conf has no "location / {" line`)
	}
	var directives []string
	for _, l := range lines[start+1:] {
		l, _, _ = strings.Cut(l, "#")
		switch strings.TrimSpace(l) {
		case "":
		case "}":
			if !slices.ContainsFunc(directives, func(d string) bool { return strings.Contains(d, "proxy_pass http://zendesk_oauth_app;") }) {
				t.Fatal(`the "location /" block of deploy/nginx.conf does not proxy_pass to http://zendesk_oauth_app`)
			}
			return strings.Join(directives, "\n")
		default:
			if strings.Contains(l, "{") {
				t.Fatal(`the "location /" block of deploy/nginx.conf holds a nested block: update deployLocationBlock`)
			}
			directives = append(directives, l)
		}
	}
	t.Fatal(`the "location /" block of deploy/nginx.conf does not end`)
	return ""
}

// startNginx runs nginx in the foreground with conf, waits until it
// answers healthz at https://localhost:port through client, and stops it
// (gracefully, then by force) when the test ends.
func startNginx(t *testing.T, bin, dir, conf string, client *http.Client, port string) {
	t.Helper()
	confFile := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	output := &syncBuffer{}
	cmd := exec.Command(bin, "-p", dir+string(filepath.Separator), "-c", confFile)
	cmd.Stdout, cmd.Stderr = output, output
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting nginx: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	errorLog := func() string {
		b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		return output.String() + string(b)
	}
	t.Cleanup(func() {
		// SIGQUIT: graceful shutdown; SIGTERM: fast; then kill the master.
	stopping:
		for _, sig := range []os.Signal{syscall.SIGQUIT, syscall.SIGTERM, os.Kill} {
			cmd.Process.Signal(sig)
			select {
			case <-exited:
				break stopping
			case <-time.After(5 * time.Second):
				t.Errorf("nginx (pid %d) still running 5 s after %v", cmd.Process.Pid, sig)
			}
		}
		if t.Failed() {
			t.Logf("nginx output and error log:\n%s", errorLog())
		}
	})

	if err := waitUntilOK(client, "https://localhost:"+port+"/healthz", 5*time.Second, exited); err != nil {
		t.Fatalf("nginx: GET /healthz: %v\n%s\nconfig:\n%s", err, errorLog(), conf)
	}
}

// proxied is a response that came through nginx.
type proxied struct {
	*http.Response
	body     string
	upstream string // the instance that answered: the last of X-Upstream
}

// TestBehindNginx signs in through nginx terminating TLS in front of two
// instances of the app, with Zendesk's tokens of 2 KB and of 4 KB, the
// largest the README promises to keep. It checks that either instance
// serves the signed-in person and takes the pair the other one rotated,
// that the person stays signed in when one instance stops and can sign
// out, and that the cookies keep the request headers within what
// deploy/nginx.conf accepts.
func TestBehindNginx(t *testing.T) {
	bin := requireNginx(t)
	for _, size := range []int{2048, 4096} {
		t.Run(strconv.Itoa(size)+"-byte tokens", func(t *testing.T) {
			behindNginx(t, bin, size)
		})
	}
	t.Run("deploy/nginx.conf parses", func(t *testing.T) {
		checkDeployConfig(t, bin, newProxyCerts(t, t.TempDir()))
	})
}

func behindNginx(t *testing.T, bin string, tokenBytes int) {
	dir := t.TempDir()
	certs := newProxyCerts(t, dir)
	nginxPort := freePort(t)
	appURL := "https://localhost:" + nginxPort

	sim := zendesksim.NewServer(zendesksim.Options{
		ClientID:     testClientID,
		ClientSecret: testClientSecret,
		RedirectURIs: []string{appURL + "/zendesk/oauth/callback"},
		TokenBytes:   tokenBytes,
	})
	t.Cleanup(sim.Close)
	// Two instances as deploy/nginx.conf runs them: the same settings and
	// SESSION_SECRET, each on its own port.
	var instances []*process
	for range 2 {
		port := freePort(t)
		env := appEnv(port, sim.URL)
		env["APP_URL"] = appURL
		instances = append(instances, startApp(t, env))
	}

	// A browser that trusts the test CA only, keeps cookies, shows every
	// redirect, and measures the request headers it sends.
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	transport := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: certs.pool},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if addr == "localhost:"+nginxPort {
				addr = "127.0.0.1:" + nginxPort // where nginx listens
			}
			return dialer.DialContext(ctx, network, addr)
		},
	}
	t.Cleanup(transport.CloseIdleConnections)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	sent := &headerSizes{RoundTripper: transport}
	client := &http.Client{
		Transport:     sent,
		Jar:           jar,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}

	startNginx(t, bin, dir, nginxConfig(t, dir, "127.0.0.1:"+nginxPort, certs, []string{instances[0].addr, instances[1].addr}), client, nginxPort)

	// do sends a request; through nginx, it checks what every proxied
	// response must carry.
	do := func(method, target string, form url.Values) *proxied {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, err := http.NewRequest(method, target, body)
		if err != nil {
			t.Fatal(err)
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if method == "POST" && strings.HasPrefix(target, appURL) {
			// What a browser adds to the app's own form submission.
			req.Header.Set("Origin", appURL)
			req.Header.Set("Sec-Fetch-Site", "same-origin")
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, target, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("%s %s: reading body: %v", method, target, err)
		}
		p := &proxied{Response: resp, body: string(b)}
		if !strings.HasPrefix(target, appURL) {
			return p
		}
		if resp.TLS == nil {
			t.Errorf("%s %s: not over TLS", method, req.URL.Path)
		}
		if hsts := resp.Header.Values("Strict-Transport-Security"); len(hsts) != 1 || !strings.HasPrefix(hsts[0], "max-age=") {
			t.Errorf("%s %s: Strict-Transport-Security %q, want one max-age=...", method, req.URL.Path, hsts)
		}
		via := strings.Split(resp.Header.Get("X-Upstream"), ", ")
		p.upstream = via[len(via)-1]
		if p.upstream == "" {
			t.Errorf("%s %s: no X-Upstream header", method, req.URL.Path)
		}
		// Every cookie the app sets through the proxy, whatever its name:
		// __Host- prefixed, Secure, HttpOnly, Path=/, no Domain, SameSite=Lax.
		for _, line := range resp.Header.Values("Set-Cookie") {
			c, err := http.ParseSetCookie(line)
			if err != nil {
				t.Errorf("%s %s: Set-Cookie %q: %v", method, req.URL.Path, line, err)
				continue
			}
			if !strings.HasPrefix(c.Name, "__Host-") || !c.Secure || !c.HttpOnly ||
				c.Path != "/" || c.Domain != "" || c.SameSite != http.SameSiteLaxMode || strings.Contains(strings.ToLower(line), "domain=") {
				t.Errorf("%s %s: cookie attributes: %s", method, req.URL.Path, strings.Replace(line, c.Value, "…", 1))
			}
		}
		return p
	}
	// setsCookie reports whether a response stores a cookie, whatever its
	// name: the flow at the start, the session at the callback.
	setsCookie := func(p *proxied) bool {
		return slices.ContainsFunc(p.Cookies(), func(c *http.Cookie) bool { return c.MaxAge > 0 })
	}
	served := map[string]int{} // instance address: signed-in pages it served

	// Sign in through the proxy.
	start := do("GET", appURL+"/zendesk/auth", nil)
	if start.StatusCode != http.StatusFound || !setsCookie(start) {
		t.Fatalf("GET /zendesk/auth: status %d, cookies %v, want 302 and a cookie\n%s", start.StatusCode, start.Header.Values("Set-Cookie"), start.body)
	}
	authorize, err := url.Parse(start.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(authorize.String(), sim.URL+"/oauth/authorizations/new?") {
		t.Fatalf("authorize redirect %q, want the simulator's authorize URL", start.Header.Get("Location"))
	}
	if got := authorize.Query().Get("redirect_uri"); got != appURL+"/zendesk/oauth/callback" {
		t.Errorf("redirect_uri %q, want %q", got, appURL+"/zendesk/oauth/callback")
	}
	consent := do("POST", authorize.String(), url.Values{"decision": {"allow"}})
	callback := consent.Header.Get("Location")
	if consent.StatusCode != http.StatusFound || !strings.HasPrefix(callback, appURL+"/zendesk/oauth/callback?") {
		t.Fatalf("consent: status %d, Location %q, want 302 to the callback\n%s", consent.StatusCode, callback, consent.body)
	}
	page := do("GET", callback, nil)
	if page.StatusCode != http.StatusOK || !strings.Contains(page.body, greeting) || !setsCookie(page) {
		t.Fatalf("callback: status %d, cookies %v, want 200, %q and a cookie\n%s", page.StatusCode, page.Header.Values("Set-Cookie"), greeting, page.body)
	}
	served[page.upstream]++
	// Round-robin sends consecutive requests to alternate instances: the
	// sign-in began at one and completed at the other.
	if start.upstream == page.upstream {
		t.Errorf("/zendesk/auth and the callback were both served by %s, want one each", start.upstream)
	}

	// Round-robin: both instances open the session cookie and serve the
	// profile.
	for range 6 {
		p := do("GET", appURL+"/", nil)
		if p.StatusCode != http.StatusOK || !strings.Contains(p.body, greeting) {
			t.Fatalf("GET / via %s: status %d, want 200 and %q\n%s", p.upstream, p.StatusCode, greeting, p.body)
		}
		served[p.upstream]++
	}
	for _, in := range instances {
		if served[in.addr] == 0 {
			t.Errorf("instance %s served no signed-in page; pages served: %v", in.addr, served)
		}
	}

	// Two refreshes: one instance refreshes, and the other opens the new
	// pair at once, with no refresh of its own. Each instance remembers
	// only its own refreshes, so the other one could not have served the
	// old cookies without a refresh: the rotated pair reached the browser.
	for i := range 2 {
		sim.ExpireAccessTokens()
		before := sim.Stats()
		refreshed := do("GET", appURL+"/", nil)
		if refreshed.StatusCode != http.StatusOK || !strings.Contains(refreshed.body, greeting) || !setsCookie(refreshed) {
			t.Fatalf("refresh %d: GET / via %s: status %d, cookies %v, want 200, %q and new cookies\n%s",
				i+1, refreshed.upstream, refreshed.StatusCode, refreshed.Header.Values("Set-Cookie"), greeting, refreshed.body)
		}
		next := do("GET", appURL+"/", nil)
		if next.StatusCode != http.StatusOK || !strings.Contains(next.body, greeting) || next.upstream == refreshed.upstream {
			t.Fatalf("after refresh %d: GET / via %s: status %d, want 200 and %q from the other instance than %s\n%s",
				i+1, next.upstream, next.StatusCode, greeting, refreshed.upstream, next.body)
		}
		after := sim.Stats()
		if after[zendesksim.Refresh]-before[zendesksim.Refresh] != 1 || after[zendesksim.Me]-before[zendesksim.Me] != 3 {
			t.Errorf("refresh %d: Zendesk saw %d refreshes and %d users/me calls, want 1 and 3 (401, retry, next page)",
				i+1, after[zendesksim.Refresh]-before[zendesksim.Refresh], after[zendesksim.Me]-before[zendesksim.Me])
		}
	}

	// When Zendesk fails, the instance answers 502 itself: nginx must pass
	// that on, not replay the request (and the Zendesk calls) at the other.
	before := sim.Stats()[zendesksim.Me]
	sim.Inject(zendesksim.Me, zendesksim.ServerError, 1)
	if p := do("GET", appURL+"/", nil); p.StatusCode != http.StatusBadGateway || strings.Contains(p.Header.Get("X-Upstream"), ",") {
		t.Errorf("GET / with Zendesk failing: status %d via %q, want the app's 502 from one instance\n%s", p.StatusCode, p.Header.Get("X-Upstream"), p.body)
	}
	if calls := sim.Stats()[zendesksim.Me] - before; calls != 1 {
		t.Errorf("one page with Zendesk failing made %d users/me calls, want 1: the proxy replayed it", calls)
	}

	// One instance stops (a deploy, a crash): the person stays signed in
	// through the other.
	if err := instances[0].stop(); err != nil {
		t.Fatalf("stopping instance %s: %v", instances[0].addr, err)
	}
	for i := range 4 {
		p := do("GET", appURL+"/", nil)
		if p.StatusCode != http.StatusOK || !strings.Contains(p.body, greeting) || p.upstream != instances[1].addr {
			t.Fatalf("GET / %d after %s stopped: status %d via %q, want 200 and %q from %s\n%s",
				i+1, instances[0].addr, p.StatusCode, p.Header.Get("X-Upstream"), greeting, instances[1].addr, p.body)
		}
		if i == 0 {
			t.Logf("first page after %s stopped came via %q", instances[0].addr, p.Header.Get("X-Upstream"))
		}
	}
	if st := sim.Stats(); st[zendesksim.Exchange] != 1 || st[zendesksim.Authorize] != 0 {
		t.Errorf("Zendesk saw %d code exchanges and %d authorize pages, want 1 and 0: the person signed in again", st[zendesksim.Exchange], st[zendesksim.Authorize])
	}

	// Sign out: the token is revoked, and every part of the session goes.
	out := do("POST", appURL+"/zendesk/logout", url.Values{})
	if out.StatusCode != http.StatusSeeOther || out.Header.Get("Location") != "/?signed_out=revoked" {
		t.Fatalf("sign-out: status %d, Location %q, want 303 to /?signed_out=revoked\n%s", out.StatusCode, out.Header.Get("Location"), out.body)
	}
	if p := do("GET", appURL+"/?signed_out=revoked", nil); !strings.Contains(p.body, "access to your Zendesk account is revoked") {
		t.Errorf("the signed-out page does not say the access is revoked:\n%s", p.body)
	}
	if u, _ := url.Parse(appURL); len(jar.Cookies(u)) != 0 {
		t.Errorf("cookies left after signing out: %v", jar.Cookies(u))
	}
	if n := sim.Stats()[zendesksim.Revoke]; n != 1 {
		t.Errorf("%d revocations at Zendesk, want 1", n)
	}

	// The largest request (the cookies of a signed-in person) and the
	// largest answer (the Set-Cookie headers of a sign-in or a refresh)
	// fit in what deploy/nginx.conf accepts. nginx passing them all says
	// so too; the sizes show the margin.
	number, size := headerBuffers(t, deployDirective(t, "large_client_header_buffers"))
	answers := nginxSize(t, deployDirective(t, "proxy_buffer_size"))
	t.Logf("largest request header block %d bytes, longest line %d (large_client_header_buffers %d %d); largest answer's headers %d bytes (proxy_buffer_size %d)",
		sent.request, sent.longLine, number, size, sent.answer, answers)
	if sent.longLine > size || sent.request > number*size {
		t.Errorf("a request's header block of %d bytes, with a line of %d, exceeds large_client_header_buffers %d %d", sent.request, sent.longLine, number, size)
	}
	if sent.answer > answers {
		t.Errorf("an answer's header block of %d bytes exceeds proxy_buffer_size %d", sent.answer, answers)
	}
	if sent.request < 2*tokenBytes || sent.answer < 2*tokenBytes {
		t.Errorf("the largest request and answer header blocks are %d and %d bytes, less than the tokens' %d: the session is not in the cookies",
			sent.request, sent.answer, 2*tokenBytes)
	}
}

// checkDeployConfig runs "nginx -t" on deploy/nginx.conf with the test's
// certificate and every path that nginx writes moved into a temporary
// directory.
func checkDeployConfig(t *testing.T, bin string, certs proxyCerts) {
	data, err := os.ReadFile(filepath.Join("..", "deploy", "nginx.conf"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	conf := string(data)
	temps := "http {\n"
	for _, name := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		temps += fmt.Sprintf("    %s_temp_path %q;\n", name, filepath.Join(dir, name))
	}
	for _, r := range [][2]string{
		{"/etc/letsencrypt/live/app.example.com/fullchain.pem", certs.certFile},
		{"/etc/letsencrypt/live/app.example.com/privkey.pem", certs.keyFile},
		{"/var/log/nginx/", dir + "/"},
		{"pid /run/nginx.pid;", fmt.Sprintf("pid %q;", filepath.Join(dir, "nginx.pid"))},
		{"user www-data;", ""}, // the user may not exist here
		{"\nhttp {\n", "\n" + temps},
	} {
		if !strings.Contains(conf, r[0]) {
			t.Fatalf("deploy/nginx.conf no longer contains %q: update checkDeployConfig", r[0])
		}
		conf = strings.ReplaceAll(conf, r[0], r[1])
	}
	// "nginx -t" binds the listening sockets: ports 80 and 443 become free
	// ones (root is not needed, nor are the ports), and IPv6 addresses are
	// left out where the machine has no IPv6.
	ports := map[string]string{"80": freePort(t), "443": freePort(t)}
	ipv6 := true
	if l, err := net.Listen("tcp6", "[::]:0"); err != nil {
		ipv6 = false
	} else {
		l.Close()
	}
	listen := regexp.MustCompile(`^(\s*listen (?:\[::\]:)?)(80|443)\b`)
	lines, listens := strings.Split(conf, "\n"), 0
	for i, line := range lines {
		m := listen.FindStringSubmatch(line)
		switch {
		case m == nil:
		case !ipv6 && strings.Contains(line, "[::]"):
			lines[i], listens = "", listens+1
		default:
			lines[i], listens = m[1]+ports[m[2]]+line[len(m[0]):], listens+1
		}
	}
	conf = strings.Join(lines, "\n")
	if listens == 0 {
		t.Fatal("deploy/nginx.conf has no listen 80 or 443: update checkDeployConfig")
	}
	confFile := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-t", "-p", dir+string(filepath.Separator), "-c", confFile).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "test is successful") {
		t.Errorf("nginx -t: %v\n%s", err, out)
	}
}
