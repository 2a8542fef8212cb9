// Package tlscert gives the TLS listeners (RTMPS) their certificate: the operator's PEM files,
// or, in development, a self-signed one generated into the data dir once and kept there, so
// that an encoder told to trust it keeps trusting it across restarts.
package tlscert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Generated files in the data dir.
const (
	CertName = "rtmps-cert.pem"
	KeyName  = "rtmps-key.pem"
)

// Config returns a server TLS configuration from certFile and keyFile, or, when both are
// empty, from a self-signed certificate in dataDir for hosts (names or IPs), generated on
// first use. selfSigned reports the latter.
func Config(certFile, keyFile, dataDir string, hosts []string) (cfg *tls.Config, selfSigned bool, err error) {
	if certFile == "" && keyFile == "" {
		certFile, keyFile = filepath.Join(dataDir, CertName), filepath.Join(dataDir, KeyName)
		selfSigned = true
		if _, err := os.Stat(certFile); errors.Is(err, fs.ErrNotExist) {
			if err := generate(certFile, keyFile, hosts, time.Now()); err != nil {
				return nil, true, fmt.Errorf("generating a self-signed certificate: %w", err)
			}
		}
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, selfSigned, fmt.Errorf("loading the TLS certificate: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, selfSigned, nil
}

// generate writes a self-signed ECDSA P-256 certificate valid for ten years, and its key
// (readable by the owner only).
func generate(certFile, keyFile string, hosts []string, now time.Time) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "Livehouse development certificate", Organization: []string{"Livehouse"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(10, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range append([]string{"localhost", "127.0.0.1", "::1"}, hosts...) {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(certFile), 0o700); err != nil {
		return err
	}
	// The key first: a certificate without its key would be loaded and fail every start.
	if err := writeFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return err
	}
	return writeFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

// writeFile writes through a temporary file and a rename, so a crash leaves no half file.
func writeFile(name string, data []byte, perm os.FileMode) error {
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, data, perm); err != nil {
		return err
	}
	return os.Rename(tmp, name)
}
