package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// Body limits.
const (
	maxBody      = 64 << 10
	maxBatchBody = 1 << 20
)

// decode reads a JSON body of at most limit bytes into v, whatever the request's
// Content-Type says. Unknown fields, trailing data and text that is not UTF-8 are
// errors; it returns the raw body for checks that need the bytes.
func decode(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errorf(CodePayloadTooLarge, "the request body is larger than %d bytes", limit)
		}
		return errorf(CodeInvalidRequest, "the request body could not be read")
	}
	return decodeBytes(body, v)
}

func decodeBytes(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return errorf(CodeInvalidRequest, "the request body is empty; send a JSON object")
	}
	if decodeStrict(body, v) {
		if tc, ok := v.(textChecker); ok {
			return tc.checkText()
		}
		return nil
	}
	return decodeChecked(body, v)
}

// decodeStrict decodes body into v with go-json-experiment/json, which refuses by
// itself what decodeChecked checks after encoding/json: names that differ in case or
// appear twice, unknown names, trailing data, and text that is not UTF-8. It is the
// fast path of every well-formed request and accepts no body that decodeChecked
// refuses (TestDecodeStrictAgrees); on any failure it zeroes v and reports false,
// and decodeChecked, whose messages the API documents, decodes the body again.
func decodeStrict(body []byte, v any) bool {
	if err := jsonv2.Unmarshal(body, v, jsonv2.RejectUnknownMembers(true)); err != nil {
		reflect.ValueOf(v).Elem().SetZero()
		return false
	}
	return true
}

// decodeChecked decodes body into v with encoding/json, then makes the checks
// encoding/json does not, and says what is wrong with a body that fails.
func decodeChecked(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errorf(CodeInvalidRequest, "the request body has data after the JSON object")
	}
	if err := checkFieldNames(body, v); err != nil {
		return err
	}
	if tc, ok := v.(textChecker); ok {
		if err := tc.checkText(); err != nil {
			return err
		}
	}
	if _, ok := v.(separateItems); ok {
		return nil
	}
	if !exactText(body) {
		return errorf(CodeInvalidRequest, "the request body is not valid UTF-8")
	}
	return nil
}

// separateItems is a request whose items are decoded and checked one by one, so that
// text that is not UTF-8 fails only its item.
type separateItems interface {
	itemsDecodedSeparately()
}

// checkFieldNames refuses top-level names that are not exactly a field of v, and
// names given twice: encoding/json would match names without regard to case and keep
// the last of duplicates. It walks the top level with jsontext, which reads names
// and skips values without decoding them (encoding/json's token API made this check
// cost more than the decoding itself).
func checkFieldNames(body []byte, v any) error {
	names := fieldNames(reflect.TypeOf(v))
	dec := jsontext.NewDecoder(bytes.NewReader(body), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return nil // not an object: Decode has already said so
	}
	var seen []string // a handful of names: a slice beats a map
	for dec.PeekKind() == '"' {
		tok, err := dec.ReadToken()
		if err != nil {
			return nil
		}
		name := tok.String()
		switch {
		case !names[name]:
			return errorf(CodeInvalidRequest, "unknown field %q (field names are case-sensitive)", clipString(name))
		case slices.Contains(seen, name):
			return errorf(CodeInvalidRequest, "field %s is given twice", name)
		}
		seen = append(seen, name)
		if err := dec.SkipValue(); err != nil {
			return nil
		}
	}
	return nil
}

var fieldNameCache sync.Map // reflect.Type -> map[string]bool

// fieldNames is the set of JSON names of a struct type's fields.
func fieldNames(t reflect.Type) map[string]bool {
	if v, ok := fieldNameCache.Load(t); ok {
		return v.(map[string]bool)
	}
	st := t
	for st.Kind() == reflect.Pointer {
		st = st.Elem()
	}
	names := map[string]bool{}
	if st.Kind() == reflect.Struct {
		for i := 0; i < st.NumField(); i++ {
			if tag, _, _ := strings.Cut(st.Field(i).Tag.Get("json"), ","); tag != "" && tag != "-" {
				names[tag] = true
			}
		}
	}
	fieldNameCache.Store(t, names)
	return names
}

// textChecker is a request that names which of its fields lost bytes in decoding,
// so that the error points at that field.
type textChecker interface {
	checkText() error
}

func jsonError(err error) *Error {
	var (
		se *json.SyntaxError
		ue *json.UnmarshalTypeError
		ae *Error
	)
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &se):
		return errorf(CodeInvalidRequest, "the request body is not valid JSON (at byte %d)", se.Offset)
	case errors.As(err, &ue):
		if ue.Field == "" {
			return errorf(CodeInvalidRequest, "the request body must be a JSON object")
		}
		return errorf(CodeInvalidRequest, "field %s must be %s, not %s", ue.Field, jsonKind(ue.Type.Kind().String()), ue.Value)
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return errorf(CodeInvalidRequest, "the request body is not valid JSON (it ends too early)")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return errorf(CodeInvalidRequest, "unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	default:
		return errorf(CodeInvalidRequest, "the request body is not a valid request")
	}
}

func jsonKind(k string) string {
	switch k {
	case "int", "int64", "uint", "uint64", "int32":
		return "an integer"
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "map", "struct":
		return "an object"
	case "slice":
		return "an array"
	case "ptr":
		return "a value of another type"
	}
	return "another type"
}

// exactString is a JSON string decoded without loss: encoding/json silently turns
// bytes that are not UTF-8, and escaped lone surrogates, into U+FFFD, which would
// change a key between the wire and the policy check. Lossy records that it happened.
type exactString struct {
	Value string
	Set   bool
	Lossy bool
}

// UnmarshalJSONFrom is decodeStrict's path: its decoder has already refused text
// that is not UTF-8 and escaped lone surrogates, so nothing is lost.
func (e *exactString) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	tok, err := dec.ReadToken()
	if err != nil {
		return err
	}
	switch tok.Kind() {
	case 'n':
		return nil
	case '"':
		e.Value, e.Set = tok.String(), true
		return nil
	}
	return &jsonv2.SemanticError{JSONKind: tok.Kind(), GoType: stringType}
}

func (e *exactString) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	if len(b) == 0 || b[0] != '"' {
		return &json.UnmarshalTypeError{Value: "a " + jsonValueKind(b), Type: stringType}
	}
	if err := json.Unmarshal(b, &e.Value); err != nil {
		return err
	}
	e.Set, e.Lossy = true, !exactText(b)
	return nil
}

// exactText reports whether JSON text is valid UTF-8 and its \u escapes name no lone
// surrogate, so that decoding it loses nothing.
func exactText(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' || i+1 >= len(b) {
			continue
		}
		if b[i+1] != 'u' {
			i++ // skip the escaped character, which may be a backslash
			continue
		}
		r, ok := hex4(b[i+2:])
		if !ok {
			return false
		}
		i += 5
		switch {
		case r >= 0xD800 && r <= 0xDBFF:
			if i+6 >= len(b) || b[i+1] != '\\' || b[i+2] != 'u' {
				return false
			}
			lo, ok := hex4(b[i+3:])
			if !ok || lo < 0xDC00 || lo > 0xDFFF {
				return false
			}
			i += 6
		case r >= 0xDC00 && r <= 0xDFFF:
			return false
		}
	}
	return true
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return r, true
}

func jsonValueKind(b []byte) string {
	switch {
	case len(b) == 0:
		return "nothing"
	case b[0] == '{':
		return "object"
	case b[0] == '[':
		return "array"
	case b[0] == 't' || b[0] == 'f':
		return "boolean"
	default:
		return "number"
	}
}

// jsonAppender is a response that encodes itself, byte for byte as encoding/json
// would (TestAppendersMatchEncodingJSON), without reflection: the answers of the
// signing routes.
type jsonAppender interface {
	appendJSON(b []byte) []byte
}

// encode writes v as JSON with the given status.
func encode(w http.ResponseWriter, status int, v any) {
	if a, ok := v.(jsonAppender); ok {
		buf := getBuffer()
		defer putBuffer(buf)
		buf.b = append(a.appendJSON(buf.b), '\n')
		writeJSON(w, status, buf.b)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

var stringType = reflect.TypeFor[string]()

func requiredErr(field string) *Error {
	return errorf(CodeInvalidRequest, "field %s is required", field)
}

func fieldErr(field, format string, args ...any) *Error {
	return errorf(CodeInvalidRequest, "field %s %s", field, fmt.Sprintf(format, args...))
}
