package images

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Process(tt.data, tt.spec)
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
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := Process(data, Spec{MaxWidth: 64, MaxHeight: 64, Square: true})
		if err != nil {
			return
		}
		if res.Width > 64 || res.Height > 64 || len(res.Data) == 0 {
			t.Fatalf("result %d×%d, %d bytes", res.Width, res.Height, len(res.Data))
		}
	})
}
