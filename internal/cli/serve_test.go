package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe to write and read at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServer runs `nimbus server` with args until the test ends and
// returns the URL it prints.
func startServer(t *testing.T, args ...string) string {
	t.Helper()
	out := &syncBuffer{}
	a := &app{in: bytes.NewReader(nil), out: out, errOut: &syncBuffer{}}
	root := a.rootCmd()
	root.SetArgs(append([]string{"server", "--addr", "127.0.0.1:0"}, args...))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	re := regexp.MustCompile(`running at (https://\S+)`)
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			return m[1]
		}
		select {
		case err := <-done:
			t.Fatalf("server stopped: %v", err)
		default:
		}
	}
	t.Fatalf("server printed no URL: %s", out.String())
	return ""
}

// TestServerServesHTTPS runs `nimbus server` with the self-signed
// certificate it generates, and checks it keeps that certificate across
// restarts.
func TestServerServesHTTPS(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	t.Setenv("NIMBUS_ADMIN_PASSWORD", "server-admin-1")
	peerCert := func(url string) []byte {
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
		res, err := hc.Get(url + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if res.StatusCode != http.StatusOK || res.TLS == nil {
			t.Fatalf("healthz over TLS: %d", res.StatusCode)
		}
		return res.TLS.PeerCertificates[0].Raw
	}
	first := peerCert(startServer(t, "--data-dir", dir))
	if _, err := os.Stat(filepath.Join(dir, "tls", "server.key")); err != nil {
		t.Fatalf("no key kept in the data directory: %v", err)
	}
	second := peerCert(startServer(t, "--data-dir", dir))
	if !bytes.Equal(first, second) {
		t.Error("the self-signed certificate changed across restarts")
	}
	// Plain HTTP is refused on the HTTPS port.
	url := startServer(t, "--data-dir", dir)
	if res, err := http.Get("http" + url[len("https"):] + "/healthz"); err == nil {
		res.Body.Close()
		if res.StatusCode == http.StatusOK {
			t.Error("plain HTTP served by `nimbus server`")
		}
	}
}

func TestDevListensOnLoopbackOnly(t *testing.T) {
	isolate(t)
	for _, addr := range []string{"0.0.0.0:7070", ":7070", "192.0.2.1:7070"} {
		_, _, err := runCLI(t, "", "dev", "--addr", addr, "--data-dir", t.TempDir())
		if err == nil || !strings.Contains(err.Error(), "loopback") {
			t.Errorf("dev --addr %s: %v, want a refusal naming loopback", addr, err)
		}
	}
	for addr, want := range map[string]bool{"127.0.0.1:7070": true, "[::1]:0": true, "localhost:7070": true, "127.0.0.2:1": true, "example.com:80": false} {
		if got := loopback(addr); got != want {
			t.Errorf("loopback(%q) = %v", addr, got)
		}
	}
}
