package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/accrue/accrue/internal/fault"
)

// Strict decoding: a request that carries a field or an enum value accrue
// does not know is refused, over every protocol and codec, instead of being
// read as if the unknown part were absent (connect-go's default JSON codec
// discards unknown fields, and Go's proto3 enums are open).
//
// Connect decodes a request before any interceptor runs and drops the
// details of a codec's error, so a strict codec cannot itself answer with a
// field violation. Instead it leaves the message empty but for a decode
// fault, carried as an unknown field of a reserved number; the request
// check (validate.go), the first interceptor, finds it and refuses the
// request with the fault. A message reaching any handler has therefore been
// decoded strictly, or refused.

// decodeFaultNumber is the field number carrying a decode fault: the
// largest valid one, which no accrue message uses.
const decodeFaultNumber = protowire.MaxValidNumber

// strictCodecs returns the codecs of every accrue handler, under the names
// connect-go uses for its defaults, so they replace them for the Connect,
// gRPC and gRPC-Web protocols alike.
func strictCodecs() []connect.HandlerOption {
	return []connect.HandlerOption{
		connect.WithCodec(strictProto{}),
		connect.WithCodec(strictJSON{name: "json"}),
		connect.WithCodec(strictJSON{name: "json; charset=utf-8"}),
	}
}

// strictProto is the binary protobuf codec, refusing unknown fields and
// enum numbers.
type strictProto struct{}

func (strictProto) Name() string { return "proto" }

// IsBinary tells connect the encoding is not text.
func (strictProto) IsBinary() bool { return true }

func (strictProto) Marshal(v any) ([]byte, error) {
	m, err := asProto(v)
	if err != nil {
		return nil, err
	}
	return proto.Marshal(m)
}

// MarshalStable marshals deterministically (connect uses it for GET).
func (strictProto) MarshalStable(v any) ([]byte, error) {
	m, err := asProto(v)
	if err != nil {
		return nil, err
	}
	return proto.MarshalOptions{Deterministic: true}.Marshal(m)
}

func (strictProto) Unmarshal(data []byte, v any) error {
	m, err := asProto(v)
	if err != nil {
		return err
	}
	if err := proto.Unmarshal(data, m); err != nil {
		if path, ok := invalidUTF8(data, m.ProtoReflect().Descriptor(), ""); ok {
			return carryFault(m, fault.InvalidArgument(path, "is not valid UTF-8"))
		}
		return carryFault(m, decodeFault(err))
	}
	if f := strictFault(m.ProtoReflect(), ""); f != nil {
		return carryFault(m, f)
	}
	return nil
}

// strictJSON is the protobuf JSON codec, refusing unknown fields and enum
// names or numbers.
type strictJSON struct{ name string }

func (c strictJSON) Name() string { return c.name }

// IsBinary tells connect the encoding is text.
func (strictJSON) IsBinary() bool { return false }

func (strictJSON) Marshal(v any) ([]byte, error) {
	m, err := asProto(v)
	if err != nil {
		return nil, err
	}
	return protojson.Marshal(m)
}

// MarshalStable marshals compactly; protojson's field order is stable.
func (c strictJSON) MarshalStable(v any) ([]byte, error) {
	b, err := c.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func (strictJSON) Unmarshal(data []byte, v any) error {
	m, err := asProto(v)
	if err != nil {
		return err
	}
	md := m.ProtoReflect().Descriptor()
	if len(data) == 0 {
		return carryFault(m, fault.InvalidArgument("", "the request body is empty; send a JSON object"))
	}
	// protojson refuses unknown members and enum names itself, but names
	// no field: the JSON walk (unknownJSON) runs when it refuses, to say
	// which member, and otherwise only for messages holding a field mask,
	// whose paths protojson may misread. The walk decodes every level of
	// the body again, a third of the CPU of a RecordClicks call of 1,000.
	if err := (protojson.UnmarshalOptions{}).Unmarshal(data, m); err != nil {
		if f := unknownJSON(data, md, ""); f != nil {
			return carryFault(m, f)
		}
		return carryFault(m, jsonDecodeFault(data, md, err))
	}
	if holdsFieldMask(md) {
		if f := unknownJSON(data, md, ""); f != nil {
			return carryFault(m, f)
		}
	}
	// protojson leaves no unknown fields; what strictFault can refuse in
	// a JSON body is an enum number no value has, so only a message that
	// can hold an enum is walked for it.
	if holdsEnum(md) {
		if f := strictFault(m.ProtoReflect(), ""); f != nil {
			return carryFault(m, f)
		}
	}
	return nil
}

func asProto(v any) (proto.Message, error) {
	m, ok := v.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("server: %T is not a protobuf message", v)
	}
	return m, nil
}

// carryFault empties m and leaves f in it for the request check to find.
// It returns nil: connect must not answer before the check does.
func carryFault(m proto.Message, f *fault.Error) error {
	proto.Reset(m)
	var raw []byte
	raw = protowire.AppendTag(raw, decodeFaultNumber, protowire.BytesType)
	raw = protowire.AppendString(raw, f.Field+"\x00"+f.Msg)
	m.ProtoReflect().SetUnknown(raw)
	return nil
}

// carriedFault returns the decode fault carryFault left in m, if any.
func carriedFault(m protoreflect.Message) *fault.Error {
	raw := m.GetUnknown()
	for len(raw) > 0 {
		num, typ, n := protowire.ConsumeTag(raw)
		if n < 0 {
			return nil
		}
		raw = raw[n:]
		if num == decodeFaultNumber && typ == protowire.BytesType {
			v, n := protowire.ConsumeString(raw)
			if n < 0 {
				return nil
			}
			field, msg, _ := strings.Cut(v, "\x00")
			return fault.InvalidArgument(field, "%s", msg)
		}
		n = protowire.ConsumeFieldValue(num, typ, raw)
		if n < 0 {
			return nil
		}
		raw = raw[n:]
	}
	return nil
}

// strictFault walks m for what the decoder kept although accrue does not
// know it: unknown fields (at any depth) and enum numbers the enum does not
// define.
func strictFault(m protoreflect.Message, path string) *fault.Error {
	if f := unknownFieldFault(m, path); f != nil {
		return f
	}
	return walkMessage(m, path, func(p string, fd protoreflect.FieldDescriptor, v protoreflect.Value) *fault.Error {
		switch {
		case fd.Kind() == protoreflect.EnumKind:
			if fd.Enum().Values().ByNumber(v.Enum()) == nil {
				return fault.InvalidArgument(p, "%d is not a value of %s", v.Enum(), fd.Enum().FullName())
			}
		case fd.Message() != nil:
			return unknownFieldFault(v.Message(), p)
		}
		return nil
	})
}

// unknownFieldFault refuses the first unknown field of m, named by its
// number under path ("private.#12").
func unknownFieldFault(m protoreflect.Message, path string) *fault.Error {
	raw := m.GetUnknown()
	if len(raw) == 0 {
		return nil
	}
	num, _, _ := protowire.ConsumeTag(raw)
	return fault.InvalidArgument(joinField(path, fmt.Sprintf("#%d", num)), "this API has no field number %d here", num)
}

// invalidUTF8 finds the path of the first string field of the wire message
// raw (of type md) that is not UTF-8, which Go's decoder refuses without
// naming it. Repeated fields are indexed; a map is named as a whole.
func invalidUTF8(raw []byte, md protoreflect.MessageDescriptor, path string) (string, bool) {
	seen := map[protowire.Number]int{}
	for len(raw) > 0 {
		num, typ, n := protowire.ConsumeTag(raw)
		if n < 0 {
			return "", false
		}
		raw = raw[n:]
		if typ != protowire.BytesType {
			if n = protowire.ConsumeFieldValue(num, typ, raw); n < 0 {
				return "", false
			}
			raw = raw[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(raw)
		if n < 0 {
			return "", false
		}
		raw = raw[n:]
		fd := md.Fields().ByNumber(num)
		if fd == nil {
			continue
		}
		p := joinField(path, string(fd.Name()))
		if fd.IsList() {
			p = fmt.Sprintf("%s[%d]", p, seen[num])
			seen[num]++
		}
		switch {
		case fd.IsMap():
			if _, bad := invalidUTF8(v, fd.Message(), ""); bad {
				return p, true
			}
		case fd.Kind() == protoreflect.StringKind && !utf8.Valid(v):
			return p, true
		case fd.Message() != nil:
			if q, bad := invalidUTF8(v, fd.Message(), p); bad {
				return q, true
			}
		}
	}
	return "", false
}

// decodeFieldPatterns find the field a protobuf decoder's error names.
var decodeFieldPatterns = []*regexp.Regexp{
	regexp.MustCompile(`invalid value for [\w ]+ field (\w+)`),
	regexp.MustCompile(`field ([\w.]+) contains invalid UTF-8`),
	regexp.MustCompile(`(?:unknown|duplicate) field "?(\w+)"?`),
}

// decodeFault is the fault of a request body that does not decode: it names
// the field the decoder names, else the body as a whole (field "").
func decodeFault(err error) *fault.Error {
	msg := decoderMessage(err)
	for _, re := range decodeFieldPatterns {
		if m := re.FindStringSubmatch(msg); m != nil {
			name := m[1]
			if i := strings.LastIndexByte(name, '.'); i >= 0 {
				name = name[i+1:]
			}
			return fault.InvalidArgument(name, "the request does not decode: %s", msg)
		}
	}
	return fault.InvalidArgument("", "the request body does not decode: %s", msg)
}

// decoderMessage is a protobuf decoder's error without its "proto:"
// prefix, followed by a space or, chosen per binary to stop callers
// matching its text, a no-break space (U+00A0).
func decoderMessage(err error) string {
	return strings.TrimPrefix(strings.TrimPrefix(err.Error(), "proto: "), "proto:\u00a0")
}

// joinField appends a field name to a path.
func joinField(path, name string) string {
	if path == "" || name == "" {
		return path + name
	}
	return path + "." + name
}
