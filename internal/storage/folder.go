package storage

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
)

// Folder keeps objects as files under a directory: a key is a path below it. A Put writes a
// temporary file beside the object and renames it into place once complete and synced, so a
// crash leaves either the old object or the new one, never a part of it.
type Folder struct {
	root     string
	noDirect atomic.Bool // the filesystem refused direct I/O once
}

// NewFolder returns a store rooted at dir, creating it.
func NewFolder(dir string) (*Folder, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	return &Folder{root: dir}, nil
}

func (f *Folder) path(key string) string { return filepath.Join(f.root, filepath.FromSlash(key)) }

// Put implements Store.
func (f *Folder) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	if size < 0 || size > MaxObjectSize {
		return fmt.Errorf("%w: %d bytes", ErrTooLarge, size)
	}
	dst := f.path(key)
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	tmp := filepath.Join(filepath.Dir(dst), ".put-"+hex.EncodeToString(rnd[:]))
	_, pieces := r.(*net.Buffers)
	wantDirect := pieces && directFlag != 0 && !f.noDirect.Load()
	file, direct, err := f.create(tmp, wantDirect)
	if errors.Is(err, fs.ErrNotExist) { // the object's folder is new (a recording's first file)
		if err = os.MkdirAll(filepath.Dir(dst), 0o700); err == nil {
			file, direct, err = f.create(tmp, wantDirect)
		}
	}
	if err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	n, err := writeFile(ctx, file, r, size, direct)
	if err == nil && n != size {
		err = fmt.Errorf("storage: %s: got %d bytes, want %d", key, n, size)
	}
	if err == nil {
		err = file.Sync()
	}
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("storage: put %s: %w", key, err)
	}
	return nil
}

// create makes the temporary file of a Put, for direct I/O if asked (an object given as pieces:
// a recorded segment's parts) and the filesystem allows it; direct says whether it is.
func (f *Folder) create(tmp string, direct bool) (file *os.File, _ bool, err error) {
	const flags = os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if direct {
		file, err = openFile(tmp, flags|directFlag, 0o600)
		if !errors.Is(err, syscall.EINVAL) {
			return file, err == nil, err
		}
		// Not on this filesystem: Linux may have made the file before refusing (the name is
		// ours alone, so it is opened again without O_EXCL).
		f.noDirect.Store(true)
		file, err = os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		return file, false, err
	}
	file, err = os.OpenFile(tmp, flags, 0o600)
	return file, false, err
}

// openFile is os.OpenFile; a test makes it refuse direct I/O.
var openFile = os.OpenFile

// writeFile writes an object's bytes from r into its file: at most size bytes, and none once
// ctx has ended. Pieces (a recorded segment's parts, net.Buffers) go in with as few system
// calls as the platform allows (writeBuffers), or through an aligned buffer to a file opened
// for direct I/O (writeDirect); another reader through io.Copy.
func writeFile(ctx context.Context, file *os.File, r io.Reader, size int64, direct bool) (int64, error) {
	if bufs, ok := r.(*net.Buffers); ok {
		total := int64(0)
		for _, b := range *bufs {
			total += int64(len(b))
		}
		if total > size {
			return 0, errTooMany
		}
		write := writeBuffers
		if direct {
			write = writeDirect
		}
		n, err := write(ctx, file, *bufs)
		*bufs = nil // consumed, as reading them would have
		return n, err
	}
	return io.Copy(&fileWriter{ctx: ctx, file: file, left: size}, r)
}

var errTooMany = errors.New("the reader holds more bytes than the size given")

// fileWriter writes an object's bytes into its file: at most left bytes, and none once ctx
// has ended.
type fileWriter struct {
	ctx  context.Context
	file *os.File
	left int64
}

func (w *fileWriter) Write(p []byte) (int, error) {
	if err := w.ctx.Err(); err != nil {
		return 0, err
	}
	if int64(len(p)) > w.left {
		return 0, errTooMany
	}
	n, err := w.file.Write(p)
	w.left -= int64(n)
	return n, err
}

// Get implements Store.
func (f *Folder) Get(_ context.Context, key string) (io.ReadCloser, int64, error) {
	if err := CheckKey(key); err != nil {
		return nil, 0, err
	}
	file, err := os.Open(f.path(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, ErrNotFound
	}
	if err != nil {
		return nil, 0, fmt.Errorf("storage: %w", err)
	}
	st, err := file.Stat()
	if err != nil || !st.Mode().IsRegular() {
		file.Close()
		return nil, 0, ErrNotFound
	}
	return file, st.Size(), nil
}

// Delete implements Store. Folders left empty are removed up to the root.
func (f *Folder) Delete(_ context.Context, key string) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	if err := os.Remove(f.path(key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("storage: %w", err)
	}
	for dir := path.Dir(key); dir != "." && dir != "/"; dir = path.Dir(dir) {
		if os.Remove(f.path(dir)) != nil { // not empty, or gone
			break
		}
	}
	return nil
}

// List implements Store.
func (f *Folder) List(_ context.Context, prefix, after string, limit int) ([]Object, error) {
	if err := checkPrefix(prefix); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, nil
	}
	// Walk only the deepest folder the prefix names in full.
	base := ""
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		base = prefix[:i]
	}
	start := f.root
	if base != "" {
		start = f.path(base)
	}
	var out []Object
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if strings.HasPrefix(d.Name(), ".") && p != start {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(f.root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if !strings.HasPrefix(key, prefix) || key <= after {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil // removed meanwhile
		}
		out = append(out, Object{Key: key, Size: info.Size()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	slices.SortFunc(out, func(a, b Object) int { return strings.Compare(a.Key, b.Key) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}
