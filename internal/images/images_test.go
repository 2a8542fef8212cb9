package images

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"runtime"
	"runtime/debug"
	"sync"
	"testing"
	"time"
)

func encodePNG(t testing.TB, w, h int, alpha uint8) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 200
		if i%4 == 3 {
			img.Pix[i] = alpha
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeJPEG(t testing.TB, w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 100, 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// bombPNG is a small file whose header declares a huge image.
func bombPNG(t testing.TB, w, h uint32) []byte {
	raw := encodePNG(t, 1, 1, 255)
	// IHDR data starts at byte 16: width, height; its CRC covers type+data (bytes 12..29).
	binary.BigEndian.PutUint32(raw[16:], w)
	binary.BigEndian.PutUint32(raw[20:], h)
	binary.BigEndian.PutUint32(raw[29:], crc32.ChecksumIEEE(raw[12:29]))
	return raw
}

func TestProcess(t *testing.T) {
	avatar := Spec{MaxWidth: 256, MaxHeight: 256, Square: true}
	banner := Spec{MaxWidth: 1920, MaxHeight: 640}
	tests := []struct {
		name         string
		data         []byte
		spec         Spec
		wantErr      error
		wantType     string
		wantW, wantH int
	}{
		{"jpeg avatar cropped and scaled", encodeJPEG(t, 800, 600), avatar, nil, "image/jpeg", 256, 256},
		{"small png kept size", encodePNG(t, 100, 50, 255), banner, nil, "image/jpeg", 100, 50},
		{"transparent png stays png", encodePNG(t, 300, 300, 128), avatar, nil, "image/png", 256, 256},
		{"wide banner scaled", encodeJPEG(t, 3000, 600), banner, nil, "image/jpeg", 1920, 384},
		{"text renamed .png", []byte("hello, I am not a picture"), avatar, ErrNotImage, "", 0, 0},
		{"gif refused", []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"), avatar, ErrNotImage, "", 0, 0},
		{"truncated jpeg", encodeJPEG(t, 64, 64)[:200], avatar, ErrNotImage, "", 0, 0},
		{"decompression bomb", bombPNG(t, 60000, 60000), avatar, ErrTooLarge, "", 0, 0},
		{"too many pixels", bombPNG(t, 9000, 9000), banner, ErrTooLarge, "", 0, 0},
		{"16-bit RGBA bomb under the pixel limit", deepPNG(6000, 6000), banner, ErrTooComplex, "", 0, 0},
		{"16-bit gray small enough", rawPNG(300, 200, 16, 0, 0), banner, nil, "image/jpeg", 300, 200},
		{"paletted png", palettedPNG(t, 40, 30), banner, nil, "image/jpeg", 40, 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Process(context.Background(), tt.data, tt.spec)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if res.ContentType != tt.wantType || res.Width != tt.wantW || res.Height != tt.wantH {
				t.Errorf("got %s %d×%d, want %s %d×%d", res.ContentType, res.Width, res.Height, tt.wantType, tt.wantW, tt.wantH)
			}
			cfg, format, err := image.DecodeConfig(bytes.NewReader(res.Data))
			if err != nil || "image/"+format != tt.wantType || cfg.Width != tt.wantW {
				t.Errorf("output decodes as %s %d wide (%v)", format, cfg.Width, err)
			}
		})
	}
}

func FuzzProcess(f *testing.F) {
	f.Add(encodePNG(f, 4, 4, 255))
	f.Add(encodeJPEG(f, 8, 8))
	f.Add(bombPNG(f, 60000, 60000))
	f.Add([]byte("RIFF\x00\x00\x00\x00WEBPVP8L"))
	for _, depth := range []byte{1, 2, 4, 8, 16} {
		f.Add(rawPNG(5, 3, depth, 0, 0))
	}
	f.Add(rawPNG(4, 4, 16, 6, 1))
	f.Add(palettedPNG(f, 6, 6))
	f.Add(progressive(encodeJPEG(f, 16, 16)))
	p := NewProcessor(Limits{PerImage: 16 << 20, Total: 16 << 20, Queue: 4, Wait: time.Minute})
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := p.Process(context.Background(), data, Spec{MaxWidth: 64, MaxHeight: 64, Square: true})
		if err != nil {
			if !errors.Is(err, ErrNotImage) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrTooComplex) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if res.Width > 64 || res.Height > 64 || len(res.Data) == 0 {
			t.Fatalf("result %d×%d, %d bytes", res.Width, res.Height, len(res.Data))
		}
	})
}

// FuzzPNGHeader builds PNGs of every colour type, bit depth and interlacing with the declared
// size the fuzzer picks (the pixel data is zeros, short or long) and checks that nothing the
// header declares gets past the budget or panics the decoder.
func FuzzPNGHeader(f *testing.F) {
	f.Add(uint32(6000), uint32(6000), byte(16), byte(6), byte(0), uint16(100))
	f.Add(uint32(5), uint32(3), byte(1), byte(0), byte(0), uint16(3))
	f.Add(uint32(8), uint32(8), byte(8), byte(3), byte(1), uint16(64))
	f.Add(uint32(64), uint32(64), byte(16), byte(4), byte(1), uint16(9000))
	f.Add(uint32(9000), uint32(1), byte(8), byte(2), byte(0), uint16(0))
	p := NewProcessor(Limits{PerImage: 4 << 20, Total: 4 << 20, Queue: 4, Wait: time.Minute})
	f.Fuzz(func(t *testing.T, w, h uint32, depth, colorType, interlace byte, rows uint16) { // rows: 64-byte units of pixel data
		n := int(rows) * 64
		if full := pixelBytes(w, h, depth, colorType, interlace); full < n {
			n = full
		}
		data := pngWith(w, h, depth, colorType, interlace, n)
		cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
		res, perr := p.Process(context.Background(), data, Spec{MaxWidth: 32, MaxHeight: 32})
		if err != nil {
			if !errors.Is(perr, ErrNotImage) {
				t.Fatalf("header refused by DecodeConfig (%v) but Process says %v", err, perr)
			}
			return
		}
		need := DecodeBytes(cfg, format, data)
		switch {
		case errors.Is(perr, ErrTooLarge), errors.Is(perr, ErrNotImage):
		case errors.Is(perr, ErrTooComplex):
			if need <= 4<<20 {
				t.Fatalf("%d×%d depth %d type %d refused as too complex at %d bytes", w, h, depth, colorType, need)
			}
		case perr != nil:
			t.Fatalf("unexpected error %v", perr)
		default:
			if need > 4<<20 {
				t.Fatalf("%d×%d depth %d type %d decoded though it needs %d bytes", w, h, depth, colorType, need)
			}
			if res.Width > 32 || res.Height > 32 {
				t.Fatalf("result %d×%d", res.Width, res.Height)
			}
		}
	})
}

// pngChunk appends one chunk with its CRC.
func pngChunk(b []byte, typ string, data []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(data)))
	start := len(b)
	b = append(b, typ...)
	b = append(b, data...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b[start:]))
}

// pngWith writes a PNG header as declared, then n bytes of zero pixel data (a palette of
// one colour for type 3).
func pngWith(w, h uint32, depth, colorType, interlace byte, n int) []byte {
	b := []byte("\x89PNG\r\n\x1a\n")
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, depth, colorType, 0, 0, interlace)
	b = pngChunk(b, "IHDR", ihdr)
	if colorType == 3 {
		b = pngChunk(b, "PLTE", []byte{10, 20, 30})
	}
	b = pngChunk(b, "IDAT", zeroZlib(n))
	return pngChunk(b, "IEND", nil)
}

// zeroZlib is the zlib stream of n zero bytes, made fast: one compressed, flushed megabyte
// repeated (each copy refers only to itself, and a window of zeros is zeros), then the rest.
func zeroZlib(n int) []byte {
	compress := func(k int, final bool) []byte {
		var z bytes.Buffer
		fw, _ := flate.NewWriter(&z, flate.BestCompression)
		fw.Write(make([]byte, k))
		if final {
			fw.Close()
		} else {
			fw.Flush()
		}
		return z.Bytes()
	}
	const seg = 1 << 20
	out := []byte{0x78, 0xda}
	if n >= seg {
		out = append(out, bytes.Repeat(compress(seg, false), n/seg)...)
	}
	out = append(out, compress(n%seg, true)...)
	// Adler-32 of zeros: the sum of bytes stays 1, the sum of sums grows by one a byte.
	return binary.BigEndian.AppendUint32(out, uint32(n%65521)<<16|1)
}

// pixelBytes is the exact size of the filtered pixel data a PNG header calls for.
func pixelBytes(w, h uint32, depth, colorType, interlace byte) int {
	channels := map[byte]uint64{0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colorType]
	rows := func(pw, ph uint64) uint64 {
		if pw == 0 || ph == 0 {
			return 0
		}
		return ph * (1 + (pw*channels*uint64(depth)+7)/8)
	}
	if interlace == 0 {
		return int(rows(uint64(w), uint64(h)))
	}
	var n uint64
	for _, p := range [][4]uint64{{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}} {
		n += rows((uint64(w)+p[2]-p[0]-1)/p[2], (uint64(h)+p[3]-p[1]-1)/p[3])
	}
	return int(n)
}

// rawPNG is a complete PNG of zeros.
func rawPNG(w, h uint32, depth, colorType, interlace byte) []byte {
	return pngWith(w, h, depth, colorType, interlace, pixelBytes(w, h, depth, colorType, interlace))
}

// deepPNG is the attack of the hardening issue: 16-bit RGBA at 6000×6000 (36 megapixels, under
// the pixel limit) compresses to a few hundred KB and decodes into 288 MB.
func deepPNG(w, h uint32) []byte {
	return rawPNG(w, h, 16, 6, 0)
}

func palettedPNG(t testing.TB, w, h int) []byte {
	img := image.NewPaletted(image.Rect(0, 0, w, h), color.Palette{color.Black, color.White})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// progressive marks a baseline JPEG's frame as progressive (SOF2): enough for the header.
func progressive(data []byte) []byte {
	out := bytes.Clone(data)
	if i := bytes.Index(out, []byte{0xff, 0xc0}); i >= 0 {
		out[i+1] = 0xc2
	}
	return out
}

func TestDecodeBytes(t *testing.T) {
	jpg := encodeJPEG(t, 64, 48) // 4:2:0: 64×48 luma, two 32×24 chroma planes
	tests := []struct {
		name string
		data []byte
		want int64
	}{
		{"8-bit gray png", rawPNG(100, 10, 8, 0, 0), 1000},
		{"16-bit gray png", rawPNG(100, 10, 16, 0, 0), 2000},
		{"8-bit rgba png", rawPNG(100, 10, 8, 6, 0), 4000},
		{"16-bit rgba png", rawPNG(100, 10, 16, 6, 0), 8000},
		{"16-bit rgba png interlaced", rawPNG(100, 10, 16, 6, 1), 16000},
		{"16-bit rgb png", rawPNG(100, 10, 16, 2, 0), 8000},
		{"paletted png", palettedPNG(t, 100, 10), 1000},
		{"6000×6000 16-bit rgba", deepPNG(6000, 6000), 288_000_000},
		{"baseline jpeg 4:2:0", jpg, 64*48 + 2*32*24},
		{"progressive jpeg 4:2:0", progressive(jpg), 5 * (64*48 + 2*32*24)},
	}
	// WebP (no encoder at hand): the header's colour model alone decides.
	for _, w := range []struct {
		model color.Model
		want  int64
	}{{color.YCbCrModel, 1500}, {color.NYCbCrAModel, 2500}, {color.NRGBAModel, 8000}} {
		if got := DecodeBytes(image.Config{ColorModel: w.model, Width: 100, Height: 10}, "webp", nil); got != w.want {
			t.Errorf("webp %v: DecodeBytes = %d, want %d", w.model, got, w.want)
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, format, err := image.DecodeConfig(bytes.NewReader(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			if got := DecodeBytes(cfg, format, tt.data); got != tt.want {
				t.Errorf("DecodeBytes = %d, want %d", got, tt.want)
			}
		})
	}
}

// TestDecodeBytesBoundsTheDecoder checks the estimate against what decoding really allocates.
func TestDecodeBytesBoundsTheDecoder(t *testing.T) {
	for _, data := range [][]byte{
		rawPNG(600, 400, 16, 6, 0),
		rawPNG(600, 400, 16, 6, 1),
		rawPNG(600, 400, 8, 0, 0),
		encodeJPEG(t, 600, 400),
		encodePNG(t, 600, 400, 200),
	} {
		cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if _, _, err := image.Decode(bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		got := int64(after.TotalAlloc - before.TotalAlloc)
		// The decoders' own buffers (zlib window, rows, Huffman tables) come on top.
		const overhead = 256 << 10
		if est := DecodeBytes(cfg, format, data); got > est+overhead {
			t.Errorf("%s %d×%d %v: decoding allocated %d bytes, estimated %d", format, cfg.Width, cfg.Height, cfg.ColorModel, got, est)
		}
	}
}

// TestConcurrentDecodesShareTheBudget uploads 8 pictures, each just under the per-image
// limit, at once: the heap must stay near one decode's worth, not eight.
func TestConcurrentDecodesShareTheBudget(t *testing.T) {
	const perImage = 10 << 20
	p := NewProcessor(Limits{PerImage: perImage, Total: perImage, Queue: 8, Wait: 10 * time.Minute})
	data := rawPNG(1100, 1100, 16, 2, 0) // 1100×1100×8 = 9.7 MB decoded
	cfg, format, _ := image.DecodeConfig(bytes.NewReader(data))
	if need := DecodeBytes(cfg, format, data); need > perImage || need < perImage*3/4 {
		t.Fatalf("test picture needs %d bytes: not a max-size upload", need)
	}
	// Collect eagerly, so that the peak shows what is live rather than how far the collector
	// let garbage grow on a busy machine.
	defer debug.SetGCPercent(debug.SetGCPercent(25))
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)

	done := make(chan struct{})
	peakc := make(chan uint64)
	go func() { // sample the heap until the uploads are done
		var peak uint64
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapAlloc)
			select {
			case <-done:
				peakc <- peak
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = p.Process(context.Background(), data, Spec{MaxWidth: 200, MaxHeight: 200})
		})
	}
	wg.Wait()
	close(done)
	peak := <-peakc
	for i, err := range errs {
		if err != nil {
			t.Errorf("upload %d: %v", i, err)
		}
	}
	// One decode at a time holds about 10 MB, plus the garbage the collector has not yet
	// reclaimed (25–32 MB at the peak measured); eight at once hold 80 MB and more (131 MB
	// measured with the budget lifted).
	const bound = 5 * perImage
	grew := int64(peak) - int64(base.HeapAlloc)
	t.Logf("8 concurrent max-size decodes: heap peak %d MB over the baseline", grew>>20)
	if grew > bound {
		t.Errorf("heap grew by %d MB at its peak, want under %d MB", grew>>20, bound>>20)
	}
}

func TestBusyWhenTheQueueIsFull(t *testing.T) {
	p := NewProcessor(Limits{PerImage: 1 << 20, Total: 1 << 20, Queue: 0, Wait: time.Minute})
	release, err := p.reserve(context.Background(), 1<<20) // another upload holds the budget
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Process(context.Background(), encodePNG(t, 10, 10, 255), Spec{MaxWidth: 10, MaxHeight: 10}); !errors.Is(err, ErrBusy) {
		t.Errorf("with the budget taken and no queue: err = %v, want ErrBusy", err)
	}
	release()
	if _, err := p.Process(context.Background(), encodePNG(t, 10, 10, 255), Spec{MaxWidth: 10, MaxHeight: 10}); err != nil {
		t.Errorf("after release: %v", err)
	}
}
