package main

import (
	"cmp"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// The middleware every request goes through, outermost first: a request
// id, panic recovery and one log line (internal/requestlog); security
// headers; one loopback name; CrossOriginProtection (handlers.go); one
// deadline for the request's Zendesk calls (server.go).

// secureHeaders sets the headers every response carries (OWASP Secure
// Headers). Nothing is cached, since pages show a person's data or set
// cookies; only the stylesheet's handler allows it.
func (a *app) secureHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY") // for browsers without CSP frame-ancestors
		// No Referer: the callback URL holds the authorization code.
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if a.cfg.https {
			h.Set("Strict-Transport-Security", "max-age=63072000")
		}
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// oneLoopbackName sends a request that reached the app under another
// loopback name than APP_URL's (127.0.0.1 or [::1] for localhost, say) to
// the same address under APP_URL's name, before anything else happens. To
// a browser they are different sites: a sign-in started under one would
// come back to the other without its cookies. Only when the app is served
// directly (http on a loopback name, and the port APP_URL names): behind a
// proxy, the Host header is the proxy's business.
func (a *app) oneLoopbackName(next http.Handler) http.Handler {
	u, _ := url.Parse(a.cfg.appURL) // checked by loadConfig
	if u.Scheme != "http" || !isLoopback(u.Hostname()) {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, port, err := net.SplitHostPort(r.Host)
		if err == nil && isLoopback(host) && host != u.Hostname() && port == cmp.Or(u.Port(), "80") {
			// APP_URL and the request's path and query, never its raw
			// target: "GET http:@evil.example" has no path, and its opaque
			// part would make another host.
			path := r.URL.EscapedPath()
			if !strings.HasPrefix(path, "/") {
				path = "/"
			}
			target := a.cfg.appURL + path
			if r.URL.RawQuery != "" {
				target += "?" + r.URL.RawQuery
			}
			http.Redirect(w, r, target, http.StatusTemporaryRedirect)
			return
		}
		next.ServeHTTP(w, r)
	})
}
