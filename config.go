package main

import (
	"cmp"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"zendesk-oauth-app/internal/zendesk"
)

// defaultScopes is what the app asks Zendesk for unless ZENDESK_SCOPES says
// otherwise: enough for Show Self. Add the scopes of the API calls you add,
// space-separated, e.g. "users:read tickets:read".
const defaultScopes = showSelfScope

// defaultSessionMaxAge is how long a sign-in lasts, refreshes or not,
// unless SESSION_MAX_AGE says otherwise.
const defaultSessionMaxAge = 7 * 24 * time.Hour

// config is the app's settings, read from the environment.
type config struct {
	demo         bool   // the built-in simulator plays Zendesk
	subdomain    string // "" selects the many-instances mode: each person names their Zendesk
	clientID     string
	clientSecret string // "" makes the app a public client that relies on PKCE alone
	scopes       string
	port         string
	listenHost   string // "" listens on every interface
	appURL       string // origin the browser uses, e.g. http://localhost:3000
	https        bool
	secrets      [][]byte    // the first seals cookies, all open them
	baseURL      string      // ZENDESK_BASE_URL: replaces https://{subdomain}.zendesk.com
	marketplace  http.Header // the X-Zendesk-Marketplace-* headers of a Marketplace app; nil if it is none
	// sessionMaxAge ends a session that long after its sign-in, refreshes
	// or not: SESSION_MAX_AGE.
	sessionMaxAge time.Duration
	logJSON       bool     // LOG_FORMAT=json
	warnings      []string // things to fix that do not stop the app

	// Not settings: seams for tests.
	zendeskTimeout time.Duration
	now            func() time.Time
}

func (c *config) redirectURI() string { return c.appURL + callbackPath }

// cookieBinding names what the cookies are bound to: the client and the
// configured Zendesk, or any Zendesk in the many-instances mode.
func (c *config) cookieBinding() string {
	return c.clientID + "@" + cmp.Or(c.subdomain, "*")
}

// setting is one of the app's settings, as -help and README.md list them.
type setting struct{ name, fallback, meaning string }

// settings are all the app reads. The ZENDESK_* ones say "use a real
// Zendesk": with none of them set (and no public APP_URL), the app runs its
// demo.
var settings = []setting{
	{"ZENDESK_SUBDOMAIN", "(unset)", "acme for acme.zendesk.com; unset: many instances, each person names theirs"},
	{"ZENDESK_CLIENT_ID", "(required)", "the OAuth client's Identifier (not its numeric id)"},
	{"ZENDESK_CLIENT_SECRET", "(unset)", "the client's secret; unset: a public client, PKCE alone"},
	{"ZENDESK_SCOPES", defaultScopes, "the scopes to ask for, space-separated"},
	{"ZENDESK_BASE_URL", "(unset)", "replaces https://{subdomain}.zendesk.com: a proxy, a test double"},
	{"ZENDESK_MARKETPLACE_NAME", "(unset)", "a Marketplace app's name; set all three ZENDESK_MARKETPLACE_* or none"},
	{"ZENDESK_MARKETPLACE_ORGANIZATION_ID", "(unset)", "its organization id"},
	{"ZENDESK_MARKETPLACE_APP_ID", "(unset)", "its app id"},
	{"PORT", "3000", "the port to listen on"},
	{"APP_URL", "http://localhost:$PORT", "the address people open: https, or http on localhost"},
	{"SESSION_SECRET", "(random at each start)", "seals the cookies: 32 bytes or more; a comma-separated list rotates"},
	{"SESSION_MAX_AGE", "168h", "how long a sign-in lasts, however often its tokens are refreshed"},
	{"LOG_FORMAT", "text", "text, or json for log pipelines"},
}

// marketplaceHeaders are the settings of a Marketplace app's headers.
var marketplaceHeaders = []struct{ setting, header string }{
	{"ZENDESK_MARKETPLACE_NAME", "X-Zendesk-Marketplace-Name"},
	{"ZENDESK_MARKETPLACE_ORGANIZATION_ID", "X-Zendesk-Marketplace-Organization-Id"},
	{"ZENDESK_MARKETPLACE_APP_ID", "X-Zendesk-Marketplace-App-Id"},
}

// placeholders are .env.example's sample values: a copy left unedited must
// not send people to someone else's Zendesk with a client that does not
// exist.
var placeholders = [][2]string{
	{"ZENDESK_SUBDOMAIN", "your-subdomain"},
	{"ZENDESK_CLIENT_ID", "your-client-identifier"},
	{"ZENDESK_CLIENT_SECRET", "your-client-secret"},
}

// wantsDemo reports whether nothing configures a real Zendesk: no ZENDESK_*
// variable, and APP_URL unset or on this machine. "make demo" or "go run ."
// in a fresh clone then serves the demo instead of failing. A misspelled
// ZENDESK_* variable counts: loadConfig names it.
func wantsDemo(env map[string]string) bool {
	for name, value := range env {
		if strings.HasPrefix(name, "ZENDESK_") && strings.TrimSpace(value) != "" {
			return false
		}
	}
	appURL := strings.TrimSpace(env["APP_URL"])
	u, err := url.Parse(appURL)
	return appURL == "" || (err == nil && u.Scheme == "http" && isLoopback(u.Hostname()))
}

// configError lists every problem with the settings at once, so a person
// fixes them in one go.
type configError struct{ problems []string }

func (e *configError) Error() string {
	return "configuration problems:\n  - " + strings.Join(e.problems, "\n  - ") +
		"\nSet these in the environment or in a .env file (see .env.example), or run \"make demo\" to try the app against the built-in Zendesk simulator."
}

// loadConfig reads and checks the settings in env. Messages name the
// variable and the fix, never a secret's value. In demo mode the
// simulator's client and a session key of its own are used, never the
// production ones.
func loadConfig(env map[string]string, demo bool) (*config, error) {
	getenv := func(name string) string { return env[name] }
	var problems []string
	problem := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	cfg := &config{
		demo:           demo,
		clientID:       strings.TrimSpace(getenv("ZENDESK_CLIENT_ID")),
		clientSecret:   strings.TrimSpace(getenv("ZENDESK_CLIENT_SECRET")),
		scopes:         strings.Join(strings.Fields(getenv("ZENDESK_SCOPES")), " "),
		port:           cmp.Or(strings.TrimSpace(getenv("PORT")), "3000"),
		zendeskTimeout: zendesk.DefaultTimeout,
		now:            time.Now,
	}
	if demo {
		cfg.clientID, cfg.clientSecret = "demo-client", "demo-secret"
	}
	for _, p := range placeholders {
		if name, sample := p[0], p[1]; strings.TrimSpace(getenv(name)) == sample && !demo {
			problem("%s is still the sample value %q from .env.example: replace it with your own", name, sample)
		}
	}

	if s := getenv("ZENDESK_SUBDOMAIN"); s != "" {
		var ok bool
		if cfg.subdomain, ok = zendesk.NormalizeSubdomain(s); !ok {
			problem("ZENDESK_SUBDOMAIN %q is not a Zendesk subdomain: use the first part of your Zendesk address, e.g. acme for acme.zendesk.com (leave it unset to let each person name their Zendesk)", shorten(s, 100))
		}
	} else if demo {
		cfg.subdomain = "demo"
	}
	if cfg.clientID == "" {
		problem("ZENDESK_CLIENT_ID is not set: use the Identifier of your OAuth client (Admin Center > Apps and integrations > APIs > OAuth clients)")
	}
	cfg.scopes = cmp.Or(cfg.scopes, defaultScopes)
	if n, err := strconv.Atoi(cfg.port); err != nil || n < 1 || n > 65535 {
		problem("PORT %q is not a port number: use a number from 1 to 65535, e.g. 3000", shorten(cfg.port, 20))
	}

	appURL := cmp.Or(strings.TrimSpace(getenv("APP_URL")), "http://localhost:"+cfg.port)
	if u, err := parseURL(appURL); err != nil {
		problem("APP_URL %q %v", redacted(appURL), err)
	} else if strings.Trim(u.Path, "/") != "" {
		problem("APP_URL %q is not an origin: use the address people open, without a path, e.g. https://app.example.com", redacted(appURL))
	} else {
		cfg.appURL, cfg.https = u.Scheme+"://"+u.Host, u.Scheme == "https"
		switch {
		case demo && (cfg.https || !isLoopback(u.Hostname())):
			problem("APP_URL %q: the demo serves this machine only; unset APP_URL, or use http://localhost:%s", redacted(appURL), cfg.port)
		case demo:
			cfg.listenHost = u.Hostname() // Go listens on the IPv4 address of "localhost"
		}
		// A loopback APP_URL served directly must name the app's port.
		if !cfg.https && isLoopback(u.Hostname()) && cmp.Or(u.Port(), "80") != cfg.port {
			cfg.warnings = append(cfg.warnings, fmt.Sprintf("APP_URL %s is on port %s but the app listens on PORT %s: the browser will not reach the app unless something forwards that port. Unset APP_URL (it follows PORT), or make the two agree.", cfg.appURL, cmp.Or(u.Port(), "80"), cfg.port))
		}
	}

	if base := strings.TrimSpace(getenv("ZENDESK_BASE_URL")); base != "" && !demo {
		if _, err := parseURL(base); err != nil {
			problem("ZENDESK_BASE_URL %q %v; or leave it unset", redacted(base), err)
		} else {
			cfg.baseURL = strings.TrimSuffix(base, "/")
		}
	}

	// A Marketplace app, which includes one with a global OAuth client,
	// names itself on every request to Zendesk's API
	// (https://developer.zendesk.com/documentation/marketplace/building-a-marketplace-app/request-header-requirements-for-marketplace-apps).
	marketplace := http.Header{}
	for _, m := range marketplaceHeaders {
		if v := strings.TrimSpace(getenv(m.setting)); v != "" {
			marketplace.Set(m.header, v)
		}
	}
	for _, m := range marketplaceHeaders {
		switch v := marketplace.Get(m.header); {
		case v == "" && len(marketplace) > 0:
			problem("%s is not set: a Marketplace app sends all three X-Zendesk-Marketplace-* headers; set it too, or unset the other ZENDESK_MARKETPLACE_* settings", m.setting)
		case !zendesk.ValidHeaderValue(v):
			problem("%s has a character that cannot go in its header, %s: use printable ASCII only", m.setting, m.header)
		}
	}
	if len(marketplace) > 0 {
		cfg.marketplace = marketplace
	}

	cfg.sessionMaxAge = defaultSessionMaxAge
	if v := strings.TrimSpace(getenv("SESSION_MAX_AGE")); v != "" {
		if d, err := time.ParseDuration(v); err != nil || d <= 0 {
			problem("SESSION_MAX_AGE %q is not a positive duration: write e.g. 168h (a week), 12h or 90m", shorten(v, 40))
		} else {
			cfg.sessionMaxAge = d
		}
	}

	if secrets := getenv("SESSION_SECRET"); secrets == "" || demo {
		cfg.secrets = [][]byte{[]byte(rand.Text() + rand.Text())}
		if !demo {
			cfg.warnings = append(cfg.warnings, "SESSION_SECRET is not set: using a random one, so sign-ins end when the app restarts")
		}
	} else {
		for i, s := range strings.Split(secrets, ",") {
			if len(strings.TrimSpace(s)) < 32 {
				problem("SESSION_SECRET: secret %d of the comma-separated list is shorter than 32 bytes: generate one with \"openssl rand -base64 32\"", i+1)
			}
			cfg.secrets = append(cfg.secrets, []byte(strings.TrimSpace(s)))
		}
	}

	switch getenv("LOG_FORMAT") {
	case "", "text":
	case "json":
		cfg.logJSON = true
	default:
		problem("LOG_FORMAT %q is not text or json", shorten(getenv("LOG_FORMAT"), 20))
	}

	for _, name := range slices.Sorted(maps.Keys(env)) {
		// A near miss of a setting that is not set is what the person
		// meant to set: without it the app would run another way.
		if meant, msg := nearMiss(name); meant != "" && env[meant] == "" && !demo {
			problem("%s", msg)
		} else if msg != "" {
			cfg.warnings = append(cfg.warnings, msg)
		}
	}

	if len(problems) > 0 {
		return nil, &configError{problems: problems}
	}
	return cfg, nil
}

// nearMiss says whether name, a variable of the environment that the app
// does not read, looks meant for it: any ZENDESK_* name, or one a letter
// or two away from a setting. meant is the setting it resembles, if any.
// A typo would otherwise pass in silence: a misspelled ZENDESK_SUBDOMAIN
// switches to the many-instances mode.
func nearMiss(name string) (meant, msg string) {
	closest, distance := "", len(name)
	for _, s := range settings {
		if s.name == name {
			return "", ""
		}
		if d := editDistance(name, s.name); d < distance {
			closest, distance = s.name, d
		}
	}
	switch {
	case distance <= 2 && len(name) >= 6 || strings.HasPrefix(name, "ZENDESK_") && distance <= 4:
		return closest, fmt.Sprintf("%s is not a setting: did you mean %s? (-help lists them)", name, closest)
	case strings.HasPrefix(name, "ZENDESK_"):
		return "", fmt.Sprintf("%s is not a setting (-help lists them)", name)
	}
	return "", ""
}

// editDistance is the Levenshtein distance between a and b: the fewest
// letters to insert, delete or replace to turn one into the other.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// parseURL checks a URL from the settings. The app sends people there
// (APP_URL), or its client secret and the tokens (ZENDESK_BASE_URL), so it
// must be https, or http on this machine only: Zendesk accepts http
// redirect URLs only for localhost, and elsewhere cookies and secrets
// would travel in the clear.
func parseURL(raw string) (*url.URL, error) {
	if !strings.Contains(raw, "://") {
		return nil, errors.New("has no scheme: write it in full, e.g. http://localhost:3000 for local development or https://app.example.com")
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return nil, errors.New("is not a URL the app can use: write the scheme and the host, without a user, query or fragment, e.g. https://app.example.com")
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	case u.Scheme == "http":
		return nil, errors.New("uses http on a host other than localhost: use https://" + u.Host + " (behind a TLS-terminating proxy), or http://localhost for local development")
	default:
		return nil, errors.New("must start with https:// (or http://localhost for local development)")
	}
	return u, nil
}

func isLoopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// listenAddr is where the server listens: every interface, or loopback
// only in demo mode.
func (c *config) listenAddr() string { return net.JoinHostPort(c.listenHost, c.port) }

// redacted quotes a URL from the settings without the password it may hold.
func redacted(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(not a URL)"
	}
	return shorten(u.Redacted(), 200)
}
