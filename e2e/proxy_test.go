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

	"zendesk-oauth-app/internal/browsertest"
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

// requireNginx returns nginx, or skips the test without it (fails it when
// PROXY_TEST=1).
func requireNginx(t *testing.T) string {
	t.Helper()
	bin, err := nginxBinary()
	if err != nil {
		browsertest.SkipWithout(t, "PROXY_TEST", "nginx (looked in PATH and /usr/sbin/nginx)", "apt-get install nginx")
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

// deployConfig returns deploy/nginx.conf made to run here, with nothing
// changed that decides how nginx treats a request: its comments left out;
// pid, logs and temporary files in dir; the workers run as root when the
// test does (as nobody they could not enter dir); localhost and the
// test's certificate instead of app.example.com and its own; free ports
// instead of 80 and 443, the https server on httpsPort; no IPv6 addresses
// where the machine has none. With upstreams, those are the instances,
// each with the parameters the file gives its own, and every proxied
// answer names the instances that served it in X-Upstream.
func deployConfig(t *testing.T, dir string, certs proxyCerts, httpsPort string, upstreams []string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "deploy", "nginx.conf"))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			lines = append(lines, l)
		}
	}
	conf := strings.Join(lines, "\n")

	user := ""
	if os.Geteuid() == 0 {
		user = "user root;"
	}
	temps := "http {\n"
	for _, name := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		temps += fmt.Sprintf("    %s_temp_path %q;\n", name, filepath.Join(dir, name))
	}
	for _, r := range [][2]string{
		{"/etc/letsencrypt/live/app.example.com/fullchain.pem", certs.certFile},
		{"/etc/letsencrypt/live/app.example.com/privkey.pem", certs.keyFile},
		{"app.example.com", "localhost"},
		{"/var/log/nginx/", dir + "/"},
		{"pid /run/nginx.pid;", fmt.Sprintf("pid %q;", filepath.Join(dir, "nginx.pid"))},
		{"user www-data;", user},
		{"\nhttp {\n", "\n" + temps},
	} {
		if !strings.Contains(conf, r[0]) {
			t.Fatalf("deploy/nginx.conf no longer contains %q: update deployConfig", r[0])
		}
		conf = strings.ReplaceAll(conf, r[0], r[1])
	}

	// Ports 80 and 443 become free ones (root is not needed, nor are the
	// ports), and IPv6 addresses are left out where the machine has no
	// IPv6.
	ports := map[string]string{"80": freePort(t), "443": httpsPort}
	ipv6 := true
	if l, err := net.Listen("tcp6", "[::]:0"); err != nil {
		ipv6 = false
	} else {
		l.Close()
	}
	listen := regexp.MustCompile(`^(\s*listen (?:\[::\]:)?)(80|443)\b`)
	server := regexp.MustCompile(`^(\s*server )(\d+\.\d+\.\d+\.\d+:\d+)(.*;)$`)
	lines, listens := strings.Split(conf, "\n"), 0
	var servers []int // the lines of the upstream's servers
	for i, line := range lines {
		if m := server.FindStringSubmatch(line); m != nil {
			servers = append(servers, i)
			if params := server.FindStringSubmatch(lines[servers[0]])[3]; m[3] != params {
				t.Fatalf("deploy/nginx.conf gives its instances different parameters (%q, %q): update deployConfig", params, m[3])
			}
			continue
		}
		m := listen.FindStringSubmatch(line)
		switch {
		case m == nil:
		case !ipv6 && strings.Contains(line, "[::]"):
			lines[i], listens = "", listens+1
		default:
			lines[i], listens = m[1]+ports[m[2]]+line[len(m[0]):], listens+1
		}
	}
	if listens == 0 || len(servers) == 0 {
		t.Fatal("deploy/nginx.conf has no listen 80 or 443, or no upstream server: update deployConfig")
	}
	if upstreams != nil {
		m := server.FindStringSubmatch(lines[servers[0]])
		var ours []string
		for _, u := range upstreams {
			ours = append(ours, m[1]+u+m[3])
		}
		for _, i := range servers {
			lines[i] = ""
		}
		lines[servers[0]] = strings.Join(ours, "\n")
	}
	conf = strings.Join(lines, "\n")

	if upstreams != nil {
		const pass = "proxy_pass http://zendesk_oauth_app;"
		if strings.Count(conf, pass) != 1 {
			t.Fatalf("deploy/nginx.conf has %d %q lines, want 1: update deployConfig", strings.Count(conf, pass), pass)
		}
		// Test only: which instance answered (all of them, after a retry).
		conf = strings.Replace(conf, pass, pass+"\n            add_header X-Upstream $upstream_addr always;", 1)
	}
	return conf
}

// deployDirective returns the arguments of the one directive called name
// in deploy/nginx.conf, e.g. "2 16k" for large_client_header_buffers.
func deployDirective(t *testing.T, name string) string {
	t.Helper()
	found := deployDirectives(t, name)
	if len(found) != 1 {
		t.Fatalf("deploy/nginx.conf has %d %s directives, want 1: %q", len(found), name, found)
	}
	return found[0]
}

// deployDirectives returns the arguments of every directive called name in
// deploy/nginx.conf, in order.
func deployDirectives(t *testing.T, name string) []string {
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
	return found
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

// startNginx runs nginx with conf in the foreground, so the test owns the
// process, waits until it answers healthz at https://localhost:port
// through client, and stops it (gracefully, then by force) when the test
// ends.
func startNginx(t *testing.T, bin, dir, conf string, client *http.Client, port string) {
	t.Helper()
	confFile := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	output := &syncBuffer{}
	cmd := exec.Command(bin, "-p", dir+string(filepath.Separator), "-c", confFile, "-g", "daemon off;")
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

// proxyTransport is a browser's transport to nginx at
// https://localhost:nginxPort: it trusts the test CA only, and dials from
// the loopback address from (127.0.0.1 when empty), so that a test can
// play people at different client addresses.
func proxyTransport(t *testing.T, certs proxyCerts, nginxPort, from string) *http.Transport {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	if from != "" {
		dialer.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from)}
	}
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
	return transport
}

// fleet is n instances of the app behind nginx running deploy/nginx.conf,
// as it runs them: the same settings and SESSION_SECRET, each on its own
// port, APP_URL the proxy's address.
type fleet struct {
	sim       *zendesksim.Server
	instances []*process
	appURL    string // https://localhost:PORT, nginx
	nginxPort string
	dir       string // nginx's files: access.log, error.log
	certs     proxyCerts
}

// startFleet starts a simulated Zendesk with opts (plus the test's client
// and redirect URL), n instances and nginx in front of them. Everything
// stops when the test ends.
func startFleet(t *testing.T, bin string, n int, opts zendesksim.Options) *fleet {
	t.Helper()
	f := &fleet{dir: t.TempDir(), nginxPort: freePort(t)}
	f.certs = newProxyCerts(t, f.dir)
	f.appURL = "https://localhost:" + f.nginxPort
	opts.ClientID, opts.ClientSecret = testClientID, testClientSecret
	opts.RedirectURIs = []string{f.appURL + "/zendesk/oauth/callback"}
	f.sim = zendesksim.NewServer(opts)
	t.Cleanup(f.sim.Close)
	var addrs []string
	for range n {
		port := freePort(t)
		env := appEnv(port, f.sim.URL)
		env["APP_URL"] = f.appURL
		in := startApp(t, env)
		f.instances = append(f.instances, in)
		addrs = append(addrs, in.addr)
	}
	ready := &http.Client{Timeout: time.Second, Transport: proxyTransport(t, f.certs, f.nginxPort, "")}
	startNginx(t, bin, f.dir, deployConfig(t, f.dir, f.certs, f.nginxPort, addrs), ready, f.nginxPort)
	return f
}

// instance returns the instance listening at addr.
func (f *fleet) instance(t *testing.T, addr string) *process {
	t.Helper()
	i := slices.IndexFunc(f.instances, func(p *process) bool { return p.addr == addr })
	if i < 0 {
		t.Fatalf("no instance at %q", addr)
	}
	return f.instances[i]
}

// accessLog waits until nginx's access log holds a line with want (nginx
// writes a line once the answer is sent, so after the browser has it),
// and returns the whole log.
func (f *fleet) accessLog(t *testing.T, want string) string {
	t.Helper()
	var log string
	if !poll(5*time.Second, 2*time.Millisecond, func() bool {
		b, _ := os.ReadFile(filepath.Join(f.dir, "access.log"))
		log = string(b)
		return strings.Contains(log, want)
	}) {
		t.Fatalf("the access log has no line with %q:\n%s", want, log)
	}
	return log
}

// proxied is a response that came through nginx.
type proxied struct {
	*http.Response
	body     string
	upstream string // the instance that answered: the last of X-Upstream
}

// TestBehindNginx signs in through nginx running deploy/nginx.conf, in
// front of two instances of the app, with Zendesk's tokens of 2 KB and of
// 4 KB, the largest docs/tokens.md promises to keep. It checks that one
// person's pages come from one instance, that the person stays signed in
// when that instance stops, through the other, which opens the cookies it
// sealed, and can sign out; that the cookies keep the request headers
// within what the file accepts; and that the access log keeps no query
// string.
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
	f := startFleet(t, bin, 2, zendesksim.Options{TokenBytes: tokenBytes})
	sim, appURL := f.sim, f.appURL

	// A browser that keeps cookies, shows every redirect, and measures the
	// request headers it sends.
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	sent := &headerSizes{RoundTripper: proxyTransport(t, f.certs, f.nginxPort, "")}
	client := &http.Client{
		Transport:     sent,
		Jar:           jar,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}

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

	// The access log names the callback's path, never its query: neither
	// the code nor the state.
	log := f.accessLog(t, "/zendesk/oauth/callback")
	query, _ := url.Parse(callback)
	for _, name := range []string{"code", "state"} {
		if v := query.Query().Get(name); v == "" || strings.Contains(log, name+"=") || strings.Contains(log, v) {
			t.Errorf("the access log holds the callback's %s (or it has none):\n%s", name, log)
		}
	}

	// One person, one instance: the pages of one session come from the
	// instance its cookie hashes to.
	var home string
	for i := range 6 {
		p := do("GET", appURL+"/", nil)
		if p.StatusCode != http.StatusOK || !strings.Contains(p.body, greeting) {
			t.Fatalf("GET / via %s: status %d, want 200 and %q\n%s", p.upstream, p.StatusCode, greeting, p.body)
		}
		if i == 0 {
			home = p.upstream
		} else if p.upstream != home {
			t.Errorf("GET / %d came from %s, the first from %s: one session, want one instance", i+1, p.upstream, home)
		}
	}

	// Two refreshes. The rotated pair reaches the browser: the page after
	// a refresh takes one users/me call with the new access token. With
	// the old cookie it would take two (the expired token's 401, and the
	// retry with the pair the instance kept for such requests).
	for i := range 2 {
		sim.ExpireAccessTokens()
		before := sim.Stats()
		refreshed := do("GET", appURL+"/", nil)
		if refreshed.StatusCode != http.StatusOK || !strings.Contains(refreshed.body, greeting) || !setsCookie(refreshed) {
			t.Fatalf("refresh %d: GET / via %s: status %d, cookies %v, want 200, %q and new cookies\n%s",
				i+1, refreshed.upstream, refreshed.StatusCode, refreshed.Header.Values("Set-Cookie"), greeting, refreshed.body)
		}
		next := do("GET", appURL+"/", nil)
		if next.StatusCode != http.StatusOK || !strings.Contains(next.body, greeting) {
			t.Fatalf("after refresh %d: GET / via %s: status %d, want 200 and %q\n%s", i+1, next.upstream, next.StatusCode, greeting, next.body)
		}
		home = next.upstream
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

	// The person's instance stops (a deploy, a crash): the person stays
	// signed in through the other, which opens the cookies the first one
	// sealed.
	stopped := f.instance(t, home)
	if err := stopped.stop(); err != nil {
		t.Fatalf("stopping instance %s: %v", stopped.addr, err)
	}
	for i := range 4 {
		p := do("GET", appURL+"/", nil)
		if p.StatusCode != http.StatusOK || !strings.Contains(p.body, greeting) || p.upstream == stopped.addr {
			t.Fatalf("GET / %d after %s stopped: status %d via %q, want 200 and %q from the other instance\n%s",
				i+1, stopped.addr, p.StatusCode, p.Header.Get("X-Upstream"), greeting, p.body)
		}
		if i == 0 {
			t.Logf("first page after %s stopped came via %q", stopped.addr, p.Header.Get("X-Upstream"))
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

// checkDeployConfig runs "nginx -t" on the whole of deploy/nginx.conf,
// made to run here by deployConfig.
func checkDeployConfig(t *testing.T, bin string, certs proxyCerts) {
	dir := t.TempDir()
	confFile := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confFile, []byte(deployConfig(t, dir, certs, freePort(t), nil)), 0o644); err != nil {
		t.Fatal(err)
	}
	// "nginx -t" binds the listening sockets, on free ports.
	out, err := exec.Command(bin, "-t", "-p", dir+string(filepath.Separator), "-c", confFile).CombinedOutput()
	// A warning ("load balancing method redefined", say) is a mistake too.
	if err != nil || !strings.Contains(string(out), "test is successful") || strings.Contains(string(out), "[warn]") {
		t.Errorf("nginx -t: %v\n%s", err, out)
	}
}
