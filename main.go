// Command zendesk-oauth-app is the web app from Zendesk's tutorial "Using
// OAuth to authenticate Zendesk API requests in a web app", in Go: a person
// signs in with Zendesk (OAuth 2.0 authorization code flow with PKCE), and
// the app calls the Zendesk Support API on their behalf to greet them by
// name and role.
//
// With no settings, "go run ." runs it against the built-in Zendesk
// simulator; README.md describes the settings for a real Zendesk.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"text/tabwriter"

	"zendesk-oauth-app/internal/dotenv"
	"zendesk-oauth-app/internal/oauthstate"
	"zendesk-oauth-app/internal/requestlog"
	"zendesk-oauth-app/internal/securecookie"
	"zendesk-oauth-app/internal/userapi"
	"zendesk-oauth-app/internal/zendesk"
	"zendesk-oauth-app/internal/zendesksim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env, err := dotenv.Environ(os.Environ(), ".env")
	if err != nil {
		err = &configError{problems: []string{err.Error()}} // a .env file that cannot be read
	} else {
		err = run(ctx, os.Args[1:], env, os.Stdout, os.Stderr)
	}
	var usage *usageError
	switch {
	case err == nil:
	case errors.As(err, &usage): // the flag package has printed the problem and the usage
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, err)
		if errors.As(err, new(*configError)) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// usageError is a bad command line.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }

// run is the whole program. It takes its environment as arguments so tests
// can start it in-process.
func run(ctx context.Context, args []string, env map[string]string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("zendesk-oauth-app", flag.ContinueOnError)
	flags.SetOutput(stderr)
	demo := flags.Bool("demo", false, "run against the built-in Zendesk simulator, whatever the settings")
	version := flags.Bool("version", false, "print the version and exit")
	flags.Usage = func() {} // printed below: -help to stdout, so that "| less" works
	if err := flags.Parse(args); errors.Is(err, flag.ErrHelp) {
		usage(stdout, flags)
		return nil
	} else if err != nil {
		usage(stderr, flags)
		return &usageError{err}
	}
	if flags.NArg() > 0 {
		fmt.Fprintf(stderr, "unexpected argument %q\n", flags.Arg(0))
		usage(stderr, flags)
		return &usageError{fmt.Errorf("unexpected argument %q", flags.Arg(0))}
	}
	if *version {
		fmt.Fprintln(stdout, versionString())
		return nil
	}

	cfg, err := loadConfig(env, *demo || wantsDemo(env))
	if err != nil {
		return err
	}
	var handler slog.Handler = slog.NewTextHandler(stderr, nil)
	if cfg.logJSON {
		handler = slog.NewJSONHandler(requestlog.PrintableJSON(stderr), nil)
	}
	logger := slog.New(handler)
	for _, w := range cfg.warnings {
		logger.Warn(w)
	}

	listener, err := net.Listen("tcp", cfg.listenAddr())
	switch {
	case errors.Is(err, syscall.EADDRINUSE) && cfg.demo:
		return fmt.Errorf("port %s is in use: is the app running already? Stop that program, or choose another port with PORT, e.g. PORT=3001 make demo", cfg.port)
	case errors.Is(err, syscall.EADDRINUSE):
		return fmt.Errorf("port %s is in use: is the app running already? Stop that program, or choose another port with PORT; on another port the app's redirect URL changes, and the OAuth client in Zendesk must have the new one", cfg.port)
	case err != nil:
		return err
	}
	defer listener.Close()
	if cfg.demo {
		sim := zendesksim.NewServer(zendesksim.Options{
			ClientID:     cfg.clientID,
			ClientSecret: cfg.clientSecret,
			RedirectURIs: []string{cfg.redirectURI()},
			API:          simulatedAPI,
		})
		defer sim.Close()
		cfg.baseURL = sim.URL
	}

	a, err := newApp(cfg, logger)
	if err != nil {
		return err
	}
	srv := newServer(a)
	logger.Info("listening", "addr", listener.Addr().String(), "url", cfg.appURL, "subdomain", cmp.Or(cfg.subdomain, "(many instances)"), "zendesk_base_url", cfg.baseURL, "demo", cfg.demo)
	fmt.Fprintf(stdout, "%s\nOpen %s\n", modeLine(cfg, *demo), cfg.appURL)

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(listener) }()
	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	// Stop listening, and let requests in progress finish: a page may
	// legitimately take as long as the write timeout.
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), srv.WriteTimeout)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}

// modeLine says which Zendesk the app signs in to, and why; in a real run
// also the redirect URL the OAuth client must have, the first thing to get
// wrong.
func modeLine(cfg *config, demoFlag bool) string {
	redirect := "\nThe OAuth client's redirect URL must be " + cfg.redirectURI()
	switch {
	case cfg.demo && demoFlag:
		return "Demo: -demo is on, so the built-in simulator plays Zendesk, at " + cfg.baseURL + ": no account needed."
	case cfg.demo:
		return "Demo: no ZENDESK_* setting is set, so the built-in simulator plays Zendesk, at " + cfg.baseURL + ": no account needed.\n" +
			"To use your own Zendesk, copy .env.example to .env and fill it in (README.md)."
	case cfg.subdomain == "" && !strings.HasPrefix(cfg.clientID, "zdg-"):
		// Zendesk's rule: https://developer.zendesk.com/documentation/apps/publish-your-app-or-theme/global_oauth_intro/
		return "Many instances, because ZENDESK_SUBDOMAIN is unset: each person names their Zendesk." +
			"\nZENDESK_CLIENT_ID does not begin with zdg-: a local OAuth client works only on the Zendesk that made it; on any other, people see Zendesk's \"No such client\" page. Set ZENDESK_SUBDOMAIN, or ask Zendesk for a global client." + redirect
	case cfg.subdomain == "":
		return "Many instances, because ZENDESK_SUBDOMAIN is unset: each person names their Zendesk." + redirect
	}
	return fmt.Sprintf("Signing in to %s.zendesk.com only, because ZENDESK_SUBDOMAIN=%s.", cfg.subdomain, cfg.subdomain) + redirect
}

// usage is -help: the command line, then every setting with its default,
// then the flags.
func usage(w io.Writer, flags *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: zendesk-oauth-app [-demo] [-version]\n\n"+
		"Signs people in with Zendesk (OAuth 2.0 with PKCE) and greets them by name.\n"+
		"Settings come from the environment, or from a .env file in the working directory\n"+
		"(the environment wins). With no ZENDESK_* setting it runs the demo.\n\n")
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "  setting\tdefault\tmeaning")
	for _, s := range settings {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", s.name, s.fallback, s.meaning)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nFlags:\n")
	flags.SetOutput(w)
	flags.PrintDefaults()
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

// simulatedAPI is what the built-in Zendesk simulator serves besides Show
// Self and revocation: the demo and every test serve this list. When a page
// you add calls another Zendesk endpoint, add it here, with the scope
// resource that covers it and a handler that answers as Zendesk would
// (recipe_test.go has one).
var simulatedAPI []zendesksim.API

// app holds what the handlers need. It is built once at start-up.
type app struct {
	cfg       *config
	zendesk   *zendesk.Config
	refresher *userapi.Refresher
	cookies   *securecookie.Cookies
	flows     *oauthstate.Store[flow] // the sign-ins in progress
	log       *slog.Logger
}

func newApp(cfg *config, logger *slog.Logger) (*app, error) {
	codec, err := securecookie.New(cfg.secrets, cfg.cookieBinding())
	if err != nil {
		return nil, err
	}
	z := &zendesk.Config{
		ClientID:     cfg.clientID,
		ClientSecret: cfg.clientSecret,
		Scopes:       cfg.scopes,
		RedirectURL:  cfg.redirectURI(),
		Header:       cfg.marketplace,
		HTTPClient:   zendesk.NewHTTPClient(cfg.zendeskTimeout),
		Now:          cfg.now,
	}
	if cfg.baseURL != "" {
		z.BaseURL = func(string) string { return cfg.baseURL }
	}
	cookies := &securecookie.Cookies{Codec: codec, Secure: cfg.https, Now: cfg.now}
	return &app{
		cfg:       cfg,
		zendesk:   z,
		refresher: userapi.NewRefresher(z),
		cookies:   cookies,
		flows:     oauthstate.New[flow](cookies, flowCookie, flowLifetime, maxPendingFlows),
		log:       slog.New(requestlog.Handler{Handler: logger.Handler()}),
	}, nil
}
