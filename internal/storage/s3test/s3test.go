// Package s3test starts an S3-compatible test server (the fakes3 command beside it) as a
// process of its own on a free loopback port.
package s3test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// Bucket is the bucket the server is started with.
const Bucket = "livehouse"

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
	buildOut  []byte
)

// Start builds the fakes3 command (once per test binary) and runs it for the test; it returns
// the server's endpoint URL. The process ends with the test (its stdin closes).
func Start(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		_, self, _, _ := runtime.Caller(0)
		dir, err := os.MkdirTemp("", "fakes3-")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "fakes3")
		cmd := exec.Command("go", "build", "-o", binary, "./fakes3")
		cmd.Dir = filepath.Dir(self)
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("building fakes3: %v\n%s", buildErr, buildOut)
	}
	cmd := exec.Command(binary, "-bucket", Bucket)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("fakes3 did not start: %v", err)
	}
	return "http://" + strings.TrimSpace(line)
}
