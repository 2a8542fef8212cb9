package httpapi_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/livehouse/livehouse/internal/channels"
	"github.com/livehouse/livehouse/internal/httpapi"
	"github.com/livehouse/livehouse/internal/products"
	"github.com/livehouse/livehouse/internal/products/productstest"
)

// logBuffer keeps what the server logs; handlers write from their own goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// productsEnv is an environment with Amazon product search switched on, against a stand-in
// for the Product Advertising API, with the server's log kept at debug level.
type productsEnv struct {
	*env
	standIn *productstest.Server
	logs    *logBuffer
}

func newProductsEnv(t *testing.T) *productsEnv {
	t.Helper()
	e := newEnv(t, autoVerify(true))
	standIn := productstest.New(t)
	client, err := products.NewClient(products.Config{
		LinkRegionCode: "20", AccessKey: productstest.AccessKey, SecretKey: productstest.SecretKey, PartnerTag: "livehouse-20",
		Endpoint: standIn.URL,
	})
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := httptest.NewServer(httpapi.NewServer(httpapi.Deps{
		Config:   httpapi.Config{Stage: "dev", PublicURL: "http://livehouse.test", RTMPURL: "rtmp://livehouse.test:1935/live/", ChannelType: "BASIC"},
		Log:      log,
		Accounts: e.acc,
		Channels: channels.NewService(e.store, e.box, log, e.clock.Now, nil),
		Products: client,
	}))
	t.Cleanup(srv.Close)
	e.srv = srv // same store and accounts, so sessions from either server work on this one
	return &productsEnv{env: e, standIn: standIn, logs: logs}
}

func productsPath(params ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(params); i += 2 {
		q.Set(params[i], params[i+1])
	}
	return "/api/products?" + q.Encode()
}

func TestProductSearch(t *testing.T) {
	e := newProductsEnv(t)
	alice := e.signUp("alice")
	var me struct{ Channel struct{ ID string } }
	if err := json.Unmarshal(e.want(e.call("GET", "/api/me", alice.token, nil), 200).body, &me); err != nil {
		t.Fatal(err)
	}
	res := e.want(e.call("GET", productsPath("keywords", " desk lamp ", "sortBy", "Price:LowToHigh", "page", "2"), alice.token, nil), 200)
	var got map[string]any
	if err := json.Unmarshal(res.body, &got); err != nil {
		t.Fatal(err)
	}
	tag := strings.ToLower(me.Channel.ID) + "-20"
	var want map[string]any
	if err := json.Unmarshal([]byte(`{
		"keyword": "desk lamp", "sortBy": "Price:LowToHigh", "page": 2, "pageSize": 10, "searchCount": 146, "hasMore": true,
		"items": [
			{
				"asin": "B0LHTEST01", "title": "Clamp Desk Lamp with Adjustable Arm, Warm White",
				"productURL": "https://www.amazon.com/dp/B0LHTEST01?tag=`+tag+`&linkCode=osi&th=1&psc=1",
				"images": {
					"small": {"url": "https://m.media-amazon.com/images/I/41lhtest01S.jpg", "width": 75, "height": 75},
					"medium": {"url": "https://m.media-amazon.com/images/I/41lhtest01M.jpg", "width": 160, "height": 160},
					"large": {"url": "https://m.media-amazon.com/images/I/41lhtest01L.jpg", "width": 500, "height": 500}
				},
				"price": {"displayAmount": "$24.99"}, "merchantInfo": "Amazon.com"
			},
			{
				"asin": "B0LHTEST02", "title": "LED Reading Light, Rechargeable, Three Colour Modes",
				"productURL": "https://www.amazon.com/dp/B0LHTEST02?tag=`+tag+`&linkCode=osi&th=1&psc=1",
				"images": {
					"small": {"url": "https://m.media-amazon.com/images/I/41lhtest02S.jpg", "width": 56, "height": 75},
					"medium": {"url": "https://m.media-amazon.com/images/I/41lhtest02M.jpg", "width": 120, "height": 160},
					"large": {"url": "https://m.media-amazon.com/images/I/41lhtest02L.jpg", "width": 375, "height": 500}
				},
				"price": {"displayAmount": "$13.50"}, "merchantInfo": "Bright Corner Goods"
			},
			{
				"asin": "B0LHTEST03", "title": "Architect Lamp Replacement Shade (no current offer)",
				"productURL": "https://www.amazon.com/dp/B0LHTEST03?tag=`+tag+`&linkCode=osi&th=1&psc=1",
				"images": {
					"small": {"url": null}, "medium": {"url": null},
					"large": {"url": "https://m.media-amazon.com/images/I/41lhtest03L.jpg", "width": 500, "height": 500}
				},
				"price": {"displayAmount": null}, "merchantInfo": null
			}
		]
	}`), &want); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GET /api/products (-want +got):\n%s", diff)
	}
	reqs := e.standIn.Requests()
	if len(reqs) != 1 {
		t.Fatalf("stand-in got %d signed requests, want 1", len(reqs))
	}
	if b := reqs[0].Body; b.Keywords != "desk lamp" || b.SortBy != "Price:LowToHigh" || b.ItemPage != 2 || b.ItemCount != 10 || b.PartnerTag != "livehouse-20" {
		t.Errorf("SearchItems request %+v", b)
	}
	if cfg := e.want(e.call("GET", "/api/config", "", nil), 200).json(t); cfg["amazonProduct"] != true {
		t.Errorf("config amazonProduct = %v, want true", cfg["amazonProduct"])
	}
}

func TestProductSearchDisabled(t *testing.T) {
	e := newEnv(t, autoVerify(true))
	alice := e.signUp("alice")
	res := e.want(e.call("GET", productsPath("keywords", "lamp"), alice.token, nil), 404)
	if code := res.errorCode(t); code != "AmazonProductDisabled" {
		t.Errorf("code = %s, want AmazonProductDisabled", code)
	}
	if cfg := e.want(e.call("GET", "/api/config", "", nil), 200).json(t); cfg["amazonProduct"] != false {
		t.Errorf("config amazonProduct = %v, want false", cfg["amazonProduct"])
	}
}

// TestProductSearchBadInput: bad parameters and anonymous callers are answered without a
// call to Amazon.
func TestProductSearchBadInput(t *testing.T) {
	e := newProductsEnv(t)
	alice := e.signUp("alice")
	tests := []struct {
		name, path string
		token      string
		status     int
		code       string
	}{
		{"anonymous", productsPath("keywords", "lamp"), "", 401, "Unauthorized"},
		{"no keywords", "/api/products", alice.token, 400, "MissingField"},
		{"blank keywords", productsPath("keywords", "   "), alice.token, 400, "MissingField"},
		{"long keywords", productsPath("keywords", strings.Repeat("k", 151)), alice.token, 400, "InvalidKeywords"},
		{"unknown sort", productsPath("keywords", "lamp", "sortBy", "Cheapest"), alice.token, 400, "InvalidSortBy"},
		{"page not a number", productsPath("keywords", "lamp", "page", "two"), alice.token, 400, "InvalidPage"},
		{"page 0", productsPath("keywords", "lamp", "page", "0"), alice.token, 400, "InvalidPage"},
		{"page 11", productsPath("keywords", "lamp", "page", "11"), alice.token, 400, "InvalidPage"},
		{"language", productsPath("keywords", "lamp", "language", "English"), alice.token, 400, "InvalidLanguage"},
		{"wrong method", productsPath("keywords", "lamp"), alice.token, 405, "MethodNotAllowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := "GET"
			if tt.name == "wrong method" {
				method = "POST"
			}
			res := e.call(method, tt.path, tt.token, nil)
			if res.status != tt.status {
				t.Fatalf("status = %d, want %d: %s", res.status, tt.status, res.body)
			}
			if got := res.errorCode(t); got != tt.code {
				t.Errorf("code = %s, want %s", got, tt.code)
			}
		})
	}
	if n := e.standIn.Calls(); n != 0 {
		t.Errorf("stand-in got %d calls, want none", n)
	}
}

// TestProductSearchUpstream maps Amazon's answers to statuses the web app can act on, and
// keeps the credentials out of answers and logs even when Amazon quotes them.
func TestProductSearchUpstream(t *testing.T) {
	e := newProductsEnv(t)
	alice := e.signUp("alice")
	tests := []struct {
		name   string
		reply  productstest.Reply
		status int
		code   string
	}{
		{"throttled", productstest.TooManyRequests, 429, "TooManyRequests"},
		{"unknown access key", productstest.UnrecognizedClient, 502, "ProductSearchFailed"},
		{"access denied", productstest.AccessDenied, 502, "ProductSearchFailed"},
		{"bad signature", productstest.InvalidSignature, 502, "ProductSearchFailed"},
		{"Amazon failed", productstest.InternalFailure, 502, "ProductSearchFailed"},
		{"parameter refused", productstest.InvalidParameter, 400, "InvalidSearch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.standIn.Reply(tt.reply)
			res := e.call("GET", productsPath("keywords", "lamp", "language", "en_US"), alice.token, nil)
			if res.status != tt.status {
				t.Fatalf("status = %d, want %d: %s", res.status, tt.status, res.body)
			}
			if got := res.errorCode(t); got != tt.code {
				t.Errorf("code = %s, want %s", got, tt.code)
			}
			if tt.status == 429 && res.header.Get("Retry-After") != "1" {
				t.Errorf("Retry-After = %q, want 1", res.header.Get("Retry-After"))
			}
			for _, secret := range []string{productstest.AccessKey, productstest.SecretKey} {
				if strings.Contains(string(res.body), secret) {
					t.Errorf("answer quotes a credential: %s", res.body)
				}
			}
		})
	}

	e.standIn.Reply(productstest.NoResults)
	empty := e.want(e.call("GET", productsPath("keywords", "zzzz"), alice.token, nil), 200).json(t)
	if items, _ := empty["items"].([]any); items == nil || len(items) != 0 || empty["hasMore"] != false || empty["searchCount"] != 0.0 {
		t.Errorf("no results = %v, want an empty last page", empty)
	}

	logs := e.logs.String()
	// The operator is told what to fix, in words that quote Amazon but not the keys.
	for _, want := range []string{"check the amazon_product settings", "AccessDenied", "[redacted]", "TooManyRequests"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
	for _, secret := range []string{productstest.AccessKey, productstest.SecretKey} {
		if strings.Contains(logs, secret) {
			t.Errorf("log quotes a credential:\n%s", logs)
		}
	}
}
