package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"

	"promiseledger/events"
)

// apiError is an error response: {"error": {"code", "message", "field"}}.
type apiError struct {
	status  int
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func badRequest(code, field, format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// encode writes v as JSON with a status.
func encode(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// decode reads one JSON object into v: JSON content type, at most
// MaxBodyBytes, no unknown fields, nothing after the object.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return &apiError{status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Field: "Content-Type", Message: "Content-Type must be application/json"}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		return &apiError{status: http.StatusRequestEntityTooLarge, Code: "body_too_large", Message: fmt.Sprintf("request body must be at most %d bytes", maxErr.Limit)}
	}
	if err != nil {
		return badRequest("invalid_json", "", "request body could not be read: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err = dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("extra data after the JSON object")
	}
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			err = errors.New("extra data after the JSON object")
		}
	}
	var typeErr *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return badRequest("invalid_json", "", "request body must be a JSON object")
		}
		return badRequest("validation_failed", typeErr.Field, "%s: must be a JSON %s", typeErr.Field, jsonKind(typeErr.Type.Kind().String()))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json reports an unknown field only in its message.
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		field = fieldPath(body, field)
		return badRequest("unknown_field", field, "%s: is not a field of this request", field)
	case errors.Is(err, io.EOF):
		return badRequest("invalid_json", "", "request body is empty: a JSON object is required")
	}
	return badRequest("invalid_json", "", "request body is not valid JSON: %v", err)
}

func jsonKind(goKind string) string {
	switch goKind {
	case "struct", "map":
		return "object"
	case "slice", "array":
		return "array"
	case "int", "int64", "float64":
		return "number"
	case "bool":
		return "boolean"
	}
	return goKind
}

// writeError maps an error to its status, code and field.
func writeError(w http.ResponseWriter, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = &apiError{Message: err.Error()}
		var fe *events.FieldError
		if errors.As(err, &fe) {
			ae.Field = fe.Field
		}
		switch {
		case errors.Is(err, events.ErrValidation):
			ae.status, ae.Code = http.StatusBadRequest, "validation_failed"
		case errors.Is(err, events.ErrNotFound):
			ae.status, ae.Code = http.StatusNotFound, "not_found"
		case errors.Is(err, events.ErrExceedsOutstanding):
			ae.status, ae.Code = http.StatusConflict, "exceeds_outstanding"
		case errors.Is(err, events.ErrInvalidState):
			ae.status, ae.Code = http.StatusConflict, "invalid_state"
		case errors.Is(err, events.ErrIdempotencyKeyReused):
			ae.status, ae.Code = http.StatusConflict, "idempotency_key_reused"
		case errors.Is(err, events.ErrVersionMismatch):
			ae.status, ae.Code = http.StatusPreconditionFailed, "version_mismatch"
		case errors.Is(err, events.ErrDamaged): // logged once, where it was found
			ae.status, ae.Code = http.StatusServiceUnavailable, "damaged"
		case errors.Is(err, events.ErrNotReady), errors.Is(err, context.DeadlineExceeded):
			w.Header().Set("Retry-After", "1")
			ae.status, ae.Code = http.StatusServiceUnavailable, "not_ready"
		case errors.Is(err, events.ErrConflict):
			w.Header().Set("Retry-After", "1")
			ae.status, ae.Code = http.StatusServiceUnavailable, "busy"
		default:
			slog.Error("internal error", "err", err)
			ae.status, ae.Code, ae.Message = http.StatusInternalServerError, "internal", "internal error; it has been logged"
		}
	}
	encode(w, ae.status, map[string]*apiError{"error": ae})
}

// fieldPath finds where in the body a member named name stands, as a dotted
// path ("investor.phone"): encoding/json names only the member.
func fieldPath(body []byte, name string) string {
	var doc any
	if json.Unmarshal(body, &doc) != nil {
		return name
	}
	var find func(v any, prefix string) (string, bool)
	find = func(v any, prefix string) (string, bool) {
		m, ok := v.(map[string]any)
		if !ok {
			return "", false
		}
		if _, ok := m[name]; ok {
			return prefix + name, true
		}
		for k, child := range m {
			if p, ok := find(child, prefix+k+"."); ok {
				return p, true
			}
		}
		return "", false
	}
	if p, ok := find(doc, ""); ok {
		return p
	}
	return name
}
