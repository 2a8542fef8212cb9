package tlscert

import (
	"bytes"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
)

func TestSelfSignedIsKeptAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	cfg, self, err := Config("", "", dir, []string{"live.example", "192.0.2.7"})
	if err != nil || !self {
		t.Fatalf("Config = %v, %v", self, err)
	}
	first, _ := os.ReadFile(filepath.Join(dir, CertName))
	leaf, err := x509.ParseCertificate(cfg.Certificates[0].Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := leaf.VerifyHostname("live.example"); err != nil {
		t.Errorf("certificate does not name the public host: %v", err)
	}
	if err := leaf.VerifyHostname("192.0.2.7"); err != nil {
		t.Errorf("certificate does not name the IP: %v", err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, KeyName)); fi == nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode = %v, want 0600", fi)
	}
	// A restart loads the same certificate rather than making another.
	if _, _, err := Config("", "", dir, nil); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(filepath.Join(dir, CertName)); !bytes.Equal(first, again) {
		t.Error("the certificate changed across restarts")
	}
}

func TestOperatorFiles(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := Config("", "", dir, nil); err != nil {
		t.Fatal(err)
	}
	cfg, self, err := Config(filepath.Join(dir, CertName), filepath.Join(dir, KeyName), t.TempDir(), nil)
	if err != nil || self || len(cfg.Certificates) != 1 {
		t.Fatalf("Config with files = %v, %v", self, err)
	}
	if _, _, err := Config(filepath.Join(dir, "missing.pem"), filepath.Join(dir, KeyName), dir, nil); err == nil {
		t.Error("a missing certificate file was accepted")
	}
}
