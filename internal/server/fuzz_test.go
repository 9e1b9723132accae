package server

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	_ "github.com/accrue/accrue/proto/accrue/v1" // registers the accrue files
)

// rpc is one accrue method: its HTTP path and request type.
type rpc struct {
	path string
	in   protoreflect.MessageType
}

// accrueRPCs lists every method of every accrue service, read from the
// registered file descriptors of proto/accrue/v1.
func accrueRPCs(t testing.TB) []rpc {
	t.Helper()
	var rpcs []rpc
	protoregistry.GlobalFiles.RangeFilesByPackage("accrue.v1", func(fd protoreflect.FileDescriptor) bool {
		for i := range fd.Services().Len() {
			sd := fd.Services().Get(i)
			for j := range sd.Methods().Len() {
				md := sd.Methods().Get(j)
				in, err := protoregistry.GlobalTypes.FindMessageByName(md.Input().FullName())
				if err != nil {
					t.Fatal(err)
				}
				rpcs = append(rpcs, rpc{path: fmt.Sprintf("/%s/%s", sd.FullName(), md.Name()), in: in})
			}
		}
		return true
	})
	if len(rpcs) == 0 {
		t.Fatal("no accrue RPCs registered")
	}
	return rpcs
}

// adversarialStrings are the values fields are filled from: the fixture's
// names (so requests reach deep), malformed and extreme decimals, control
// characters, formula-like cells and documents.
var adversarialStrings = []string{
	"p", "bob", "BOB", "bob", "ann", "o1", "c1", "v1", "bag", "2026-01", "2026-02", "2026-13", "USD", "EUR",
	"platform:payout_clearing", "platform:commission_expense", "partner:bob:accrued",
	"1.00", "10.00", "0", "-0", "-0.00", "0.001", "-5.00", "1e1000", "1e-1000", "10000000000000000",
	"1000000000000000.00", "99999999999999999999999999999999999999.99", "NaN", "Infinity", "0x10", "1_000",
	"10%", "150%", "-10%", "7d", "-1d", "99999999999d",
	"", " ", "\x00", "a\x00b", "\u0085", "=1+2", "@SUM(A1)", "\u202e", "日本",
	strings.Repeat("x", 1<<10), strings.Repeat("9", 300),
	apiRules,
	"currency: USD\ncommission: {default: 10%}\nupline: [{level: 1, rate: 2%, base: order_amount}]\n",
	"currency: USD\ncommission: {default: 100%}\npayout: {minimum: \"1e1000\"}\n",
	"currency: [\n", "{}", "currency: USD\ncommission: {default: 10%}\nunknown: 1\n",
}

// decimals are amounts, well formed or not, small and huge.
var decimals = []string{"1.00", "10.00", "100.00", "250.00", "0.01", "0", "-0", "-0.00", "-1.00", "0.001", "1e2",
	"1000000000000000.00", "1e15", "10000000000000000", "999999999999999.99", "1e1000", "1" + strings.Repeat("0", 40)}

// plausible are values that let a request get past the first checks, by
// field name.
var plausible = map[protoreflect.Name][]string{
	"program": {"p"}, "partner": {"bob", "ann"}, "partner_code": {"BOB", "bob"}, "code": {"ANN", "BOB"},
	"order": {"o1", "o2"}, "customer": {"c1", "c2"}, "visitor": {"v1"}, "product": {"bag", "cap"},
	"period": {"2026-01", "2026-02"}, "currency": {"USD"}, "document": {apiRules}, "kind": {"manual"},
	"account": {"partner:bob:accrued", "platform:payout_clearing", "platform:commission_expense"},
	"payout":  {"po1"}, "spend": {"sp1"}, "parent": {"bob", ""}, "tier": {"gold"},
}

// filler fills requests with adversarial values from a deterministic
// random source.
type filler struct {
	r   *rand.Rand
	key int
}

func (f *filler) message(m protoreflect.Message, depth int) {
	if m.Descriptor().FullName() == "google.protobuf.Timestamp" {
		f.timestamp(m)
		return
	}
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		timestamp := fd.Message() != nil && fd.Message().FullName() == "google.protobuf.Timestamp"
		if f.r.IntN(5) == 0 || timestamp && f.r.IntN(2) == 0 || depth > 4 && fd.Message() != nil {
			continue // leave some fields unset
		}
		switch {
		case fd.IsList():
			l := m.Mutable(fd).List()
			for range f.r.IntN(4) {
				if fd.Message() != nil {
					e := l.NewElement()
					f.message(e.Message(), depth+1)
					l.Append(e)
				} else {
					l.Append(f.scalar(fd))
				}
			}
		case fd.IsMap():
			mp := m.Mutable(fd).Map()
			for range f.r.IntN(3) {
				k := f.scalar(fd.MapKey()).MapKey()
				if fd.MapValue().Message() != nil {
					v := mp.NewValue()
					f.message(v.Message(), depth+1)
					mp.Set(k, v)
				} else {
					mp.Set(k, f.scalar(fd.MapValue()))
				}
			}
		case fd.Message() != nil:
			f.message(m.Mutable(fd).Message(), depth+1)
		case fd.Name() == "idempotency_key" && f.r.IntN(8) != 0:
			f.key++
			m.Set(fd, protoreflect.ValueOfString(fmt.Sprintf("fz%d-%d", f.key, f.r.IntN(1000))))
		default:
			m.Set(fd, f.scalar(fd))
		}
	}
}

func (f *filler) timestamp(m protoreflect.Message) {
	seconds := []int64{0, -1, 1767225600, 1767225600, 1769904000, 1769904000, 1772323200, 1800000000, 7258118400,
		253402300799, 253402300800, math.MaxInt64, math.MinInt64}
	nanos := []int64{0, 0, 0, 1, 999999999, 1000000000, -1}
	fields := m.Descriptor().Fields()
	m.Set(fields.ByName("seconds"), protoreflect.ValueOfInt64(seconds[f.r.IntN(len(seconds))]+f.r.Int64N(86400*40)))
	m.Set(fields.ByName("nanos"), protoreflect.ValueOfInt32(int32(nanos[f.r.IntN(len(nanos))])))
}

// string picks a plausible value for the field's name, an amount, or an
// adversarial string.
func (f *filler) string(name protoreflect.Name) string {
	pick := func(vs []string) string { return vs[f.r.IntN(len(vs))] }
	switch n := f.r.IntN(6); {
	case n == 0:
		return pick(adversarialStrings)
	case plausible[name] != nil:
		return pick(plausible[name])
	case strings.Contains(string(name), "amount") || name == "shipping" || name == "advance":
		if n < 4 {
			return pick(decimals[:4])
		}
		return pick(decimals)
	default:
		return pick(adversarialStrings)
	}
}

func (f *filler) scalar(fd protoreflect.FieldDescriptor) protoreflect.Value {
	ints := []int64{0, 1, -1, 2, 10, 100, 1000, math.MaxInt32, math.MinInt32, math.MaxInt64, math.MinInt64}
	n := ints[f.r.IntN(len(ints))]
	switch fd.Kind() {
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(f.string(fd.Name()))
	case protoreflect.BytesKind:
		b := make([]byte, f.r.IntN(64))
		for i := range b {
			b[i] = byte(f.r.Uint32())
		}
		return protoreflect.ValueOfBytes(b)
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(f.r.IntN(2) == 0)
	case protoreflect.EnumKind:
		if f.r.IntN(5) == 0 {
			return protoreflect.ValueOfEnum(protoreflect.EnumNumber([]int32{99, -1, math.MaxInt32}[f.r.IntN(3)]))
		}
		vs := fd.Enum().Values()
		return protoreflect.ValueOfEnum(vs.Get(f.r.IntN(vs.Len())).Number())
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return protoreflect.ValueOfInt32(int32(n))
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return protoreflect.ValueOfUint32(uint32(n))
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return protoreflect.ValueOfInt64(n)
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return protoreflect.ValueOfUint64(uint64(n))
	case protoreflect.FloatKind:
		return protoreflect.ValueOfFloat32(float32(n))
	case protoreflect.DoubleKind:
		return protoreflect.ValueOfFloat64(float64(n))
	}
	panic(fmt.Sprintf("fuzz: no value for %v", fd.Kind()))
}

// fuzzer sends requests to an edge and checks each answer.
type fuzzer struct {
	e     *edge
	rpcs  []rpc
	sent  int
	codes map[string]int // answers by code ("" for ok)
}

func newFuzzer(t testing.TB) *fuzzer {
	e := newEdge(t)
	// Something to find: a paid order and a closed-period candidate.
	body := `{"program":"p","idempotencyKey":"fz-o1","order":"o1","customer":"c1","partnerCode":"BOB","lines":[{"product":"bag","amount":"100.00"}]}`
	resp, err := e.hs.Client().Post(e.hs.URL+"/accrue.v1.OrderService/PayOrder", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return &fuzzer{e: e, rpcs: accrueRPCs(t), codes: map[string]int{}}
}

// send posts body to r over the Connect protocol and fails t on a 5xx, an
// internal or unknown code, or a recovered panic.
func (fz *fuzzer) send(t testing.TB, r rpc, contentType string, body []byte) {
	t.Helper()
	fz.sent++
	resp, err := fz.e.hs.Client().Post(fz.e.hs.URL+r.path, contentType, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("%s: %v", r.path, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var wire struct{ Code string }
	_ = json.Unmarshal(b, &wire)
	fz.codes[wire.Code]++
	if resp.StatusCode >= 500 || wire.Code == "internal" || wire.Code == "unknown" {
		t.Errorf("%s (%s) %.300q: HTTP %d %.300s", r.path, contentType, body, resp.StatusCode, b)
	}
	if n := fz.e.srv.Panics(); n > 0 {
		t.Fatalf("%s (%s) %.300q: %d panics recovered", r.path, contentType, body, n)
	}
}

// request sends a random request to r in JSON or binary, or random bytes.
func (fz *fuzzer) request(t testing.TB, r rpc, f *filler) {
	m := r.in.New()
	f.message(m, 0)
	switch f.r.IntN(5) {
	case 0, 1:
		if b, err := protojson.Marshal(m.Interface()); err == nil {
			fz.send(t, r, "application/json", b)
			return
		}
		// JSON cannot spell an invalid timestamp: send it in binary.
		fallthrough
	case 2, 3:
		b, err := proto.Marshal(m.Interface())
		if err != nil {
			t.Fatal(err)
		}
		fz.send(t, r, "application/proto", b)
	default:
		b := make([]byte, f.r.IntN(200))
		for i := range b {
			b[i] = byte(f.r.Uint32())
		}
		fz.send(t, r, []string{"application/proto", "application/json"}[f.r.IntN(2)], b)
	}
}

// TestFuzzEveryRPC sends deterministic random requests to every RPC over
// Connect JSON and binary: none may panic, answer internal or unknown, or
// a 5xx.
func TestFuzzEveryRPC(t *testing.T) {
	fz := newFuzzer(t)
	perRPC := 100
	if testing.Short() {
		perRPC = 10
	}
	f := &filler{r: rand.New(rand.NewPCG(7, 11))}
	for _, r := range fz.rpcs {
		for range perRPC {
			fz.request(t, r, f)
		}
	}
	t.Logf("%d requests to %d RPCs, %d panics; answers by code: %v", fz.sent, len(fz.rpcs), fz.e.srv.Panics(), fz.codes)
}

// FuzzRPC is the native fuzz target over the same requests: the input
// picks the RPC and seeds the filler, or is sent raw as the body.
func FuzzRPC(f *testing.F) {
	f.Add([]byte{0, 0, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Add([]byte{1, 1, 9, 9, 9, 9, 9, 9, 9, 9})
	f.Add([]byte(`{"program":"p","idempotencyKey":"k","order":"o1","customer":"c1","shipping":"1e15","lines":[{"product":"bag","amount":"1.00"}]}`))
	f.Add([]byte("\x0b\x00" + `{"program":"p","shipping":"1000000000000000.00","lines":[{"product":"bag","amount":"1.00"}]}`))
	fz := newFuzzer(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 10 {
			return
		}
		r := fz.rpcs[int(data[0])%len(fz.rpcs)]
		switch data[1] % 3 {
		case 0:
			fz.send(t, r, "application/json", data[2:])
		case 1:
			fz.send(t, r, "application/proto", data[2:])
		default:
			fill := &filler{r: rand.New(rand.NewPCG(binary.LittleEndian.Uint64(data[2:10]), 1))}
			fz.request(t, r, fill)
		}
	})
}

// TestHugeShippingIsRefused: shipping the rules cannot take is
// invalid_argument on SimulateOrder and an attributed PayOrder, where it
// panicked in rules' assertions.
func TestHugeShippingIsRefused(t *testing.T) {
	e := newEdge(t)
	for procedure, body := range map[string]string{
		"/accrue.v1.ProgramService/SimulateOrder": `{"program":"p","partner":"bob","shipping":"1000000000000000.00","lines":[{"product":"bag","amount":"1.00"}]}`,
		"/accrue.v1.OrderService/PayOrder":        `{"program":"p","idempotencyKey":"o9","order":"o9","customer":"c9","partnerCode":"BOB","shipping":"1000000000000000.00","lines":[{"product":"bag","amount":"1.00"}]}`,
	} {
		status, ce := e.post(t, procedure, "application/json", []byte(body))
		if status != http.StatusBadRequest || !strings.HasPrefix(ce.Message(), "shipping: ") {
			t.Errorf("%s: HTTP %d %v, want invalid_argument on shipping", procedure, status, ce)
		}
	}
	if n := e.srv.Panics(); n != 0 {
		t.Errorf("%d panics", n)
	}
}
