package web

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

// budgetBytes is the most JavaScript, compressed as served, that a first visit loads before
// the app can draw: the entry module and the modules index.html preloads. hls.js, the charts
// and the streamer's pages are lazy chunks outside it.
const budgetBytes = 150 << 10

var initialScript = regexp.MustCompile(`<(?:script[^>]*\ssrc|link[^>]*rel="modulepreload"[^>]*\shref)="/([^"]+\.js)"`)

// TestInitialJavaScriptBudget reads the build that the binary embeds (make web).
func TestInitialJavaScriptBudget(t *testing.T) {
	d := Dist()
	html, err := fs.ReadFile(d, "index.html")
	if err != nil {
		t.Fatalf("web/dist is not built (run make web): %v", err)
	}
	matches := initialScript.FindAllStringSubmatch(string(html), -1)
	if len(matches) == 0 {
		t.Fatalf("index.html loads no script: %s", html)
	}
	total := 0
	for _, m := range matches {
		br, err := fs.ReadFile(d, m[1]+".br")
		if err != nil {
			// Files too small to gain from compression (web/scripts/compress.mjs's minBytes)
			// are served as they are.
			raw, rerr := fs.ReadFile(d, m[1])
			if rerr != nil || len(raw) >= 1024 {
				t.Errorf("%s has no brotli variant: %v", m[1], err)
				continue
			}
			br = raw
		}
		t.Logf("%s: %.1f KB brotli", m[1], float64(len(br))/1024)
		total += len(br)
	}
	if total > budgetBytes {
		t.Errorf("initial JavaScript = %.1f KB compressed, budget %d KB", float64(total)/1024, budgetBytes>>10)
	}
}

// TestAssetsPrecompressed checks that every script and style sheet of the build has its gzip
// and brotli variants, which the server sends with Content-Encoding.
func TestAssetsPrecompressed(t *testing.T) {
	d := Dist()
	assets, err := fs.Glob(d, "assets/*")
	if err != nil || len(assets) == 0 {
		t.Fatalf("web/dist/assets is empty (run make web): %v", err)
	}
	have := map[string]bool{}
	for _, a := range assets {
		have[a] = true
	}
	for _, a := range assets {
		if !strings.HasSuffix(a, ".js") && !strings.HasSuffix(a, ".css") {
			continue
		}
		st, err := fs.Stat(d, a)
		if err != nil || st.Size() < 1024 {
			continue
		}
		for _, ext := range []string{".gz", ".br"} {
			if !have[a+ext] {
				t.Errorf("%s has no %s variant", a, ext)
			}
		}
	}
}
