// Command zendesk-oauth-app is the web app from Zendesk's tutorial "Using
// OAuth to authenticate Zendesk API requests in a web app", in Go: a person
// signs in with Zendesk (OAuth 2.0 authorization code flow with PKCE), and
// the app calls the Zendesk Support API on their behalf to greet them by
// name and role.
//
// Run it against the built-in Zendesk simulator with "go run . -demo", or
// against a real Zendesk with the settings described in README.md.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"zendesk-oauth-app/internal/zendesksim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	getenv, err := withDotEnv(os.LookupEnv, ".env")
	if err == nil {
		err = run(ctx, os.Args[1:], getenv, os.Stdout, os.Stderr)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		var cfgErr *configError
		if errors.As(err, &cfgErr) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// run is the whole program. It takes its environment as arguments so tests
// can start it in-process.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("zendesk-oauth-app", flag.ContinueOnError)
	flags.SetOutput(stderr)
	demo := flags.Bool("demo", false, "run against the built-in Zendesk simulator: no Zendesk account needed")
	version := flags.Bool("version", false, "print the version and exit")
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return &configError{problems: []string{err.Error()}}
	}
	if *version {
		fmt.Fprintln(stdout, versionString())
		return nil
	}

	logger := slog.New(slog.NewTextHandler(stderr, nil))
	if *demo {
		getenv = demoEnv(getenv)
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	if cfg.randomSecret {
		logger.Warn("SESSION_SECRET is not set: using a random one, so sign-ins end when the app restarts")
	}
	if *demo {
		sim := zendesksim.NewServer(zendesksim.Options{
			ClientID:     cfg.clientID,
			ClientSecret: cfg.clientSecret,
			RedirectURIs: []string{cfg.redirectURI()},
		})
		defer sim.Close()
		cfg.baseURL = sim.URL
		fmt.Fprintf(stdout, "Demo mode: Zendesk is simulated at %s, no account needed. Open %s\n", sim.URL, cfg.appURL)
	}

	a, err := newApp(cfg, logger)
	if err != nil {
		return err
	}
	listener, err := net.Listen("tcp", ":"+cfg.port)
	if err != nil {
		return err
	}
	srv := newServer(a)
	logger.Info("listening", "addr", listener.Addr().String(), "url", cfg.appURL, "zendesk", cfg.zendeskOrigin())

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(listener) }()
	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	// Let requests in progress finish: a page may legitimately take as long
	// as the write timeout.
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), srv.WriteTimeout)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}

// newServer wraps the app in a server with bounds for slow or hostile
// clients: headers must arrive within 5 s and fit in 32 KiB (431
// otherwise). A page may make up to four Zendesk calls (refresh, users/me,
// refresh, retry), which sets the write timeout.
func newServer(a *app) *http.Server {
	return &http.Server{
		Handler:           a.routes(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      4*a.cfg.zendeskTimeout + 5*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
}

// config is the app's settings, read from the environment.
type config struct {
	subdomain    string // "" selects the global-client mode: each person names their Zendesk
	clientID     string
	clientSecret string // "" makes the app a public client that relies on PKCE alone
	scopes       string
	port         string
	appURL       string // origin the browser uses, e.g. http://localhost:3000
	https        bool
	secrets      [][]byte // the first seals cookies, all open them
	randomSecret bool
	baseURL      string // ZENDESK_BASE_URL: replaces https://{subdomain}.zendesk.com

	// Not settings: seams for tests.
	zendeskTimeout time.Duration
	now            func() time.Time
}

func (c *config) redirectURI() string { return c.appURL + "/zendesk/oauth/callback" }

// zendeskOrigin is where the browser and the app go for Zendesk: the base
// URL's origin, the configured instance, or any instance.
func (c *config) zendeskOrigin() string {
	switch {
	case c.baseURL != "":
		u, _ := url.Parse(c.baseURL) // checked by loadConfig
		return u.Scheme + "://" + u.Host
	case c.subdomain == "":
		return "https://*.zendesk.com"
	}
	return "https://" + c.subdomain + ".zendesk.com"
}

// configError lists every problem with the settings at once, so a person
// fixes them in one go.
type configError struct{ problems []string }

func (e *configError) Error() string {
	return "configuration problems:\n  - " + strings.Join(e.problems, "\n  - ") +
		"\nSet these in the environment or in a .env file (see .env.example), or run \"go run . -demo\" to try the app against the built-in Zendesk simulator."
}

// loadConfig reads and checks the settings. Messages name the variable and
// the fix, never a secret's value.
func loadConfig(getenv func(string) string) (*config, error) {
	var problems []string
	problem := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	cfg := &config{
		clientID:       strings.TrimSpace(getenv("ZENDESK_CLIENT_ID")),
		clientSecret:   strings.TrimSpace(getenv("ZENDESK_CLIENT_SECRET")),
		scopes:         strings.Join(strings.Fields(getenv("ZENDESK_SCOPES")), " "),
		port:           strings.TrimSpace(getenv("PORT")),
		zendeskTimeout: 10 * time.Second,
		now:            time.Now,
	}

	if s := getenv("ZENDESK_SUBDOMAIN"); s != "" {
		var ok bool
		if cfg.subdomain, ok = normalizeSubdomain(s); !ok {
			problem("ZENDESK_SUBDOMAIN %q is not a Zendesk subdomain: use the first part of your Zendesk address, e.g. acme for acme.zendesk.com (leave it unset to let each person name their Zendesk)", shorten(s, 100))
		}
	}
	if cfg.clientID == "" {
		problem("ZENDESK_CLIENT_ID is not set: use the Identifier of your OAuth client (Admin Center > Apps and integrations > APIs > OAuth clients)")
	}
	if cfg.scopes == "" {
		cfg.scopes = "users:read"
	}
	if cfg.port == "" {
		cfg.port = "3000"
	}
	if n, err := strconv.Atoi(cfg.port); err != nil || n < 1 || n > 65535 {
		problem("PORT %q is not a port number: use a number from 1 to 65535, e.g. 3000", shorten(cfg.port, 20))
	}

	appURL := strings.TrimSpace(getenv("APP_URL"))
	if appURL == "" {
		appURL = "http://localhost:" + cfg.port
	}
	if origin, err := parseAppURL(appURL); err != nil {
		problem("APP_URL %q %v", redacted(appURL), err)
	} else {
		cfg.appURL, cfg.https = origin, strings.HasPrefix(origin, "https://")
	}

	if base := strings.TrimSpace(getenv("ZENDESK_BASE_URL")); base != "" {
		u, err := url.Parse(base)
		if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" ||
			(u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname()))) {
			// The client secret, codes and tokens go there: https only,
			// except to this machine (the simulator, a local proxy).
			problem("ZENDESK_BASE_URL %q is not an https base URL: use e.g. https://proxy.example.com (http only for localhost), or leave it unset", redacted(base))
		} else {
			cfg.baseURL = strings.TrimSuffix(base, "/")
		}
	}

	if secrets := getenv("SESSION_SECRET"); secrets == "" {
		cfg.secrets, cfg.randomSecret = [][]byte{[]byte(rand.Text() + rand.Text())}, true
	} else {
		for i, s := range strings.Split(secrets, ",") {
			if len(strings.TrimSpace(s)) < 32 {
				problem("SESSION_SECRET: secret %d of the comma-separated list is shorter than 32 bytes: generate one with \"openssl rand -base64 32\"", i+1)
			}
			cfg.secrets = append(cfg.secrets, []byte(strings.TrimSpace(s)))
		}
	}

	if len(problems) > 0 {
		return nil, &configError{problems: problems}
	}
	return cfg, nil
}

// parseAppURL checks APP_URL and returns its origin. Zendesk accepts http
// redirect URLs only for localhost, and cookies over plain http elsewhere
// would travel in the clear, so every other address must use https.
func parseAppURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.Trim(u.Path, "/") != "" {
		return "", errors.New("is not an origin: use the address people open, without a path, e.g. https://app.example.com")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return "", errors.New("uses http on a host other than localhost: use https://" + u.Host + " (behind a TLS-terminating proxy), or http://localhost for local development")
		}
	default:
		return "", errors.New("must start with https:// (or http://localhost for local development)")
	}
	return u.Scheme + "://" + u.Host, nil
}

func isLoopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// redacted quotes a URL from the settings without the password it may hold.
func redacted(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(not a URL)"
	}
	return shorten(u.Redacted(), 200)
}

// demoEnv points the app at the built-in simulator's client.
func demoEnv(getenv func(string) string) func(string) string {
	return func(key string) string {
		switch key {
		case "ZENDESK_CLIENT_ID":
			return "demo-client"
		case "ZENDESK_CLIENT_SECRET":
			return "demo-secret"
		case "ZENDESK_BASE_URL":
			return "" // set to the simulator once it listens
		case "ZENDESK_SUBDOMAIN":
			if v := getenv(key); v != "" {
				return v
			}
			return "demo"
		}
		return getenv(key)
	}
}

// withDotEnv adds the KEY=VALUE lines of a .env file, if there is one, to
// the environment. The real environment wins, even with an empty value.
func withDotEnv(lookup func(string) (string, bool), path string) (func(string) string, error) {
	getenv := func(key string) string { v, _ := lookup(key); return v }
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return getenv, nil
	} else if err != nil {
		return nil, err
	}
	defer f.Close()
	values, err := parseDotEnv(f)
	if err != nil {
		return nil, &configError{problems: []string{path + ": " + err.Error()}}
	}
	return func(key string) string {
		if v, ok := lookup(key); ok {
			return v
		}
		return values[key]
	}, nil
}

// parseDotEnv reads KEY=VALUE lines; blank lines and # comments are
// skipped, an optional "export " prefix and matching quotes are removed.
func parseDotEnv(r io.Reader) (map[string]string, error) {
	values := map[string]string{}
	scanner := bufio.NewScanner(r)
	for n := 1; scanner.Scan(); n++ {
		line := strings.TrimSpace(scanner.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if !ok || key == "" {
			return nil, fmt.Errorf("line %d is not KEY=VALUE", n)
		}
		if len(value) >= 2 && (value[0] == '"' || value[0] == '\'') && value[len(value)-1] == value[0] {
			value = value[1 : len(value)-1]
		}
		values[key] = value
	}
	return values, scanner.Err()
}

// versionString reports the module version and VCS revision the binary
// was built from.
func versionString() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "zendesk-oauth-app (no build information)"
	}
	v := "zendesk-oauth-app " + info.Main.Version
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	if rev := settings["vcs.revision"]; rev != "" {
		v += " " + rev
		if settings["vcs.modified"] == "true" {
			v += " (modified)"
		}
	}
	return v + " " + info.GoVersion
}

// app holds what the handlers need. It is built once at start-up.
type app struct {
	cfg       *config
	zendesk   *zendeskClient
	cookies   *cookies
	refresher *refresher
	pages     *pages
	log       *slog.Logger
	csp       string
}

func newApp(cfg *config, logger *slog.Logger) (*app, error) {
	sealer, err := newSealer(cfg.secrets)
	if err != nil {
		return nil, err
	}
	instanceURL := func(subdomain string) string { return "https://" + subdomain + ".zendesk.com" }
	if cfg.baseURL != "" {
		instanceURL = func(string) string { return cfg.baseURL }
	}
	return &app{
		cfg: cfg,
		zendesk: &zendeskClient{
			http:         newHTTPClient(cfg.zendeskTimeout),
			clientID:     cfg.clientID,
			clientSecret: cfg.clientSecret,
			scopes:       cfg.scopes,
			redirectURI:  cfg.redirectURI(),
			instanceURL:  instanceURL,
			now:          cfg.now,
		},
		cookies:   &cookies{sealer: sealer, secure: cfg.https, now: cfg.now},
		refresher: newRefresher(cfg.now),
		pages:     parsePages(),
		log:       logger,
		csp:       contentSecurityPolicy(cfg),
	}, nil
}

// contentSecurityPolicy allows the pages nothing but their own stylesheet,
// and lets forms lead only to the app and to Zendesk: browsers apply
// form-action to the redirect that follows a form, and the instance form
// redirects to the person's Zendesk.
func contentSecurityPolicy(cfg *config) string {
	return "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self' " + cfg.zendeskOrigin() +
		"; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
}
