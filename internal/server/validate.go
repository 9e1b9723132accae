package server

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/accrue/accrue/internal/fault"
)

// The generic request check: before any handler runs, every string of the
// request (at any depth, map keys included) must be valid UTF-8 free of
// control characters, and every timestamp must lie in [TimeMin, TimeMax).
// Handlers still check what is particular to each field.

// Timestamps a request may carry: none before the Unix epoch, none from
// the year 2200 on. Both are far from any date a program books, and keep
// every time printable as RFC 3339 and storable in PostgreSQL and
// CockroachDB.
var (
	TimeMin = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	TimeMax = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// documentFields are the string fields holding a document, where tab, line
// feed and carriage return are text; everywhere else every control
// character is refused.
var documentFields = map[protoreflect.FullName]bool{
	"accrue.v1.PutRulesRequest.document":      true,
	"accrue.v1.ValidateRulesRequest.document": true,
	// Typed into the web UI's text areas.
	"accrue.v1.SubmitLeadRequest.note": true,
	"accrue.v1.Material.html":          true,
}

var timestampName = (&timestamppb.Timestamp{}).ProtoReflect().Descriptor().FullName()

// decodeCheck refuses a request its strict codec could not decode
// (strict.go). It is the outermost interceptor: a body that does not
// decode is refused before anything reads it, as connect does.
func (s *Server) decodeCheck() connect.UnaryInterceptorFunc {
	return func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			if m, ok := req.Any().(proto.Message); ok {
				if f := carriedFault(m.ProtoReflect()); f != nil {
					return nil, s.connectError(req.Spec().Procedure, f)
				}
			}
			return next(ctx, req)
		}
	}
}

// valueCheck refuses a request with a bad string or timestamp anywhere in
// it, naming the field's path.
func valueCheck() connect.UnaryInterceptorFunc {
	return func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			if m, ok := req.Any().(proto.Message); ok {
				if f := checkValues(m.ProtoReflect()); f != nil {
					return nil, f
				}
			}
			return next(ctx, req)
		}
	}
}

// checkValues returns the first bad string or timestamp of m.
func checkValues(m protoreflect.Message) *fault.Error {
	return walkMessage(m, "", func(path string, fd protoreflect.FieldDescriptor, v protoreflect.Value) *fault.Error {
		switch {
		case fd.Kind() == protoreflect.StringKind:
			return checkString(path, v.String(), documentFields[fd.FullName()])
		case fd.Message() != nil && fd.Message().FullName() == timestampName:
			return checkTimestamp(path, v.Message())
		}
		return nil
	})
}

// checkString refuses invalid UTF-8 and control characters; a document
// may hold tabs and line breaks.
func checkString(path, s string, document bool) *fault.Error {
	if !utf8.ValidString(s) {
		return fault.InvalidArgument(path, "is not valid UTF-8")
	}
	for i, r := range s {
		if !unicode.IsControl(r) || document && (r == '\t' || r == '\n' || r == '\r') {
			continue
		}
		return fault.InvalidArgument(path, "has the control character %U at byte %d; control characters are not allowed", r, i)
	}
	return nil
}

// checkTimestamp refuses a malformed timestamp or one outside
// [TimeMin, TimeMax).
func checkTimestamp(path string, m protoreflect.Message) *fault.Error {
	fields := m.Descriptor().Fields()
	ts := &timestamppb.Timestamp{
		Seconds: m.Get(fields.ByName("seconds")).Int(),
		Nanos:   int32(m.Get(fields.ByName("nanos")).Int()),
	}
	if err := ts.CheckValid(); err != nil {
		return fault.InvalidArgument(path, "is not a valid timestamp: %v", err)
	}
	if t := ts.AsTime(); t.Before(TimeMin) || !t.Before(TimeMax) {
		return fault.InvalidArgument(path, "%s is out of range: times are from %s and before %s",
			t.Format(time.RFC3339Nano), TimeMin.Format(time.RFC3339), TimeMax.Format(time.RFC3339))
	}
	return nil
}

// visitFunc is called by walkMessage for one value at path: a singular
// field, a list element, a map key (fd is the map's key field) or a map
// value. A fault stops the walk.
type visitFunc func(path string, fd protoreflect.FieldDescriptor, v protoreflect.Value) *fault.Error

// walkMessage calls fn for every populated value of m and, depth first, of
// the messages inside it, in field order (map entries in key order), and
// returns the first fault. Paths read "lines[2].product", "metadata.note".
func walkMessage(m protoreflect.Message, path string, fn visitFunc) *fault.Error {
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if !m.Has(fd) {
			continue
		}
		p := joinField(path, string(fd.Name()))
		v := m.Get(fd)
		var f *fault.Error
		switch {
		case fd.IsList():
			f = walkList(v.List(), p, fd, fn)
		case fd.IsMap():
			f = walkMap(v.Map(), p, fd, fn)
		default:
			f = walkValue(p, fd, v, fn)
		}
		if f != nil {
			return f
		}
	}
	return nil
}

func walkList(l protoreflect.List, path string, fd protoreflect.FieldDescriptor, fn visitFunc) *fault.Error {
	for i := range l.Len() {
		if f := walkValue(fmt.Sprintf("%s[%d]", path, i), fd, l.Get(i), fn); f != nil {
			return f
		}
	}
	return nil
}

func walkMap(m protoreflect.Map, path string, fd protoreflect.FieldDescriptor, fn visitFunc) *fault.Error {
	keys := make([]protoreflect.MapKey, 0, m.Len())
	m.Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
		keys = append(keys, k)
		return true
	})
	slices.SortFunc(keys, func(a, b protoreflect.MapKey) int { return strings.Compare(a.String(), b.String()) })
	for _, k := range keys {
		if f := fn(path, fd.MapKey(), k.Value()); f != nil {
			return f
		}
		if f := walkValue(path+"."+k.String(), fd.MapValue(), m.Get(k), fn); f != nil {
			return f
		}
	}
	return nil
}

func walkValue(path string, fd protoreflect.FieldDescriptor, v protoreflect.Value, fn visitFunc) *fault.Error {
	if f := fn(path, fd, v); f != nil {
		return f
	}
	if fd.Message() != nil {
		return walkMessage(v.Message(), path, fn)
	}
	return nil
}
