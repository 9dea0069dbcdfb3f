package zendesksim

import (
	"encoding/json"
	"net/http"
)

const jsonType = "application/json; charset=utf-8"

// apiError is the RFC 6749 §5.2 error body Zendesk's OAuth and API
// endpoints answer with; Status is the HTTP status to send it with.
type apiError struct {
	Status      int    `json:"-"`
	Code        string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// The error descriptions Zendesk is documented or observed to send.
const (
	invalidClientDesc = "The client identifier provided is invalid, the client failed to authenticate, the client did not include its credentials, provided multiple client credentials, or used unsupported credentials type."
	invalidGrantDesc  = "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client."
	invalidTokenDesc  = "The access token provided is expired, revoked, malformed or invalid for other reasons."
	// invalidScopeDesc is RFC 6749 §5.2's wording: Zendesk documents the
	// invalid_scope error but not its description.
	invalidScopeDesc = "The requested scope is invalid, unknown, or malformed."
)

// Zendesk answers 403 for two different reasons, with two bodies. Unlike
// the OAuth errors both have "description", not "error_description".
//
// forbiddenBody is the role-based one: the caller's role may not use the
// endpoint (an agent without API access, an end user on an agents' page),
// whatever the token's scopes. The Forbidden fault and RefusesRevocation
// send it:
// https://github.com/facetoe/zenpy/issues/336
const forbiddenBody = `{"error":"Forbidden","description":"You do not have access to this page. Please contact the account owner of this help desk for further help."}`

func writeForbidden(w http.ResponseWriter) {
	writeRaw(w, http.StatusForbidden, jsonType, []byte(forbiddenBody))
}

// describedError is the shape of Zendesk's API errors (not its OAuth
// errors): "error" and "description".
type describedError struct {
	Code        string `json:"error"`
	Description string `json:"description"`
}

// writeMissingScope answers a token that lacks scope with the other 403:
// the token's scopes do not cover the endpoint, and the body names the
// scope it lacks:
// https://support.zendesk.com/hc/en-us/community/posts/4485954843162
func writeMissingScope(w http.ResponseWriter, scope string) {
	WriteJSON(w, http.StatusForbidden, describedError{"Forbidden", "You are missing the following required scopes: " + scope})
}

func missing(what string) *apiError {
	return &apiError{http.StatusBadRequest, "invalid_request", "Missing required parameter: " + what + "."}
}

func invalidGrant() *apiError {
	return &apiError{http.StatusBadRequest, "invalid_grant", invalidGrantDesc}
}

// WriteJSON writes v as a JSON body with the given status and Zendesk's
// Content-Type, for the handlers listed in Options.API. A v that cannot be
// encoded becomes a 500.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"error":"InternalError"}`)
	}
	writeRaw(w, status, jsonType, body)
}

func writeRaw(w http.ResponseWriter, status int, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write(body) // a failed write means the client left
}
