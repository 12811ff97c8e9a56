package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"promiseledger/events"
	"promiseledger/projections"
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
// MaxBodyBytes, every string valid UTF-8, no unknown fields, nothing after
// the object.
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
	if err := checkUTF8(body); err != nil {
		return err
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
	case err == nil && bytes.HasPrefix(bytes.TrimLeft(body, " \t\r\n"), []byte("null")):
		// encoding/json reads null into a struct as nothing at all.
		return badRequest("invalid_json", "", "request body must be a JSON object")
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
	ae := apiErrorOf(w, err)
	encode(w, ae.status, map[string]*apiError{"error": ae})
}

// apiErrorOf is the error envelope of err, and its status; headers that go
// with it (Retry-After) are set on w.
func apiErrorOf(w http.ResponseWriter, err error) *apiError {
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = &apiError{Message: err.Error()}
		var fe *events.FieldError
		if errors.As(err, &fe) {
			ae.Field = fe.Field
		}
		var pending *projections.PendingError
		switch {
		case errors.As(err, &pending):
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(pending.RetryAfter.Seconds()))))
			ae.status, ae.Code, ae.Field = http.StatusTooManyRequests, "rate_limited", "as_of"
			ae.Message = fmt.Sprintf("as_of: one past view at a time per token, and the view as of %s is still being computed: ask for %s again after Retry-After seconds",
				pending.Pending.Format(time.RFC3339Nano), pending.At.Format(time.RFC3339Nano))
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
	return ae
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

// checkUTF8 refuses a body with a string that is not valid UTF-8 — bytes
// that are not, or a \u escape of a lone surrogate — which encoding/json
// would quietly store as U+FFFD. It names the field that holds the first
// such string. A body that is not JSON passes: the decoder says why.
func checkUTF8(body []byte) error {
	if utf8.Valid(body) && !bytes.Contains(bytes.ToLower(body), []byte(`\ud`)) {
		return nil
	}
	// The path to where the decoder stands: one frame per open object or array.
	type frame struct {
		object  bool
		wantKey bool   // in an object: the next string is a member's name
		key     string // in an object: the member being read
		index   int    // in an array: the element being read
	}
	var stack []frame
	path := func(stack []frame) string {
		var b strings.Builder
		for _, f := range stack {
			switch {
			case f.object && b.Len() > 0:
				b.WriteString("." + f.key)
			case f.object:
				b.WriteString(f.key)
			default:
				b.WriteString("[" + strconv.Itoa(f.index) + "]")
			}
		}
		return b.String()
	}
	// valueDone moves the enclosing object or array past a value.
	valueDone := func() {
		if n := len(stack); n > 0 {
			stack[n-1].wantKey = true
			stack[n-1].index++
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		switch tok := tok.(type) {
		case json.Delim:
			switch tok {
			case '{', '[':
				stack = append(stack, frame{object: tok == '{', wantKey: true})
			default:
				stack = stack[:len(stack)-1]
				valueDone()
			}
			continue
		case string:
			text := body[start:dec.InputOffset()]
			bad := !utf8.Valid(text) || loneSurrogate(text)
			if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].wantKey {
				if bad {
					return notUTF8(path(stack[:n-1]), true)
				}
				stack[n-1].key, stack[n-1].wantKey = tok, false
				continue
			}
			if bad {
				return notUTF8(path(stack), false)
			}
		}
		valueDone()
	}
}

// notUTF8 names where text that is not UTF-8 stands: in the value of field,
// or, with member, in the name of one of its members.
func notUTF8(field string, member bool) error {
	rule := "must be valid UTF-8"
	if member {
		rule = "the name of a member " + rule
	}
	if field == "" {
		return badRequest("validation_failed", "", "request body: %s", rule)
	}
	return badRequest("validation_failed", field, "%s: %s", field, rule)
}

// loneSurrogate reports whether the JSON text of a string holds a \u escape
// of half a surrogate pair without its other half.
func loneSurrogate(text []byte) bool {
	hex := func(i int) (rune, bool) {
		if i+6 > len(text) || text[i+1] != 'u' {
			return 0, false
		}
		n, err := strconv.ParseUint(string(text[i+2:i+6]), 16, 16)
		return rune(n), err == nil
	}
	for i := 0; i < len(text); i++ {
		if text[i] != '\\' {
			continue
		}
		r, ok := hex(i)
		if !ok {
			i++ // a two-character escape such as \\ or \"
			continue
		}
		if utf16.IsSurrogate(r) {
			lo, ok := hex(i + 6)
			if r >= 0xdc00 || !ok || utf16.DecodeRune(r, lo) == utf8.RuneError {
				return true
			}
			i += 6
		}
		i += 5
	}
	return false
}
