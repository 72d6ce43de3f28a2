package tlscert

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestLoadOrCreate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	cert, err := LoadOrCreate(dir, []string{"nimbus.example.com", "10.1.2.3", "", "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	leaf := cert.Leaf
	if leaf == nil {
		t.Fatal("certificate has no parsed leaf")
	}
	if pub, ok := leaf.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
		t.Fatalf("public key %T is not ECDSA P-256", leaf.PublicKey)
	}
	if got := leaf.NotAfter.Sub(leaf.NotBefore); got < Validity || got > Validity+2*time.Hour {
		t.Fatalf("validity %v, want about %v", got, Validity)
	}
	if want := []string{"localhost", "nimbus.example.com"}; !slices.Equal(leaf.DNSNames, want) {
		t.Fatalf("DNSNames = %v, want %v", leaf.DNSNames, want)
	}
	for _, h := range []string{"localhost", "nimbus.example.com", "127.0.0.1", "::1", "10.1.2.3"} {
		if err := leaf.VerifyHostname(h); err != nil {
			t.Errorf("certificate does not cover %s: %v", h, err)
		}
	}

	for name, want := range map[string]os.FileMode{CertFile: 0o644, KeyFile: 0o600} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s mode %v, want %v", name, fi.Mode().Perm(), want)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(left) > 0 {
		t.Errorf("temporary files left behind: %v", left)
	}

	again, err := LoadOrCreate(dir, []string{"other.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Certificate[0], cert.Certificate[0]) {
		t.Fatal("second LoadOrCreate generated a new certificate instead of loading")
	}
}

func TestLoadOrCreateHalfPair(t *testing.T) {
	for _, present := range []string{CertFile, KeyFile} {
		t.Run(present, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, present)
			if err := os.WriteFile(path, []byte("operator's file"), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := LoadOrCreate(dir, nil); err == nil {
				t.Fatal("LoadOrCreate with half a key pair succeeded")
			}
			if b, _ := os.ReadFile(path); string(b) != "operator's file" {
				t.Fatal("existing file was overwritten")
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadOrCreate(dir, nil); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		cert     string
		key      string
		wantLoad bool
	}{
		{"pair", CertFile, KeyFile, true},
		{"missing cert", "nope.crt", KeyFile, false},
		{"missing key", CertFile, "nope.key", false},
		{"swapped", KeyFile, CertFile, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(filepath.Join(dir, tt.cert), filepath.Join(dir, tt.key))
			if (err == nil) != tt.wantLoad {
				t.Fatalf("Load err = %v, want success %v", err, tt.wantLoad)
			}
		})
	}
}

func TestHandshake(t *testing.T) {
	cert, err := LoadOrCreate(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())

	trusting := x509.NewCertPool()
	trusting.AddCert(cert.Leaf)
	tests := []struct {
		name   string
		roots  *x509.CertPool
		url    string
		wantOK bool
	}{
		{"trusted by IP", trusting, srv.URL, true},
		{"trusted by name", trusting, "https://localhost:" + port, true},
		{"untrusted", x509.NewCertPool(), srv.URL, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: tt.roots}}}
			defer client.CloseIdleConnections()
			resp, err := client.Get(tt.url)
			if !tt.wantOK {
				if err == nil {
					resp.Body.Close()
					t.Fatal("handshake with an untrusting client succeeded")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if string(body) != "ok" {
				t.Fatalf("body %q", body)
			}
		})
	}
}

func TestSubjectAltNames(t *testing.T) {
	tests := []struct {
		name    string
		hosts   []string
		wantDNS []string
		wantIPs []string
	}{
		{"defaults", nil, []string{"localhost"}, []string{"127.0.0.1", "::1"}},
		{"mixed", []string{"a.example", "192.0.2.1", "2001:db8::1"}, []string{"localhost", "a.example"}, []string{"127.0.0.1", "::1", "192.0.2.1", "2001:db8::1"}},
		{"duplicates and empties", []string{"", "localhost", "127.0.0.1", "::ffff:127.0.0.1", "a", "a"}, []string{"localhost", "a"}, []string{"127.0.0.1", "::1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dns, ips := subjectAltNames(tt.hosts)
			var gotIPs []string
			for _, ip := range ips {
				gotIPs = append(gotIPs, ip.String())
			}
			if !slices.Equal(dns, tt.wantDNS) || !slices.Equal(gotIPs, tt.wantIPs) {
				t.Fatalf("subjectAltNames = %v, %v; want %v, %v", dns, gotIPs, tt.wantDNS, tt.wantIPs)
			}
		})
	}
}
