package apidoc

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/pluginpb"
)

// fixture is a file with what the renderer must handle: a streaming RPC,
// a nested message, a map, a oneof, a message from another package, an
// enum, and comments with paragraphs, pipes and angle brackets.
func fixture() *descriptorpb.FileDescriptorProto {
	str := descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum()
	msg := descriptorpb.FieldDescriptorProto_TYPE_MESSAGE.Enum()
	opt := descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum()
	rep := descriptorpb.FieldDescriptorProto_LABEL_REPEATED.Enum()
	field := func(name string, n int32, typ *descriptorpb.FieldDescriptorProto_Type, label *descriptorpb.FieldDescriptorProto_Label, typeName string) *descriptorpb.FieldDescriptorProto {
		f := &descriptorpb.FieldDescriptorProto{Name: proto.String(name), Number: proto.Int32(n), Type: typ, Label: label, JsonName: proto.String(name)}
		if typeName != "" {
			f.TypeName = proto.String(typeName)
		}
		return f
	}
	comment := func(text string, path ...int32) *descriptorpb.SourceCodeInfo_Location {
		return &descriptorpb.SourceCodeInfo_Location{Path: path, Span: []int32{0, 0, 0}, LeadingComments: proto.String(text)}
	}
	choice := field("text", 3, str, opt, "")
	choice.OneofIndex = proto.Int32(0)
	return &descriptorpb.FileDescriptorProto{
		Name: proto.String("accrue/test/t.proto"), Package: proto.String("accrue.test"), Syntax: proto.String("proto3"),
		Dependency: []string{"google/protobuf/timestamp.proto"},
		Options:    &descriptorpb.FileOptions{GoPackage: proto.String("example.com/t;t")},
		MessageType: []*descriptorpb.DescriptorProto{{
			Name: proto.String("Outer"),
			Field: []*descriptorpb.FieldDescriptorProto{
				field("inners", 1, msg, rep, ".accrue.test.Outer.Inner"),
				field("tags", 2, msg, rep, ".accrue.test.Outer.TagsEntry"),
				choice,
				field("at", 4, msg, opt, ".google.protobuf.Timestamp"),
			},
			NestedType: []*descriptorpb.DescriptorProto{
				{Name: proto.String("Inner")},
				{Name: proto.String("TagsEntry"), Options: &descriptorpb.MessageOptions{MapEntry: proto.Bool(true)},
					Field: []*descriptorpb.FieldDescriptorProto{field("key", 1, str, opt, ""), field("value", 2, str, opt, "")}},
			},
			OneofDecl: []*descriptorpb.OneofDescriptorProto{{Name: proto.String("choice")}},
		}},
		EnumType: []*descriptorpb.EnumDescriptorProto{{Name: proto.String("Color"), Value: []*descriptorpb.EnumValueDescriptorProto{
			{Name: proto.String("COLOR_UNSPECIFIED"), Number: proto.Int32(0)},
		}}},
		Service: []*descriptorpb.ServiceDescriptorProto{{Name: proto.String("TestService"), Method: []*descriptorpb.MethodDescriptorProto{{
			Name: proto.String("Watch"), InputType: proto.String(".accrue.test.Outer"), OutputType: proto.String(".accrue.test.Outer.Inner"),
			ServerStreaming: proto.Bool(true),
		}}}},
		SourceCodeInfo: &descriptorpb.SourceCodeInfo{Location: []*descriptorpb.SourceCodeInfo_Location{
			comment(" TestService tests.\n\n A second paragraph.\n", 6, 0),
			comment(" Outer holds partner:<id>:payable.\n", 4, 0),
			comment(" The inners,\n one | two.\n\n Then more.\n", 4, 0, 2, 0),
		}},
	}
}

// TestRender: the fixture's reference has each part in the form the
// reference promises.
func TestRender(t *testing.T) {
	req := &pluginpb.CodeGeneratorRequest{
		FileToGenerate: []string{"accrue/test/t.proto"},
		ProtoFile:      []*descriptorpb.FileDescriptorProto{protodesc.ToFileDescriptorProto(timestamppb.File_google_protobuf_timestamp_proto), fixture()},
	}
	gen, err := protogen.Options{}.New(req)
	if err != nil {
		t.Fatal(err)
	}
	if err := Run(gen); err != nil {
		t.Fatal(err)
	}
	res := gen.Response()
	if res.Error != nil || len(res.File) != 1 || res.File[0].GetName() != FileName {
		t.Fatalf("response: error %v, %d files", res.Error, len(res.File))
	}
	doc := res.File[0].GetContent()
	for _, want := range []string{
		"- [Messages](#messages): [Outer](#outer), [Outer.Inner](#outerinner)\n",
		"### TestService\n\n`accrue.test.TestService` in `accrue/test/t.proto`\n\nTestService tests.\n\nA second paragraph.\n",
		"#### TestService.Watch\n\n[Outer](#outer) → stream of [Outer.Inner](#outerinner)\n",
		"Outer holds partner:&lt;id&gt;:payable.\n",
		"| `inners` | 1 | repeated [Outer.Inner](#outerinner) | The inners, one \\| two.<br>Then more. |\n",
		"| `tags` | 2 | map&lt;string, string&gt; |  |\n",
		"| `text` | 3 | string | One of `choice`. |\n",
		"| `at` | 4 | `google.protobuf.Timestamp` |  |\n",
		"### Outer.Inner\n\n`accrue.test.Outer.Inner` in `accrue/test/t.proto`\n\nNo fields.\n",
		"| `COLOR_UNSPECIFIED` | 0 |  |\n",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("the reference lacks %q; it is:\n%s", want, doc)
		}
	}
	if strings.Contains(doc, "TagsEntry") {
		t.Errorf("a map entry is documented as a message:\n%s", doc)
	}
}
