// Package storage keeps recorded media by key: a folder under the data dir (one node) or an
// S3-compatible bucket (a cluster, where any node serves any recording). Both sit behind the
// one small interface Store, so the recorder and the VOD handler do not know which.
package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Errors a Store returns.
var (
	ErrNotFound = errors.New("storage: no such object")
	ErrBadKey   = errors.New("storage: bad key")
	ErrTooLarge = errors.New("storage: object too large")
)

// MaxObjectSize bounds one object: a recorded segment is a few megabytes (2 s at 8.5 Mbps is
// about 2 MB); a larger Put is refused rather than held.
const MaxObjectSize = 64 << 20

// MaxKeyLength bounds a key, well below S3's 1,024 bytes.
const MaxKeyLength = 512

// Object is one stored object as List reports it.
type Object struct {
	Key  string
	Size int64
}

// Store keeps objects by key. Keys are relative slash-separated paths of letters, digits and
// ._- (CheckKey). Implementations stream: Put reads and Get returns a reader, neither holds a
// whole object in memory.
type Store interface {
	// Put stores size bytes read from r under key, replacing any object there. An object is
	// either wholly there or not at all: a crash mid-Put leaves the old one or none.
	Put(ctx context.Context, key string, r io.Reader, size int64) error
	// Get opens an object; the caller closes it. ErrNotFound when there is none.
	Get(ctx context.Context, key string) (io.ReadCloser, int64, error)
	// Delete removes an object; deleting a missing one is no error.
	Delete(ctx context.Context, key string) error
	// List returns up to limit objects whose keys begin with prefix and sort after after,
	// in key order: page with after = the last key of the previous page.
	List(ctx context.Context, prefix, after string, limit int) ([]Object, error)
}

// CheckKey returns ErrBadKey unless key is a relative path of non-empty segments made of
// letters, digits and ._-, none of them starting with a dot, at most MaxKeyLength bytes. Keys come
// from our own ids, but a check here keeps a folder store from ever leaving its root.
func CheckKey(key string) error {
	if key == "" || len(key) > MaxKeyLength {
		return fmt.Errorf("%w: %q", ErrBadKey, key)
	}
	for seg := range strings.SplitSeq(key, "/") {
		if seg == "" || seg[0] == '.' { // "." and "..", and the folder store's temporary files
			return fmt.Errorf("%w: %q", ErrBadKey, key)
		}
		for _, c := range seg {
			ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
			if !ok {
				return fmt.Errorf("%w: %q", ErrBadKey, key)
			}
		}
	}
	return nil
}

// checkPrefix allows what CheckKey allows, plus "" and a trailing slash.
func checkPrefix(prefix string) error {
	p := strings.TrimSuffix(prefix, "/")
	if p == "" {
		if prefix == "" {
			return nil
		}
		return fmt.Errorf("%w: %q", ErrBadKey, prefix)
	}
	return CheckKey(p)
}

// DeletePrefix removes every object whose key begins with prefix (a recording's folder, say)
// and returns how many it removed.
func DeletePrefix(ctx context.Context, s Store, prefix string) (int, error) {
	if prefix == "" || !strings.HasSuffix(prefix, "/") {
		return 0, fmt.Errorf("%w: a prefix to delete must end with /: %q", ErrBadKey, prefix)
	}
	n := 0
	for {
		objs, err := s.List(ctx, prefix, "", 1000)
		if err != nil {
			return n, err
		}
		if len(objs) == 0 {
			return n, nil
		}
		for _, o := range objs {
			if err := s.Delete(ctx, o.Key); err != nil {
				return n, err
			}
			n++
		}
	}
}
