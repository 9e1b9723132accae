package main

import (
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/accrue/accrue/proto/accrue/v1/accruev1connect"
)

// TestCloseOutlivesTheWriteTimeout: a ClosePeriod response written after
// the server's write timeout still reaches the client; any other
// procedure's is cut off (slow clients stay bounded).
func TestCloseOutlivesTheWriteTimeout(t *testing.T) {
	const timeout = 100 * time.Millisecond
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(3 * timeout)
		_, _ = io.WriteString(w, "done")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := httpServerTimed(slow, timeout)
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Close() })
	base := "http://" + ln.Addr().String()
	for _, tc := range []struct {
		path string
		cut  bool
	}{
		{accruev1connect.PeriodServiceClosePeriodProcedure, false},
		{accruev1connect.PeriodServiceGetPeriodProcedure, true},
		{accruev1connect.OrderServicePayOrderProcedure, true},
	} {
		resp, err := http.Post(base+tc.path, "application/json", nil)
		var body []byte
		if err == nil {
			body, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		switch {
		case tc.cut && err == nil:
			t.Errorf("%s: got %q after the write timeout, want the response cut off", tc.path, body)
		case !tc.cut && (err != nil || string(body) != "done"):
			t.Errorf("%s: got %q, %v; want the whole response", tc.path, body, err)
		}
	}
}
