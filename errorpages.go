package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

// problem is an error page with its status, title and message; the page
// leads back to the start unless its Action says otherwise.
func problem(status int, title, message string) errorView {
	return errorView{Status: status, Title: title, Message: message}
}

// fail answers a request with the error page v and writes the one log line
// that explains it, with err: the one way the app shows an error. Without
// err (a page not found, say) the request's own log line says enough.
func (a *app) fail(w http.ResponseWriter, r *http.Request, v errorView, err error) {
	if err != nil {
		level := slog.LevelInfo
		if v.Status >= 500 {
			level = slog.LevelError
		}
		a.log.Log(r.Context(), level, v.Title, "status", v.Status, "error", err)
	}
	if v.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(v.retryAfter.Seconds())))
	}
	if v.Action == "" {
		v.Action, v.ActionURL = "Back to the start", "/"
	}
	v.RequestID = requestID(r.Context())
	a.render(w, r, v.Status, errorPage, v)
}

// defaultRetryAfter is how long to wait when Zendesk answers 429 without
// saying: its rate limits count requests per minute
// (https://developer.zendesk.com/api-reference/introduction/rate-limits/).
const defaultRetryAfter = time.Minute

// zendeskErrorPage is the page for a failed call to Zendesk: what
// happened, and what to do. scope is the one the page needs, if it says:
// a 403 names it unless Zendesk names the missing scope itself.
func (a *app) zendeskErrorPage(err error, scope string) errorView {
	var ze *zendeskError
	var tooLarge *tooLargeError
	switch {
	case errors.Is(err, context.Canceled):
		// The browser went away: no one reads the page. 499 is nginx's
		// "client closed request", so the log line says what happened.
		return problem(499, "Request canceled", "The browser left before Zendesk answered.")
	case errors.As(err, &tooLarge):
		return problem(http.StatusBadGateway, "Zendesk's tokens are too large",
			"Zendesk sent tokens too large for the app to keep in browser cookies, so the app asked Zendesk to revoke them, and you are not signed in. Whoever runs the app can find the sizes in its log.")
	case !errors.As(err, &ze):
		return problem(http.StatusInternalServerError, "Something went wrong", "The app hit an unexpected error. It has been logged; please try again.")
	case ze.Kind == timedOut:
		return problem(http.StatusGatewayTimeout, "Zendesk did not answer in time", "Zendesk took too long to answer. Please try again in a moment.")
	case ze.Kind == rateLimited:
		v := problem(http.StatusServiceUnavailable, "Zendesk is busy", "")
		v.retryAfter = cmp.Or(ze.RetryAfter, defaultRetryAfter)
		v.Message = fmt.Sprintf("Zendesk asked the app to slow down. Please try again in %d seconds.", int(v.retryAfter.Seconds()))
		return v
	case ze.Kind == rejected && ze.Op == opExchange && ze.Code == "invalid_grant":
		return problem(http.StatusBadRequest, "Sign-in expired", "Zendesk did not accept this sign-in: its code expired or was already used. Please start again.")
	case ze.Kind == rejected && ze.Status == http.StatusForbidden && ze.MissingScope != "":
		return problem(http.StatusForbidden, "Zendesk refused access",
			fmt.Sprintf("Zendesk says the app lacks the scope %s for this. Whoever runs the app should add %s to ZENDESK_SCOPES (now %q) and allow it for the OAuth client; you will then be asked once to allow it.", ze.MissingScope, ze.MissingScope, a.cfg.scopes))
	case ze.Kind == rejected && ze.Status == http.StatusForbidden:
		return problem(http.StatusForbidden, "Zendesk refused access",
			fmt.Sprintf("Zendesk refuses this to the app. This page needs the scope %s: whoever runs the app should check that ZENDESK_SCOPES (now %q) includes it (or the broad read or write) and that the OAuth client allows it. Your Zendesk role may also not allow this page.", cmp.Or(scope, "of the API it calls"), a.cfg.scopes))
	case ze.Kind == rejected && ze.Code == "invalid_scope":
		v := problem(http.StatusBadGateway, "Zendesk refused the scopes",
			fmt.Sprintf("Zendesk does not allow the app the scopes it asks for. Whoever runs the app should set ZENDESK_SCOPES (now %q) to scopes the OAuth client allows.", a.cfg.scopes))
		v.Action, v.ActionURL = "Try again", a.authPath(a.cfg.subdomain, "")
		return v
	case ze.Kind == rejected && ze.Status == http.StatusNotFound:
		return problem(http.StatusNotFound, "Not found at Zendesk", "Zendesk has no such record, or does not show it to you.")
	case ze.Kind == rejected && ze.Code == "invalid_client":
		return problem(http.StatusBadGateway, "The app's Zendesk settings are wrong", "Zendesk did not accept the app's OAuth client. Whoever runs this app should check ZENDESK_CLIENT_ID and ZENDESK_CLIENT_SECRET.")
	case ze.Kind == rejected:
		return problem(http.StatusBadGateway, "Zendesk refused the request", "Zendesk refused the app's request. If this keeps happening, check the OAuth client's settings and scopes.")
	case ze.Kind == noAnswer:
		return problem(http.StatusBadGateway, "Zendesk is not available", "The connection to Zendesk broke before it answered. Please try again in a moment.")
	case ze.Kind == badAnswer:
		return problem(http.StatusBadGateway, "Zendesk sent an unexpected answer", "Zendesk's answer could not be used. Please try again.")
	}
	return problem(http.StatusBadGateway, "Zendesk is not available", "The app could not reach Zendesk. Please try again in a moment.")
}
