package images

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"
)

// Errors of the decode budget.
var (
	// ErrTooComplex is a picture whose decoded form would take more memory than one decode
	// may: a few hundred kilobytes of 16-bit PNG can declare hundreds of megabytes of pixels
	// while staying under the pixel limit.
	ErrTooComplex = errors.New("the image would take too much memory to decode")
	// ErrBusy means every decode slot is taken and the queue is full: try again shortly.
	ErrBusy = errors.New("too many images are being processed")
)

// Limits bound the memory that decoding takes, per picture and in total.
type Limits struct {
	// PerImage is the most one decode may take, as estimated before decoding from the
	// declared size, colour model and bit depth (see DecodeBytes).
	PerImage int64
	// Total is the most all decodes together may take at once; a decode waits for its
	// share. It must be at least PerImage.
	Total int64
	// Queue is how many decodes may wait for a share; one more is refused with ErrBusy.
	Queue int
	// Wait is how long a decode waits for its share before giving up with ErrBusy.
	Wait time.Duration
}

// DefaultLimits let a 24-megapixel 8-bit RGBA PNG or a 12-megapixel progressive JPEG
// through, and keep all decodes together under 256 MiB.
var DefaultLimits = Limits{PerImage: 128 << 20, Total: 256 << 20, Queue: 16, Wait: 10 * time.Second}

// RetryAfter is what a client refused with ErrBusy is told to wait.
const RetryAfter = 2 * time.Second

// Processor decodes and re-encodes pictures within Limits.
type Processor struct {
	limits  Limits
	sem     *semaphore.Weighted
	waiting atomic.Int64
}

// NewProcessor returns a Processor bounded by l.
func NewProcessor(l Limits) *Processor {
	l.Total = max(l.Total, l.PerImage)
	return &Processor{limits: l, sem: semaphore.NewWeighted(l.Total)}
}

// reserve waits for n bytes of the total budget; release gives them back.
func (p *Processor) reserve(ctx context.Context, n int64) (release func(), err error) {
	if p.sem.TryAcquire(n) {
		return func() { p.sem.Release(n) }, nil
	}
	if p.waiting.Add(1) > int64(p.limits.Queue) {
		p.waiting.Add(-1)
		return nil, ErrBusy
	}
	defer p.waiting.Add(-1)
	ctx, cancel := context.WithTimeout(ctx, p.limits.Wait)
	defer cancel()
	if err := p.sem.Acquire(ctx, n); err != nil {
		return nil, ErrBusy
	}
	return func() { p.sem.Release(n) }, nil
}

// DecodeBytes estimates the memory that decoding data takes, from its header alone: the
// pixels times the bytes each takes in the decoded image's colour model, doubled for
// interlaced PNG (each pass is decoded apart, then merged) and, for progressive JPEG, plus
// the coefficients held for every block of every component until the last scan.
func DecodeBytes(cfg image.Config, format string, data []byte) int64 {
	pixels := int64(cfg.Width) * int64(cfg.Height)
	switch format {
	case "jpeg":
		if planes, progressive, ok := jpegPlanes(data); ok {
			per := int64(1)
			if progressive {
				per += 4 // one int32 coefficient per sample
			}
			var n int64
			for _, p := range planes {
				n += p * per
			}
			return n
		}
		return pixels * 4 * 5 // unknown layout: the worst case (CMYK, progressive)
	case "png":
		n := pixels * bytesPerPixel(cfg.ColorModel)
		if len(data) > 28 && data[28] == 1 { // IHDR interlace method: Adam7
			n *= 2
		}
		return n
	case "webp":
		switch cfg.ColorModel {
		case color.YCbCrModel: // lossy: 4:2:0 planes
			return pixels * 3 / 2
		case color.NYCbCrAModel: // lossy with an alpha plane
			return pixels * 5 / 2
		}
		// Lossless WebP decodes into NRGBA through transforms that hold a second copy.
		return pixels * 8
	}
	return pixels * 8
}

// bytesPerPixel is the size of one pixel of an image decoded in model m.
func bytesPerPixel(m color.Model) int64 {
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	switch m {
	case color.GrayModel, color.AlphaModel:
		return 1
	case color.Gray16Model, color.Alpha16Model:
		return 2
	case color.RGBAModel, color.NRGBAModel, color.CMYKModel:
		return 4
	case color.RGBA64Model, color.NRGBA64Model:
		return 8
	case color.YCbCrModel:
		return 3
	case color.NYCbCrAModel:
		return 4
	}
	return 8 // unknown: the widest
}

// jpegPlanes reads a JPEG's frame header: the samples in each component's plane (after
// chroma subsampling) and whether the frame is progressive.
func jpegPlanes(data []byte) (planes []int64, progressive bool, ok bool) {
	if len(data) < 4 || data[0] != 0xff || data[1] != 0xd8 {
		return nil, false, false
	}
	for i := 2; i+4 <= len(data); {
		if data[i] != 0xff {
			return nil, false, false
		}
		marker := data[i+1]
		if marker == 0xff { // fill byte
			i++
			continue
		}
		if marker == 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker == 0x01 {
			i += 2
			continue
		}
		length := int(binary.BigEndian.Uint16(data[i+2:]))
		if length < 2 || i+2+length > len(data) {
			return nil, false, false
		}
		seg := data[i+4 : i+2+length]
		switch marker {
		case 0xc0, 0xc1, 0xc2: // baseline, extended, progressive (the ones Go decodes)
			if len(seg) < 6 {
				return nil, false, false
			}
			h, w, n := int64(binary.BigEndian.Uint16(seg[1:])), int64(binary.BigEndian.Uint16(seg[3:])), int(seg[5])
			if n < 1 || len(seg) < 6+3*n {
				return nil, false, false
			}
			var hmax, vmax int64 = 1, 1
			for c := range n {
				hv := seg[6+3*c+1]
				hmax, vmax = max(hmax, int64(hv>>4)), max(vmax, int64(hv&0x0f))
			}
			for c := range n {
				hv := seg[6+3*c+1]
				hi, vi := max(int64(hv>>4), 1), max(int64(hv&0x0f), 1)
				// Planes are stored whole blocks wide and high.
				pw := (w*hi/hmax + 7) &^ 7
				ph := (h*vi/vmax + 7) &^ 7
				planes = append(planes, pw*ph)
			}
			if n == 4 { // CMYK: the planes are converted into a CMYK image
				planes = append(planes, 4*w*h)
			}
			return planes, marker == 0xc2, true
		case 0xda: // start of scan before any frame header
			return nil, false, false
		}
		i += 2 + length
	}
	return nil, false, false
}

// outputBytes is what Process holds besides the decoded picture: the scaled copy, its
// opaque twin and the encoded result (at most the size of the raw pixels).
func outputBytes(spec Spec) int64 {
	return 3 * 4 * int64(spec.MaxWidth) * int64(spec.MaxHeight)
}

func describeBytes(n int64) string {
	return fmt.Sprintf("%d MB", (n+(1<<20)-1)>>20)
}
