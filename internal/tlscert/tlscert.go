package tlscert

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// File names inside the directory given to LoadOrCreate.
const (
	CertFile = "server.crt"
	KeyFile  = "server.key"
)

// Load reads a PEM certificate chain and its private key.
func Load(certFile, keyFile string) (tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("load tls certificate %s: %w", certFile, err)
	}
	return cert, nil
}

// LoadOrCreate loads dir/server.crt and dir/server.key. When neither exists
// it creates dir if needed, generates a self-signed certificate for hosts
// (IP addresses and DNS names, plus localhost, 127.0.0.1 and ::1) valid for
// two years, writes both files atomically (the key with mode 0600) and
// returns it. Exactly one of the two files existing is an error, so an
// operator's certificate is never overwritten.
func LoadOrCreate(dir string, hosts []string) (tls.Certificate, error) {
	certPath, keyPath := filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile)
	certOK, err := exists(certPath)
	if err != nil {
		return tls.Certificate{}, err
	}
	keyOK, err := exists(keyPath)
	if err != nil {
		return tls.Certificate{}, err
	}
	switch {
	case certOK && keyOK:
		return Load(certPath, keyPath)
	case certOK:
		return tls.Certificate{}, fmt.Errorf("tls certificate %s has no key %s", certPath, keyPath)
	case keyOK:
		return tls.Certificate{}, fmt.Errorf("tls key %s has no certificate %s", keyPath, certPath)
	}

	certPEM, keyPEM, err := generate(hosts)
	if err != nil {
		return tls.Certificate{}, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return tls.Certificate{}, fmt.Errorf("create tls directory: %w", err)
	}
	if err := writeFileAtomic(keyPath, keyPEM, 0o600); err != nil {
		return tls.Certificate{}, err
	}
	if err := writeFileAtomic(certPath, certPEM, 0o644); err != nil {
		return tls.Certificate{}, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("parse generated tls certificate: %w", err)
	}
	return cert, nil
}

// exists reports whether path exists; errors other than "not found" are
// returned.
func exists(path string) (bool, error) {
	_, err := os.Stat(path)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	default:
		return false, fmt.Errorf("stat %s: %w", path, err)
	}
}
