package bench

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"

	// The generated package registers accrue's descriptors.
	_ "github.com/accrue/accrue/proto/accrue/v1"
)

// The batch click call and the import did not exist when the harness was
// written. Their cases find the RPC in the compiled-in descriptors by name
// and call it over Connect JSON with messages built from the descriptors,
// so they run as soon as the RPC is added: the events are written as the
// JSON of the existing single-event requests and decoded into whatever
// message holds them, dropping fields it does not have.

// findMethod returns the accrue.v1 method called name in any service, or
// nil when no service has it.
func findMethod(name string) protoreflect.MethodDescriptor {
	var found protoreflect.MethodDescriptor
	protoregistry.GlobalFiles.RangeFilesByPackage("accrue.v1", func(fd protoreflect.FileDescriptor) bool {
		for i := range fd.Services().Len() {
			if m := fd.Services().Get(i).Methods().ByName(protoreflect.Name(name)); m != nil {
				found = m
				return false
			}
		}
		return true
	})
	return found
}

// procedure is the Connect path of m.
func procedure(m protoreflect.MethodDescriptor) string {
	return "/" + string(m.Parent().FullName()) + "/" + string(m.Name())
}

// repeatedMessageField is the first repeated message field of md, nil if none.
func repeatedMessageField(md protoreflect.MessageDescriptor) protoreflect.FieldDescriptor {
	for i := range md.Fields().Len() {
		f := md.Fields().Get(i)
		if f.Cardinality() == protoreflect.Repeated && f.Kind() == protoreflect.MessageKind && !f.IsMap() {
			return f
		}
	}
	return nil
}

// encodeAs decodes the generic JSON value v into a message of md, dropping
// fields md lacks, and returns its canonical JSON.
func encodeAs(md protoreflect.MessageDescriptor, v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	msg := dynamicpb.NewMessage(md)
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(raw, msg); err != nil {
		return nil, fmt.Errorf("building %s: %w", md.FullName(), err)
	}
	return protojson.Marshal(msg)
}

// callUnaryJSON posts body to the Connect unary procedure; a Connect
// error's code "unimplemented" (or a 404) is errUnimplemented.
func callUnaryJSON(ctx context.Context, h *http.Client, url string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	return connectError(resp.StatusCode, out)
}

// callClientStreamJSON sends msgs as one Connect client stream and reads
// the answer's end-of-stream message for an error.
func callClientStreamJSON(ctx context.Context, h *http.Client, url string, msgs [][]byte) error {
	var body bytes.Buffer
	for _, m := range msgs {
		var hdr [5]byte
		binary.BigEndian.PutUint32(hdr[1:], uint32(len(m)))
		body.Write(hdr[:])
		body.Write(m)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, &body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/connect+json")
	resp, err := h.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return connectError(resp.StatusCode, out)
	}
	for len(out) >= 5 {
		flags, n := out[0], int(binary.BigEndian.Uint32(out[1:5]))
		if len(out) < 5+n {
			return fmt.Errorf("truncated stream answer")
		}
		msg := out[5 : 5+n]
		out = out[5+n:]
		if flags&0x02 == 0 {
			continue
		}
		var end struct {
			Error json.RawMessage `json:"error"`
		}
		if err := json.Unmarshal(msg, &end); err == nil && len(end.Error) > 0 {
			return connectError(0, end.Error)
		}
	}
	return nil
}

// connectError reads a Connect error body.
func connectError(status int, body []byte) error {
	var e struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(body, &e)
	if e.Code == "unimplemented" || status == http.StatusNotFound {
		return errUnimplemented
	}
	if e.Code == "" {
		return fmt.Errorf("HTTP %d: %s", status, strings.TrimSpace(string(body)))
	}
	return fmt.Errorf("%s: %s", e.Code, e.Message)
}
