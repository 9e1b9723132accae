package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/accrue/accrue/internal/fault"
)

// The JSON half of strict decoding (strict.go): what protojson accepts
// although accrue does not know it (unknown members and enum names,
// field mask paths it would misread), found before protojson runs; and
// the path of the member protojson's own error points at, which it gives
// only as a line and column.

// unknownJSON finds the first JSON member that names no field of md, an
// enum name md's enum does not define, or a field mask protojson would
// misread (maskJSONFault), at any depth. Malformed JSON is left to
// protojson to report.
func unknownJSON(data []byte, md protoreflect.MessageDescriptor, path string) *fault.Error {
	if isWellKnown(md) {
		return nil
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(data, &obj) != nil {
		return nil
	}
	for _, k := range slices.Sorted(mapKeys(obj)) {
		fd := fieldByJSONKey(md, k)
		if fd == nil {
			return fault.InvalidArgument(joinField(path, k), "this API has no such field")
		}
		if f := unknownJSONValue(obj[k], fd, joinField(path, string(fd.Name()))); f != nil {
			return f
		}
	}
	return nil
}

// unknownJSONValue checks the JSON value of field fd.
func unknownJSONValue(raw json.RawMessage, fd protoreflect.FieldDescriptor, path string) *fault.Error {
	switch {
	case fd.IsMap():
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) != nil {
			return nil
		}
		for _, k := range slices.Sorted(mapKeys(m)) {
			if f := unknownJSONElem(m[k], fd.MapValue(), path+"."+k); f != nil {
				return f
			}
		}
	case fd.IsList():
		var l []json.RawMessage
		if json.Unmarshal(raw, &l) != nil {
			return nil
		}
		for i, e := range l {
			if f := unknownJSONElem(e, fd, fmt.Sprintf("%s[%d]", path, i)); f != nil {
				return f
			}
		}
	default:
		return unknownJSONElem(raw, fd, path)
	}
	return nil
}

// unknownJSONElem checks one message or enum value of field fd.
func unknownJSONElem(raw json.RawMessage, fd protoreflect.FieldDescriptor, path string) *fault.Error {
	switch {
	case fd.Message() != nil && fd.Message().FullName() == fieldMaskName:
		return maskJSONFault(raw, fd, path)
	case fd.Message() != nil:
		return unknownJSON(raw, fd.Message(), path)
	case fd.Kind() == protoreflect.EnumKind:
		var name string
		if json.Unmarshal(raw, &name) == nil && fd.Enum().Values().ByName(protoreflect.Name(name)) == nil {
			return fault.InvalidArgument(path, "%q is not a value of %s", name, fd.Enum().FullName())
		}
	}
	return nil
}

// fieldByJSONKey is the field of md a JSON member's key names: by its JSON
// (lowerCamelCase) name or its proto name, as protojson accepts both.
func fieldByJSONKey(md protoreflect.MessageDescriptor, key string) protoreflect.FieldDescriptor {
	if fd := md.Fields().ByJSONName(key); fd != nil {
		return fd
	}
	return md.Fields().ByName(protoreflect.Name(key))
}

// isWellKnown reports the google.protobuf types whose JSON form is not an
// object of their fields (Timestamp is a string, Struct any object).
func isWellKnown(md protoreflect.MessageDescriptor) bool {
	return md.ParentFile() != nil && md.ParentFile().Package() == "google.protobuf"
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// jsonDecodeFault is the fault of a JSON body protojson refused. A body
// that is not a JSON object is at fault as a whole (field ""); otherwise
// the fault names the member protojson's error points at ("(line 1:27)")
// by its full path, "lines[1].amount", "as_of".
func jsonDecodeFault(data []byte, md protoreflect.MessageDescriptor, err error) *fault.Error {
	msg := decoderMessage(err)
	if !json.Valid(data) {
		return fault.InvalidArgument("", "the request body is not valid JSON: %s", msg)
	}
	if bytes.TrimLeft(data, " \t\r\n")[0] != '{' {
		return fault.InvalidArgument("", "the request body is not a JSON object")
	}
	if off, ok := jsonOffset(data, msg); ok {
		if path := jsonPathAt(data, md, off); path != "" {
			return fault.InvalidArgument(path, "the request does not decode: %s", msg)
		}
	}
	return decodeFault(err)
}

// jsonPosition is the position protojson gives in its errors: a line and a
// column, both from 1, the column counted in runes.
var jsonPosition = regexp.MustCompile(`\(line (\d+):(\d+)\)`)

// jsonOffset is the byte offset in data of the position msg gives.
func jsonOffset(data []byte, msg string) (int64, bool) {
	m := jsonPosition.FindStringSubmatch(msg)
	if m == nil {
		return 0, false
	}
	line, _ := strconv.Atoi(m[1])
	col, _ := strconv.Atoi(m[2])
	off := 0
	for ; line > 1; line-- {
		i := bytes.IndexByte(data[off:], '\n')
		if i < 0 {
			return 0, false
		}
		off += i + 1
	}
	for ; col > 1 && off < len(data); col-- {
		_, n := utf8.DecodeRune(data[off:])
		off += n
	}
	return int64(off), true
}

// jsonPathAt is the path of the innermost member of the JSON object data
// (a message md) whose key or value holds byte offset off: its fields by
// their proto names, list elements by index, map values by key. It is ""
// when no member holds it.
func jsonPathAt(data []byte, md protoreflect.MessageDescriptor, off int64) string {
	l := &jsonLocator{dec: json.NewDecoder(bytes.NewReader(data)), off: off}
	if tok, _ := l.token(); tok != json.Delim('{') {
		return ""
	}
	path, _ := l.object(md, "")
	return path
}

// jsonLocator walks a JSON document token by token, looking for the token
// that holds a byte offset. A token holds the bytes from the end of the
// one before it to its own end, the separators before it included.
type jsonLocator struct {
	dec *json.Decoder
	off int64
	err error
}

// token reads the next token and reports whether it holds the offset.
func (l *jsonLocator) token() (json.Token, bool) {
	start := l.dec.InputOffset()
	tok, err := l.dec.Token()
	if err != nil {
		l.err = err
		return nil, false
	}
	return tok, start <= l.off && l.off < l.dec.InputOffset()
}

// more reports whether the object or array being read has another member.
func (l *jsonLocator) more() bool { return l.err == nil && l.dec.More() }

// object reads the members of a message md at path, its "{" read, and
// returns the path holding the offset if one does.
func (l *jsonLocator) object(md protoreflect.MessageDescriptor, path string) (string, bool) {
	for l.more() {
		tok, at := l.token()
		key, _ := tok.(string)
		p := joinField(path, key)
		fd := fieldByJSONKey(md, key)
		if fd != nil {
			p = joinField(path, string(fd.Name()))
		}
		if at {
			return p, true
		}
		if q, ok := l.value(fd, p, false); ok {
			return q, true
		}
	}
	_, at := l.token()
	return path, at
}

// value reads the value at path of field fd (nil: a field the message does
// not have), or with elem one element of it.
func (l *jsonLocator) value(fd protoreflect.FieldDescriptor, path string, elem bool) (string, bool) {
	tok, at := l.token()
	if at {
		return path, true
	}
	d, ok := tok.(json.Delim)
	switch {
	case !ok:
		return "", false
	case fd != nil && d == '[' && fd.IsList() && !elem:
		for i := 0; l.more(); i++ {
			if q, ok := l.value(fd, fmt.Sprintf("%s[%d]", path, i), true); ok {
				return q, true
			}
		}
	case fd != nil && d == '{' && fd.IsMap():
		for l.more() {
			tok, at := l.token()
			key, _ := tok.(string)
			if at {
				return path + "." + key, true
			}
			if q, ok := l.value(fd.MapValue(), path+"."+key, true); ok {
				return q, true
			}
		}
	case fd != nil && d == '{' && fd.Message() != nil && !isWellKnown(fd.Message()):
		return l.object(fd.Message(), path)
	default: // a value read as a whole: anything inside it is the value
		for depth := 1; depth > 0 && l.err == nil; {
			tok, at := l.token()
			if at {
				return path, true
			}
			switch tok {
			case json.Delim('{'), json.Delim('['):
				depth++
			case json.Delim('}'), json.Delim(']'):
				depth--
			}
		}
		return "", false
	}
	_, at = l.token()
	return path, at
}

var fieldMaskName = (&fieldmaskpb.FieldMask{}).ProtoReflect().Descriptor().FullName()

// maskJSONFault refuses a JSON field mask protojson would misread, naming
// the mask and quoting the path as the client wrote it. protojson turns a
// path's lowerCamelCase into snake_case without checking it: it reads
// "private.Email" as "private._email", so a handler could only echo a path
// the client never wrote. Each path must therefore be lowerCamelCase and
// name a field of the message holding the mask, as accrue's masks do
// (UpdatePartnerRequest.update_mask: "status", "private.bankAccount").
func maskJSONFault(raw json.RawMessage, fd protoreflect.FieldDescriptor, path string) *fault.Error {
	var mask string
	if json.Unmarshal(raw, &mask) != nil || mask == "" {
		return nil // not a string (protojson says so), or no paths
	}
	for _, p := range strings.Split(mask, ",") {
		if !lowerCamelPath(p) {
			return fault.InvalidArgument(path, "path %q of %q is not a lowerCamelCase field path (\"private.bankAccount\")", p, mask)
		}
		if !maskPathResolves(fd.ContainingMessage(), p) {
			return fault.InvalidArgument(path, "path %q of %q names no field of %s", p, mask, fd.ContainingMessage().Name())
		}
	}
	return nil
}

// lowerCamelPath reports whether p is dot-separated names, each a
// lowercase ASCII letter followed by ASCII letters and digits.
func lowerCamelPath(p string) bool {
	for _, name := range strings.Split(p, ".") {
		if name == "" || name[0] < 'a' || name[0] > 'z' {
			return false
		}
		for _, c := range []byte(name) {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
				return false
			}
		}
	}
	return true
}

// maskPathResolves reports whether the lowerCamelCase path p names a field
// of md, through singular message fields.
func maskPathResolves(md protoreflect.MessageDescriptor, p string) bool {
	names := strings.Split(p, ".")
	for i, name := range names {
		fd := md.Fields().ByJSONName(name)
		if fd == nil || string(fd.Name()) != snakeCase(name) {
			return false
		}
		if i < len(names)-1 {
			if fd.Message() == nil || fd.IsList() || fd.IsMap() {
				return false
			}
			md = fd.Message()
		}
	}
	return true
}

// snakeCase is the snake_case of a lowerCamelCase name, as protojson reads
// a field mask path: "bankAccount" is "bank_account".
func snakeCase(name string) string {
	var b strings.Builder
	for _, c := range []byte(name) {
		if 'A' <= c && c <= 'Z' {
			b.WriteByte('_')
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	return b.String()
}

// fieldMaskHolders caches holdsFieldMask by message name.
var fieldMaskHolders sync.Map // protoreflect.FullName -> bool

// holdsFieldMask reports whether a message of md can hold a FieldMask, in
// a field of its own or of a message below it.
func holdsFieldMask(md protoreflect.MessageDescriptor) bool {
	return holds(&fieldMaskHolders, md, func(fd protoreflect.FieldDescriptor) bool {
		return fd.Message() != nil && fd.Message().FullName() == fieldMaskName
	})
}

// enumHolders caches holdsEnum by message name.
var enumHolders sync.Map

// holdsEnum reports whether a message of md can hold an enum value, at
// any depth.
func holdsEnum(md protoreflect.MessageDescriptor) bool {
	return holds(&enumHolders, md, func(fd protoreflect.FieldDescriptor) bool { return fd.Kind() == protoreflect.EnumKind })
}

// holds reports whether md, or a message inside it at any depth (well
// known types aside), has a field that matches, caching the answer by
// md's name in cache.
func holds(cache *sync.Map, md protoreflect.MessageDescriptor, match func(protoreflect.FieldDescriptor) bool) bool {
	if v, ok := cache.Load(md.FullName()); ok {
		return v.(bool)
	}
	found := reaches(md, match, map[protoreflect.FullName]bool{})
	cache.Store(md.FullName(), found)
	return found
}

// reaches is holds' walk; seen breaks recursive types.
func reaches(md protoreflect.MessageDescriptor, match func(protoreflect.FieldDescriptor) bool, seen map[protoreflect.FullName]bool) bool {
	if seen[md.FullName()] || isWellKnown(md) {
		return false
	}
	seen[md.FullName()] = true
	fields := md.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if fd.IsMap() {
			fd = fd.MapValue()
		}
		if match(fd) || fd.Message() != nil && reaches(fd.Message(), match, seen) {
			return true
		}
	}
	return false
}
