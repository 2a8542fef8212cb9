package storage

import (
	"context"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
)

// A filesystem that refuses direct I/O (EINVAL at open, after making the file, as Linux does)
// still stores objects given as pieces, buffered, from then on.
func TestDirectRefusedFallsBack(t *testing.T) {
	refused := 0
	defer func(o func(string, int, os.FileMode) (*os.File, error)) { openFile = o }(openFile)
	openFile = func(name string, flag int, perm os.FileMode) (*os.File, error) {
		if flag&directFlag != 0 {
			f, err := os.OpenFile(name, flag&^directFlag, perm)
			if err != nil {
				return nil, err // a missing folder is found first
			}
			f.Close()
			refused++
			return nil, &os.PathError{Op: "open", Path: name, Err: syscall.EINVAL}
		}
		return os.OpenFile(name, flag, perm)
	}
	f, err := NewFolder(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, key := range []string{"rec/st-a/one.m4s", "rec/st-a/two.m4s"} {
		pieces := net.Buffers{[]byte("abc"), []byte("defg")}
		if err := f.Put(ctx, key, &pieces, 7); err != nil {
			t.Fatalf("Put(%s): %v", key, err)
		}
		rc, _, err := f.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if string(got) != "abcdefg" {
			t.Errorf("Get(%s) = %q", key, got)
		}
	}
	if refused != 1 || !f.noDirect.Load() {
		t.Errorf("direct I/O asked %d times (want once, then not again); noDirect %v", refused, f.noDirect.Load())
	}
}
