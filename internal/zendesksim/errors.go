package zendesksim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
)

// Error is a refusal as Zendesk's API answers it: Status is the HTTP
// status and the rest is the JSON body, e.g. 404
// {"error":"RecordNotFound","description":"Not found"}. The store's
// methods on Caller return one when Zendesk's rules refuse a request;
// WriteError writes it.
type Error struct {
	Status      int                     `json:"-"`
	Code        string                  `json:"error"`
	Description string                  `json:"description,omitempty"`
	Details     map[string][]FieldError `json:"details,omitempty"`
}

// FieldError is one entry of a RecordInvalid answer's details: what is
// wrong with a field, e.g. {"description":"Description: cannot be
// blank","error":"BlankValue"}.
type FieldError struct {
	Description string `json:"description"`
	Code        string `json:"error,omitempty"`
}

// Error returns the status and the body's error and description.
func (e *Error) Error() string {
	return fmt.Sprintf("zendesksim: %d %s: %s", e.Status, e.Code, e.Description)
}

// NotFound returns Zendesk's 404 for a record that does not exist or that
// the caller may not see, {"error":"RecordNotFound","description":"Not
// found"}, as field reports show it:
// https://github.com/zendesk/zendesk_api_client_rb/issues/151
func NotFound() *Error {
	return &Error{Status: http.StatusNotFound, Code: "RecordNotFound", Description: "Not found"}
}

// Invalid returns Zendesk's 422 RecordInvalid for one field, e.g.
// Invalid("base", "Description: cannot be blank", "BlankValue") for a
// ticket without a comment. Zendesk's messages name the field, a colon,
// and what is wrong:
// https://github.com/zendesk/zendesk_api_client_php/issues/231
func Invalid(field, description, code string) *Error {
	return &Error{
		Status:      http.StatusUnprocessableEntity,
		Code:        "RecordInvalid",
		Description: "Record validation errors",
		Details:     map[string][]FieldError{field: {{Description: description, Code: code}}},
	}
}

// forbidden is the role-based 403 (forbiddenBody): the caller's role may
// not do this, whatever the token's scopes.
func forbidden() *Error {
	return &Error{Status: http.StatusForbidden, Code: "Forbidden",
		Description: "You do not have access to this page. Please contact the account owner of this help desk for further help."}
}

// unauthenticated is Zendesk's 401 for a request without valid
// credentials: a Caller with no user (a public endpoint called without a
// token) may not use the store.
func unauthenticated() *Error {
	return &Error{Status: http.StatusUnauthorized, Code: "Couldn't authenticate you"}
}

// WriteError writes err as Zendesk would: an *Error (from the store, or
// NotFound, Invalid, ReadJSON, PathID) as its status and JSON body, any
// other error as 500 {"error":"InternalError"}.
func WriteError(w http.ResponseWriter, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Status: http.StatusInternalServerError, Code: "InternalError"}
	}
	WriteJSON(w, e.Status, e)
}

// maxJSONBytes is what ReadJSON reads at most. Zendesk publishes no limit
// for a JSON body; 1 MiB holds any ticket or user a test sends.
const maxJSONBytes = 1 << 20

// ReadJSON decodes the request's body, which must be one JSON value sent
// as application/json and at most 1 MiB long, into v. Its error, for
// WriteError, is a 400 {"error":"InvalidJSON",...}: Zendesk documents no
// answer for a body it cannot read, so that shape is a guess, and so is
// refusing a body of another Content-Type, which the reference always
// sends as application/json.
func ReadJSON(w http.ResponseWriter, r *http.Request, v any) error {
	bad := func(description string) error {
		return &Error{Status: http.StatusBadRequest, Code: "InvalidJSON", Description: description}
	}
	if mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mediaType != "application/json" {
		return bad("The request body must be sent as application/json.")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJSONBytes))
	if err != nil {
		return bad("The request body is too large or could not be read.")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return bad("The request body is not valid JSON for this endpoint.")
	}
	return nil
}

// PathID returns the path value name (see http.Request.PathValue) as a
// record id. A value that is not a positive integer names no record: its
// error, for WriteError, is NotFound (Zendesk's answer to such a path is
// not documented; 404 is a guess).
func PathID(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, NotFound()
	}
	return id, nil
}
