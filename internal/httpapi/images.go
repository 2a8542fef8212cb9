package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/livehouse/livehouse/internal/imageproxy"
	"github.com/livehouse/livehouse/internal/images"
	"github.com/livehouse/livehouse/internal/problem"
)

// ImageFetcher fetches another site's picture, checked and re-encoded (imageproxy.Proxy).
type ImageFetcher interface {
	Fetch(ctx context.Context, rawURL string) (*images.Result, error)
}

// handleImageProxy serves a product image from our origin: GET /api/images?url=… . The web
// app shows other sites' pictures only through here, so the page's CSP keeps img-src to
// 'self'.
func handleImageProxy(f ImageFetcher, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f == nil {
			writeError(w, r, log, problem.NotFound("NotFound", "Not found."))
			return
		}
		img, err := f.Fetch(r.Context(), r.URL.Query().Get("url"))
		if err != nil {
			writeError(w, r, log, imageProblem(err))
			return
		}
		h := w.Header()
		h.Set("Content-Type", img.ContentType)
		h.Set("Content-Length", strconv.Itoa(len(img.Data)))
		h.Set("Cache-Control", "public, max-age=86400")
		h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
		if r.Method == http.MethodHead {
			return
		}
		w.Write(img.Data)
	})
}

func imageProblem(err error) error {
	switch {
	case errors.Is(err, imageproxy.ErrBadURL):
		return problem.Invalid("InvalidImageURL", "url", "The image address must be an absolute http or https URL.")
	case errors.Is(err, imageproxy.ErrNotAllowed):
		return problem.Invalid("ImageURLNotAllowed", "url", "Images can only come from public addresses.")
	case errors.Is(err, imageproxy.ErrTooLarge):
		return &problem.Problem{Kind: problem.ErrTooLarge, Code: "ImageTooLarge", Message: "The image is too large."}
	case errors.Is(err, imageproxy.ErrNotImage):
		return &problem.Problem{Kind: errUnsupportedMedia, Code: "NotAnImage", Message: "The address does not hold a JPEG, PNG or WebP image."}
	case errors.Is(err, imageproxy.ErrBusy):
		return problem.Throttled("ImageProxyBusy", "Too many images are being fetched; try again shortly.", 2*time.Second)
	default:
		return &problem.Problem{Kind: errBadGateway, Code: "ImageUnavailable", Message: "The image could not be fetched from its site."}
	}
}
