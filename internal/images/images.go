// Package images checks and re-encodes user-uploaded pictures (avatars, banners). Nothing a
// user uploads is served as it came: it is decoded, bounded, scaled and encoded afresh, so a
// file that only claims to be an image, or one crafted to explode on decoding, goes no further.
package images

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"

	"golang.org/x/image/draw"
	_ "golang.org/x/image/webp" // registers the WebP decoder
)

// Limits on what is accepted before decoding.
const (
	MaxPixels = 40_000_000 // a decompression bomb declares far more
	MaxEdge   = 10_000
)

// Errors for files that cannot be accepted.
var (
	ErrNotImage = errors.New("the file is not a JPEG, PNG or WebP image")
	ErrTooLarge = errors.New("the image's dimensions are too large")
)

// Spec says how one kind of picture is stored.
type Spec struct {
	MaxWidth, MaxHeight int  // scaled down to fit, keeping the aspect ratio
	Square              bool // centre-cropped to a square first (avatars)
}

// Result is the re-encoded picture.
type Result struct {
	Data        []byte
	ContentType string
	Width       int
	Height      int
}

// std is the processor Process uses.
var std = NewProcessor(DefaultLimits)

// Process is the default Processor's Process.
func Process(ctx context.Context, data []byte, spec Spec) (*Result, error) {
	return std.Process(ctx, data, spec)
}

// Process decodes data (JPEG, PNG or WebP), refuses bombs, crops and scales it per spec and
// encodes it as PNG when it has transparency, else as JPEG. Before decoding it estimates
// the memory that takes from the header (ErrTooComplex over the per-image limit) and waits
// for that share of the total (ErrBusy when the queue is full or the wait too long).
func (p *Processor) Process(ctx context.Context, data []byte, spec Spec) (*Result, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || (format != "jpeg" && format != "png" && format != "webp") {
		return nil, ErrNotImage
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > MaxEdge || cfg.Height > MaxEdge || cfg.Width*cfg.Height > MaxPixels {
		return nil, fmt.Errorf("%w: %d×%d", ErrTooLarge, cfg.Width, cfg.Height)
	}
	need := DecodeBytes(cfg, format, data)
	if need > p.limits.PerImage {
		return nil, fmt.Errorf("%w: %d×%d %s needs about %s, over the %s a picture may take",
			ErrTooComplex, cfg.Width, cfg.Height, format, describeBytes(need), describeBytes(p.limits.PerImage))
	}
	release, err := p.reserve(ctx, min(need+outputBytes(spec)+int64(len(data)), p.limits.Total))
	if err != nil {
		return nil, err
	}
	defer release()
	src, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, ErrNotImage
	}
	b := src.Bounds()
	if spec.Square {
		side := min(b.Dx(), b.Dy())
		x0, y0 := b.Min.X+(b.Dx()-side)/2, b.Min.Y+(b.Dy()-side)/2
		b = image.Rect(x0, y0, x0+side, y0+side)
	}
	w, h := fit(b.Dx(), b.Dy(), spec.MaxWidth, spec.MaxHeight)
	dst := image.NewNRGBA(image.Rect(0, 0, w, h))
	draw.CatmullRom.Scale(dst, dst.Bounds(), src, b, draw.Src, nil)

	var out bytes.Buffer
	res := &Result{Width: w, Height: h}
	if opaque(dst) {
		rgb := image.NewRGBA(dst.Bounds())
		draw.Draw(rgb, rgb.Bounds(), dst, image.Point{}, draw.Src)
		err = jpeg.Encode(&out, rgb, &jpeg.Options{Quality: 88})
		res.ContentType = "image/jpeg"
	} else {
		err = (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&out, dst)
		res.ContentType = "image/png"
	}
	if err != nil {
		return nil, fmt.Errorf("encoding image: %w", err)
	}
	res.Data = out.Bytes()
	return res, nil
}

// fit scales w×h down (never up) to fit within maxW×maxH.
func fit(w, h, maxW, maxH int) (int, int) {
	if w <= maxW && h <= maxH {
		return w, h
	}
	if w*maxH > h*maxW { // width is the binding edge
		return maxW, max(1, h*maxW/w)
	}
	return max(1, w*maxH/h), maxH
}

func opaque(img *image.NRGBA) bool {
	for i := 3; i < len(img.Pix); i += 4 {
		if img.Pix[i] != 0xff {
			return false
		}
	}
	return true
}
