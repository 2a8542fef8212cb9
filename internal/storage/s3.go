package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Config names an S3-compatible bucket.
type S3Config struct {
	Endpoint  string // URL: https://s3.eu-west-1.amazonaws.com, http://127.0.0.1:9000
	Bucket    string
	Region    string // empty: the client asks the server
	AccessKey string
	SecretKey string
	PathStyle bool // bucket in the path (MinIO, most self-hosted servers) rather than the host name
}

// S3 keeps objects in an S3-compatible bucket through minio-go, which signs (SigV4) and
// streams. S3 PUTs are atomic: an object is there whole or not at all.
type S3 struct {
	c      *minio.Client
	bucket string
}

// NewS3 returns a store on the bucket; it does not contact the server.
func NewS3(cfg S3Config) (*S3, error) {
	u, err := url.Parse(cfg.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("storage: endpoint must be http(s)://host[:port], got %q", cfg.Endpoint)
	}
	if cfg.Bucket == "" {
		return nil, errors.New("storage: no bucket")
	}
	lookup := minio.BucketLookupAuto
	if cfg.PathStyle {
		lookup = minio.BucketLookupPath
	}
	c, err := minio.New(u.Host, &minio.Options{
		Creds:        credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:       u.Scheme == "https",
		Region:       cfg.Region,
		BucketLookup: lookup,
	})
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	return &S3{c: c, bucket: cfg.Bucket}, nil
}

// Check asks the server whether the bucket is there, for start-up.
func (s *S3) Check(ctx context.Context) error {
	ok, err := s.c.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("storage: bucket %s: %w", s.bucket, err)
	}
	if !ok {
		return fmt.Errorf("storage: bucket %s does not exist", s.bucket)
	}
	return nil
}

// Put implements Store.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	if size < 0 || size > MaxObjectSize {
		return fmt.Errorf("%w: %d bytes", ErrTooLarge, size)
	}
	// A known size under the multipart threshold is one PUT, streamed from r.
	if _, err := s.c.PutObject(ctx, s.bucket, key, r, size, minio.PutObjectOptions{ContentType: contentType(key)}); err != nil {
		return fmt.Errorf("storage: put %s: %w", key, err)
	}
	return nil
}

// Get implements Store.
func (s *S3) Get(ctx context.Context, key string) (io.ReadCloser, int64, error) {
	if err := CheckKey(key); err != nil {
		return nil, 0, err
	}
	obj, err := s.c.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, 0, fmt.Errorf("storage: get %s: %w", key, err)
	}
	st, err := obj.Stat() // the GET happens here
	if err != nil {
		obj.Close()
		if minio.ToErrorResponse(err).StatusCode == 404 {
			return nil, 0, ErrNotFound
		}
		return nil, 0, fmt.Errorf("storage: get %s: %w", key, err)
	}
	return obj, st.Size, nil
}

// Delete implements Store.
func (s *S3) Delete(ctx context.Context, key string) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	if err := s.c.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil && minio.ToErrorResponse(err).StatusCode != 404 {
		return fmt.Errorf("storage: delete %s: %w", key, err)
	}
	return nil
}

// List implements Store.
func (s *S3) List(ctx context.Context, prefix, after string, limit int) ([]Object, error) {
	if err := checkPrefix(prefix); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops minio-go's listing goroutine when we stop early
	var out []Object
	for o := range s.c.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, StartAfter: after, Recursive: true}) {
		if o.Err != nil {
			return nil, fmt.Errorf("storage: list %s: %w", prefix, o.Err)
		}
		if o.Key <= after {
			continue
		}
		out = append(out, Object{Key: o.Key, Size: o.Size})
		if len(out) == limit {
			break
		}
	}
	return out, nil
}

// contentType is what a recorded file is served as.
func contentType(key string) string {
	switch {
	case hasSuffix(key, ".m3u8"):
		return "application/vnd.apple.mpegurl"
	case hasSuffix(key, ".mp4"), hasSuffix(key, ".m4s"):
		return "video/mp4"
	case hasSuffix(key, ".jpg"):
		return "image/jpeg"
	case hasSuffix(key, ".json"):
		return "application/json"
	}
	return "application/octet-stream"
}

func hasSuffix(s, suf string) bool { return len(s) >= len(suf) && s[len(s)-len(suf):] == suf }
