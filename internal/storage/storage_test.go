package storage_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/livehouse/livehouse/internal/storage"
	"github.com/livehouse/livehouse/internal/storage/s3test"
)

func TestFolder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := storage.NewFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	suite(t, s)
	// Nothing is left behind: no temporary files, no empty folders.
	var left []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if p != dir {
			left = append(left, p)
		}
		return nil
	})
	if len(left) > 0 {
		t.Errorf("left in the folder: %v", left)
	}
}

// manyPieces is 2500 pieces of 0 to 6 bytes each and three of 150 KiB, 70 KiB and just over
// 1 MiB among them (longer than a folder writes at once, buffered or direct; the whole not a
// multiple of a disk block), and what they make together.
func manyPieces() (pieces [][]byte, whole []byte) {
	for i := range 2500 {
		p := bytes.Repeat([]byte{byte(i)}, i%7)
		switch i {
		case 700:
			p = bytes.Repeat([]byte("abcdefg"), 150<<10/7)
		case 701:
			p = bytes.Repeat([]byte("hijklmnop"), 70<<10/9)
		case 1800:
			p = bytes.Repeat([]byte("qrstu"), (1<<20+12345)/5)
		}
		pieces = append(pieces, p)
		whole = append(whole, p...)
	}
	return pieces, whole
}

// A folder's Put of pieces stops at the size given, stores nothing then, and leaves the
// caller's pieces as they were.
func TestFolderPiecesOverSize(t *testing.T) {
	t.Parallel()
	s, err := storage.NewFolder(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pieces, whole := manyPieces()
	held := slices.Clone(pieces)
	bufs := net.Buffers(held)
	if err := s.Put(ctx, "rec/st-p/over.m4s", &bufs, int64(len(whole)-1)); err == nil {
		t.Error("Put of more bytes than the size given: no error")
	}
	if _, _, err := s.Get(ctx, "rec/st-p/over.m4s"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Get after a refused Put: %v, want ErrNotFound", err)
	}
	bufs = net.Buffers(held)
	if err := s.Put(ctx, "rec/st-p/exact.m4s", &bufs, int64(len(whole))); err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(held, pieces, bytes.Equal) {
		t.Error("Put changed the caller's pieces")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	bufs = net.Buffers(held)
	if err := s.Put(cctx, "rec/st-p/cancelled.m4s", &bufs, int64(len(whole))); err == nil {
		t.Error("Put under an ended context: no error")
	}
	if _, _, err := s.Get(ctx, "rec/st-p/cancelled.m4s"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Get after a cancelled Put: %v, want ErrNotFound", err)
	}
}

func TestS3(t *testing.T) {
	t.Parallel()
	endpoint := s3test.Start(t)
	s, err := storage.NewS3(storage.S3Config{Endpoint: endpoint, Bucket: s3test.Bucket, Region: "us-east-1", AccessKey: "test", SecretKey: "testsecret", PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	suite(t, s)
	missing, _ := storage.NewS3(storage.S3Config{Endpoint: endpoint, Bucket: "nope", Region: "us-east-1", AccessKey: "a", SecretKey: "b", PathStyle: true})
	if err := missing.Check(context.Background()); err == nil {
		t.Error("Check of a missing bucket: no error")
	}
}

func TestNewS3Config(t *testing.T) {
	for _, c := range []storage.S3Config{
		{Endpoint: "", Bucket: "b"},
		{Endpoint: "ftp://x", Bucket: "b"},
		{Endpoint: "http://host/path", Bucket: "b"},
		{Endpoint: "http://host:9000", Bucket: ""},
	} {
		if _, err := storage.NewS3(c); err == nil {
			t.Errorf("NewS3(%+v): no error", c)
		}
	}
}

// suite is what every Store must do.
func suite(t *testing.T, s storage.Store) {
	ctx := context.Background()
	put := func(key, body string) {
		t.Helper()
		if err := s.Put(ctx, key, strings.NewReader(body), int64(len(body))); err != nil {
			t.Fatalf("Put(%s): %v", key, err)
		}
	}
	get := func(key string) (string, error) {
		t.Helper()
		rc, n, err := s.Get(ctx, key)
		if err != nil {
			return "", err
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if err != nil {
			return "", err
		}
		if int64(len(b)) != n {
			t.Errorf("Get(%s): size %d, read %d", key, n, len(b))
		}
		return string(b), nil
	}

	put("rec/st-a/init0.mp4", "init")
	put("rec/st-a/seg00001.m4s", "one")
	put("rec/st-a/seg00002.m4s", "two")
	put("rec/st-ab/seg00001.m4s", "other recording")
	put("rec/st-a/seg00001.m4s", "one, again") // replaces
	if got, err := get("rec/st-a/seg00001.m4s"); err != nil || got != "one, again" {
		t.Errorf("Get after replace = %q, %v", got, err)
	}
	big := bytes.Repeat([]byte("x"), 3<<20)
	if err := s.Put(ctx, "rec/st-a/big.m4s", bytes.NewReader(big), int64(len(big))); err != nil {
		t.Fatal(err)
	}
	if got, err := get("rec/st-a/big.m4s"); err != nil || got != string(big) {
		t.Errorf("Get(big) = %d bytes, %v", len(got), err)
	}

	// Pieces, as a recording's objects come (net.Buffers): more of them than one writev takes,
	// empty ones among them.
	pieces, whole := manyPieces()
	bufs := net.Buffers(slices.Clone(pieces))
	if err := s.Put(ctx, "rec/st-p/pieces.m4s", &bufs, int64(len(whole))); err != nil {
		t.Fatal(err)
	}
	if got, err := get("rec/st-p/pieces.m4s"); err != nil || got != string(whole) {
		t.Errorf("Get(pieces) = %d bytes, %v; want the %d put", len(got), err, len(whole))
	}
	if err := s.Delete(ctx, "rec/st-p/pieces.m4s"); err != nil {
		t.Fatal(err)
	}

	if _, err := get("rec/st-a/nothing"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Get(missing) err = %v, want ErrNotFound", err)
	}
	for _, bad := range []string{"", "/abs", "a//b", "../x", "a/../b", "a/./b", "a/.hidden", "a b", "a\\b", "é", strings.Repeat("a", storage.MaxKeyLength+1)} {
		if err := s.Put(ctx, bad, strings.NewReader("x"), 1); !errors.Is(err, storage.ErrBadKey) {
			t.Errorf("Put(%q) err = %v, want ErrBadKey", bad, err)
		}
		if _, _, err := s.Get(ctx, bad); !errors.Is(err, storage.ErrBadKey) {
			t.Errorf("Get(%q) err = %v, want ErrBadKey", bad, err)
		}
	}
	// A reader shorter or longer than the size given stores nothing.
	if err := s.Put(ctx, "rec/st-a/short", strings.NewReader("ab"), 3); err == nil {
		t.Error("Put of a short reader: no error")
	}
	if err := s.Put(ctx, "rec/st-a/toolarge", strings.NewReader("x"), storage.MaxObjectSize+1); !errors.Is(err, storage.ErrTooLarge) {
		t.Errorf("Put over MaxObjectSize err = %v", err)
	}

	list := func(prefix, after string, limit int) []string {
		t.Helper()
		objs, err := s.List(ctx, prefix, after, limit)
		if err != nil {
			t.Fatalf("List(%q): %v", prefix, err)
		}
		var keys []string
		for _, o := range objs {
			keys = append(keys, o.Key)
		}
		return keys
	}
	want := []string{"rec/st-a/big.m4s", "rec/st-a/init0.mp4", "rec/st-a/seg00001.m4s", "rec/st-a/seg00002.m4s"}
	if diff := cmp.Diff(want, list("rec/st-a/", "", 100)); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want[:2], list("rec/st-a/", "", 2)); diff != "" {
		t.Errorf("List page 1 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want[2:], list("rec/st-a/", want[1], 2)); diff != "" {
		t.Errorf("List page 2 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"rec/st-a/big.m4s", "rec/st-a/init0.mp4", "rec/st-a/seg00001.m4s", "rec/st-a/seg00002.m4s", "rec/st-ab/seg00001.m4s"}, list("rec/st-a", "", 100)); diff != "" {
		t.Errorf("List of a partial name (-want +got):\n%s", diff)
	}
	if got := list("nothing/", "", 10); len(got) != 0 {
		t.Errorf("List(nothing/) = %v", got)
	}

	n, err := storage.DeletePrefix(ctx, s, "rec/st-a/")
	if err != nil || n != 4 {
		t.Errorf("DeletePrefix = %d, %v; want 4", n, err)
	}
	if got := list("rec/st-a/", "", 10); len(got) != 0 {
		t.Errorf("after DeletePrefix: %v", got)
	}
	if got, err := get("rec/st-ab/seg00001.m4s"); err != nil || got != "other recording" {
		t.Errorf("the other recording after DeletePrefix = %q, %v", got, err)
	}
	if err := s.Delete(ctx, "rec/st-a/init0.mp4"); err != nil {
		t.Errorf("Delete(missing) = %v", err)
	}
	if err := s.Delete(ctx, "rec/st-ab/seg00001.m4s"); err != nil {
		t.Fatal(err)
	}
	if got := list("", "", 10); len(got) != 0 {
		t.Errorf("left: %v", got)
	}
}
