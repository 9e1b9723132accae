package webhook

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// The guard refuses loopback, private, link-local and other internal
// addresses, IPv4 and IPv6 (mapped too), and lets public ones through.
func TestForbidden(t *testing.T) {
	for _, tc := range []struct {
		ip   string
		want bool
	}{
		{"127.0.0.1", true}, {"127.8.9.10", true}, {"10.1.2.3", true}, {"172.16.0.1", true}, {"192.168.1.1", true},
		{"169.254.169.254", true}, {"100.64.0.1", true}, {"0.0.0.0", true}, {"::1", true}, {"fe80::1", true},
		{"fd00::1", true}, {"::ffff:127.0.0.1", true}, {"::ffff:10.0.0.1", true}, {"224.0.0.1", true},
		{"8.8.8.8", false}, {"1.1.1.1", false}, {"2606:4700::1111", false}, {"172.32.0.1", false},
	} {
		if got := Forbidden(netip.MustParseAddr(tc.ip)); got != tc.want {
			t.Errorf("Forbidden(%s) = %v, want %v", tc.ip, got, tc.want)
		}
	}
}

// The client checks the address it dials: a loopback receiver is refused
// unless private addresses are allowed, whatever name the URL uses.
func TestClientRefusesPrivateAtDial(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer ts.Close()
	port := ts.URL[strings.LastIndexByte(ts.URL, ':'):]
	for _, url := range []string{ts.URL, "http://localhost" + port} {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, url, nil)
		_, err := NewClient(false, time.Minute).Do(req)
		if !errors.Is(err, ErrForbiddenAddress) {
			t.Errorf("guarded POST %s: %v, want ErrForbiddenAddress", url, err)
		}
		req, _ = http.NewRequestWithContext(context.Background(), http.MethodPost, url, nil)
		resp, err := NewClient(true, time.Minute).Do(req)
		if err != nil {
			t.Errorf("POST %s with private addresses allowed: %v", url, err)
			continue
		}
		resp.Body.Close()
	}
}

// Sign follows the Standard Webhooks example: secret, id, timestamp and
// body give the published signature.
func TestSignStandardWebhooksExample(t *testing.T) {
	// From the specification's reference tests (standard-webhooks).
	secret := mustBase64(t, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	at := time.Unix(1614265330, 0)
	body := []byte(`{"test": 2432232314}`)
	got := Sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", at, body)
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

// Backoff doubles from 5 s up to an hour, scaled by the jitter factor.
func TestBackoff(t *testing.T) {
	for _, tc := range []struct {
		n      int
		factor float64
		want   time.Duration
	}{{1, 1, 5 * time.Second}, {2, 1, 10 * time.Second}, {4, 0.75, 30 * time.Second}, {11, 1, time.Hour}, {50, 1.2, 72 * time.Minute}} {
		if got := Backoff(tc.n, tc.factor); got != tc.want {
			t.Errorf("Backoff(%d, %v) = %v, want %v", tc.n, tc.factor, got, tc.want)
		}
	}
}
