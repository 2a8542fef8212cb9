package products_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/livehouse/livehouse/internal/problem"
	"github.com/livehouse/livehouse/internal/products"
	"github.com/livehouse/livehouse/internal/products/productstest"
)

var now = time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)

// newClient returns a client of a stand-in whose clock agrees with the client's.
func newClient(t *testing.T, edit ...func(*products.Config)) (*products.Client, *productstest.Server) {
	t.Helper()
	srv := productstest.New(t)
	srv.Now = func() time.Time { return now }
	cfg := products.Config{
		LinkRegionCode: "20", AccessKey: productstest.AccessKey, SecretKey: productstest.SecretKey, PartnerTag: "livehouse-20",
		Endpoint: srv.URL, Now: func() time.Time { return now },
	}
	for _, e := range edit {
		e(&cfg)
	}
	c, err := products.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, srv
}

func TestSearch(t *testing.T) {
	c, srv := newClient(t)
	got, err := c.Search(context.Background(), products.SearchRequest{
		Keywords: "  desk lamp ", SortBy: products.SortPriceLowToHigh, Page: 2, Language: "en_US", ChannelID: "ch_AbC123",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := &products.Result{Keywords: "desk lamp", SortBy: "Price:LowToHigh", Page: 2, Total: 146, Items: []products.Item{
		{
			ASIN: "B0LHTEST01", Title: "Clamp Desk Lamp with Adjustable Arm, Warm White",
			URL: "https://www.amazon.com/dp/B0LHTEST01?tag=ch_abc123-20&linkCode=osi&th=1&psc=1",
			Images: products.Images{
				Small:  products.Image{URL: "https://m.media-amazon.com/images/I/41lhtest01S.jpg", Width: 75, Height: 75},
				Medium: products.Image{URL: "https://m.media-amazon.com/images/I/41lhtest01M.jpg", Width: 160, Height: 160},
				Large:  products.Image{URL: "https://m.media-amazon.com/images/I/41lhtest01L.jpg", Width: 500, Height: 500},
			},
			Price: "$24.99", Merchant: "Amazon.com",
		},
		{
			ASIN: "B0LHTEST02", Title: "LED Reading Light, Rechargeable, Three Colour Modes",
			URL: "https://www.amazon.com/dp/B0LHTEST02?tag=ch_abc123-20&linkCode=osi&th=1&psc=1",
			Images: products.Images{
				Small:  products.Image{URL: "https://m.media-amazon.com/images/I/41lhtest02S.jpg", Width: 56, Height: 75},
				Medium: products.Image{URL: "https://m.media-amazon.com/images/I/41lhtest02M.jpg", Width: 120, Height: 160},
				Large:  products.Image{URL: "https://m.media-amazon.com/images/I/41lhtest02L.jpg", Width: 375, Height: 500},
			},
			Price: "$13.50", Merchant: "Bright Corner Goods",
		},
		{
			ASIN: "B0LHTEST03", Title: "Architect Lamp Replacement Shade (no current offer)",
			URL:    "https://www.amazon.com/dp/B0LHTEST03?tag=ch_abc123-20&linkCode=osi&th=1&psc=1",
			Images: products.Images{Large: products.Image{URL: "https://m.media-amazon.com/images/I/41lhtest03L.jpg", Width: 500, Height: 500}},
		},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	if !got.HasMore() {
		t.Error("page 2 of 146 has no more")
	}
	reqs := srv.Requests()
	if len(reqs) != 1 {
		t.Fatalf("stand-in got %d signed requests, want 1", len(reqs))
	}
	wantBody := productstest.SearchItems{
		Keywords: "desk lamp", ItemCount: 10, ItemPage: 2, SortBy: "Price:LowToHigh", Availability: "Available",
		LanguagesOfPreference: []string{"en_US"}, Marketplace: "www.amazon.com", PartnerTag: "livehouse-20", PartnerType: "Associates",
		Resources: []string{"Images.Primary.Small", "Images.Primary.Medium", "Images.Primary.Large", "ItemInfo.Title", "Offers.Listings.Price", "Offers.Listings.MerchantInfo"},
	}
	if diff := cmp.Diff(wantBody, reqs[0].Body); diff != "" {
		t.Errorf("SearchItems request (-want +got):\n%s", diff)
	}
	if got, want := reqs[0].Header.Get("X-Amz-Date"), "20261202T060000Z"; got != want {
		t.Errorf("X-Amz-Date = %s, want %s", got, want)
	}
}

func TestSearchDefaults(t *testing.T) {
	c, srv := newClient(t, func(cfg *products.Config) { cfg.LinkRegionCode = "" })
	got, err := c.Search(context.Background(), products.SearchRequest{Keywords: "lamp", ChannelID: "ch_X"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Page != 1 || got.SortBy != "Relevance" || got.Items[0].URL != "https://www.amazon.com/dp/B0LHTEST01?tag=ch_x&linkCode=osi&th=1&psc=1" {
		t.Errorf("page %d, sort %s, first link %s; want 1, Relevance, tagged ch_x", got.Page, got.SortBy, got.Items[0].URL)
	}
	body := srv.Requests()[0].Body
	if body.ItemPage != 1 || body.SortBy != "Relevance" || body.LanguagesOfPreference != nil {
		t.Errorf("request page %d sort %s languages %v; want 1, Relevance, none", body.ItemPage, body.SortBy, body.LanguagesOfPreference)
	}
}

func TestSearchAnswers(t *testing.T) {
	tests := []struct {
		name  string
		reply productstest.Reply
		kind  error // nil: an empty page
		code  string
	}{
		{"no results", productstest.NoResults, nil, ""},
		{"no results as 404", productstest.Reply{Status: 404, Body: productstest.NoResults.Body}, nil, ""},
		{"throttled", productstest.TooManyRequests, products.ErrThrottled, "TooManyRequests"},
		{"unknown access key", productstest.UnrecognizedClient, products.ErrCredentials, "UnrecognizedClient"},
		{"access denied", productstest.AccessDenied, products.ErrCredentials, "AccessDenied"},
		{"invalid parameter", productstest.InvalidParameter, products.ErrRefused, "InvalidParameterValue"},
		{"internal failure", productstest.InternalFailure, products.ErrUpstream, "InternalFailure"},
		{"not JSON", productstest.Reply{Status: 502, Body: []byte("<html>Bad gateway</html>")}, products.ErrUpstream, "Unreadable"},
		{"200 without a result", productstest.Reply{Status: 200, Body: []byte(`{}`)}, products.ErrUpstream, "Unreadable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, srv := newClient(t)
			srv.Reply(tt.reply)
			got, err := c.Search(context.Background(), products.SearchRequest{Keywords: "lamp"})
			if tt.kind == nil {
				if err != nil || len(got.Items) != 0 || got.Total != 0 || got.HasMore() {
					t.Fatalf("got %+v, %v; want an empty last page", got, err)
				}
				return
			}
			if !errors.Is(err, tt.kind) {
				t.Fatalf("err = %v, want %v", err, tt.kind)
			}
			var apiErr *products.APIError
			if !errors.As(err, &apiErr) || apiErr.Code != tt.code || apiErr.Status != tt.reply.Status {
				t.Errorf("err = %#v, want an APIError %d %s", err, tt.reply.Status, tt.code)
			}
			if strings.Contains(err.Error(), productstest.AccessKey) || strings.Contains(err.Error(), productstest.SecretKey) {
				t.Errorf("error quotes a credential: %v", err)
			}
		})
	}
}

// TestSearchSignature: the stand-in refuses requests signed with the wrong keys, for the wrong
// region or at the wrong time, so the accepted ones prove the signature right.
func TestSearchSignature(t *testing.T) {
	tests := []struct {
		name string
		edit func(*products.Config)
		code string
	}{
		{"wrong secret key", func(c *products.Config) { c.SecretKey = "not-the-secret" }, "InvalidSignature"},
		{"wrong access key", func(c *products.Config) { c.AccessKey = "AKUNKNOWN" }, "UnrecognizedClient"},
		{"other region", func(c *products.Config) { c.Locale = "United Kingdom" }, "InvalidSignature"},
		{"clock off by an hour", func(c *products.Config) { c.Now = func() time.Time { return now.Add(time.Hour) } }, "InvalidSignature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, srv := newClient(t, tt.edit)
			_, err := c.Search(context.Background(), products.SearchRequest{Keywords: "lamp"})
			var apiErr *products.APIError
			if !errors.Is(err, products.ErrCredentials) || !errors.As(err, &apiErr) || apiErr.Code != tt.code {
				t.Fatalf("err = %v, want ErrCredentials %s", err, tt.code)
			}
			if n := len(srv.Requests()); n != 0 {
				t.Errorf("stand-in accepted %d requests", n)
			}
		})
	}
}

func TestSearchBadInput(t *testing.T) {
	tests := []struct {
		name  string
		req   products.SearchRequest
		code  string
		field string
	}{
		{"no keywords", products.SearchRequest{Keywords: "  "}, "MissingField", "keywords"},
		{"long keywords", products.SearchRequest{Keywords: strings.Repeat("é", 151)}, "InvalidKeywords", "keywords"},
		{"control characters", products.SearchRequest{Keywords: "lamp\x00"}, "InvalidKeywords", "keywords"},
		{"invalid UTF-8", products.SearchRequest{Keywords: "lamp\xff"}, "InvalidKeywords", "keywords"},
		{"unknown sort", products.SearchRequest{Keywords: "lamp", SortBy: "Cheapest"}, "InvalidSortBy", "sortBy"},
		{"sort in other case", products.SearchRequest{Keywords: "lamp", SortBy: "relevance"}, "InvalidSortBy", "sortBy"},
		{"page 11", products.SearchRequest{Keywords: "lamp", Page: 11}, "InvalidPage", "page"},
		{"page -1", products.SearchRequest{Keywords: "lamp", Page: -1}, "InvalidPage", "page"},
		{"language", products.SearchRequest{Keywords: "lamp", Language: "english"}, "InvalidLanguage", "language"},
	}
	c, srv := newClient(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Search(context.Background(), tt.req)
			p, ok := problem.As(err)
			if !ok || !errors.Is(err, problem.ErrInvalid) || p.Code != tt.code || p.Field != tt.field {
				t.Fatalf("err = %v, want invalid %s on %s", err, tt.code, tt.field)
			}
		})
	}
	if _, err := c.Search(context.Background(), products.SearchRequest{Keywords: strings.Repeat("é", 150)}); err != nil {
		t.Errorf("150 characters: %v", err)
	}
	if n := srv.Calls(); n != 1 {
		t.Errorf("stand-in got %d calls, want only the valid one", n)
	}
}

func TestSearchUnreachable(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	c, err := products.NewClient(products.Config{AccessKey: "a", SecretKey: "s", PartnerTag: "p", Endpoint: closed.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Search(context.Background(), products.SearchRequest{Keywords: "lamp"}); !errors.Is(err, products.ErrUpstream) {
		t.Errorf("err = %v, want ErrUpstream", err)
	}
}

func TestNewClient(t *testing.T) {
	ok := products.Config{AccessKey: "a", SecretKey: "s", PartnerTag: "p"}
	tests := []struct {
		name string
		edit func(*products.Config)
		want string // in the error; "" = accepted
	}{
		{"defaults", func(*products.Config) {}, ""},
		{"unknown locale", func(c *products.Config) { c.Locale = "Atlantis" }, "unknown locale"},
		{"no access key", func(c *products.Config) { c.AccessKey = "" }, "required"},
		{"no secret key", func(c *products.Config) { c.SecretKey = "" }, "required"},
		{"no partner tag", func(c *products.Config) { c.PartnerTag = "" }, "required"},
		{"region code with a dash", func(c *products.Config) { c.LinkRegionCode = "-20" }, "region code"},
		{"endpoint not a URL", func(c *products.Config) { c.Endpoint = "localhost:1" }, "endpoint"},
	}
	for _, tt := range tests {
		cfg := ok
		tt.edit(&cfg)
		_, err := products.NewClient(cfg)
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
	}
	c, _ := products.NewClient(ok)
	if got := c.Marketplace().Name; got != "United States" {
		t.Errorf("default marketplace %s, want United States", got)
	}
}

func TestLocales(t *testing.T) {
	if n := len(products.Locales()); n != 21 {
		t.Errorf("%d locales, want the reference's 21", n)
	}
	tests := []struct {
		name string
		want products.Marketplace
	}{
		{"", products.Marketplace{Name: "United States", Host: "webservices.amazon.com", Region: "us-east-1", Domain: "www.amazon.com"}},
		{"united kingdom", products.Marketplace{Name: "United Kingdom", Host: "webservices.amazon.co.uk", Region: "eu-west-1", Domain: "www.amazon.co.uk"}},
		{" Japan ", products.Marketplace{Name: "Japan", Host: "webservices.amazon.co.jp", Region: "us-west-2", Domain: "www.amazon.co.jp"}},
		{"Brazil", products.Marketplace{Name: "Brazil", Host: "webservices.amazon.com.br", Region: "us-east-1", Domain: "www.amazon.com.br"}},
		{"United Arab Emirates", products.Marketplace{Name: "United Arab Emirates", Host: "webservices.amazon.ae", Region: "eu-west-1", Domain: "www.amazon.ae"}},
	}
	for _, tt := range tests {
		got, ok := products.LookupLocale(tt.name)
		if diff := cmp.Diff(tt.want, got); !ok || diff != "" {
			t.Errorf("LookupLocale(%q) (-want +got):\n%s", tt.name, diff)
		}
	}
	for _, name := range []string{"USA", "United-States", "Atlantis"} {
		if _, ok := products.LookupLocale(name); ok {
			t.Errorf("LookupLocale(%q) found a marketplace", name)
		}
	}
}

func TestTrackingID(t *testing.T) {
	for _, tt := range []struct{ channel, region, want string }{
		{"ch_AbC", "20", "ch_abc-20"},
		{"ch_AbC", "", "ch_abc"},
	} {
		if got := products.TrackingID(tt.channel, tt.region); got != tt.want {
			t.Errorf("TrackingID(%q, %q) = %q, want %q", tt.channel, tt.region, got, tt.want)
		}
	}
}

// TestProductLinks: the tracking id replaces the tag wherever it is, or is added; links that
// are not http(s) are dropped rather than put in front of viewers.
func TestProductLinks(t *testing.T) {
	tests := []struct{ link, want string }{
		{"https://www.amazon.com/dp/B01?tag=x-20&th=1", "https://www.amazon.com/dp/B01?tag=ch_a-20&th=1"},
		{"https://www.amazon.com/dp/B01?th=1&tag=x-20", "https://www.amazon.com/dp/B01?th=1&tag=ch_a-20"},
		{"https://www.amazon.com/dp/B01?th=1&tags=keep", "https://www.amazon.com/dp/B01?th=1&tags=keep&tag=ch_a-20"},
		{"https://www.amazon.com/dp/B01", "https://www.amazon.com/dp/B01?tag=ch_a-20"},
		{"javascript:alert(1)", ""},
		{"", ""},
	}
	for _, tt := range tests {
		c, srv := newClient(t)
		body := strings.Replace(string(productstest.Found.Body), "https://www.amazon.com/dp/B0LHTEST01?tag=livehouse-20&linkCode=osi&th=1&psc=1", tt.link, 1)
		srv.Reply(productstest.Reply{Status: 200, Body: []byte(body)})
		got, err := c.Search(context.Background(), products.SearchRequest{Keywords: "lamp", ChannelID: "ch_A"})
		if err != nil {
			t.Fatal(err)
		}
		if got.Items[0].URL != tt.want {
			t.Errorf("%q became %q, want %q", tt.link, got.Items[0].URL, tt.want)
		}
	}
}

// FuzzSearchAnswer feeds arbitrary answers to the client: it must return a page or an error
// of a known kind, never panic.
func FuzzSearchAnswer(f *testing.F) {
	files, _ := filepath.Glob("productstest/recordings/*.json")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(200, b)
		f.Add(400, b)
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 200 || status > 599 {
			return
		}
		answer := roundTrip(func(r *http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: status, Body: io.NopCloser(bytes.NewReader(body)), Header: http.Header{}, Request: r}, nil
		})
		c, err := products.NewClient(products.Config{AccessKey: "a", SecretKey: "s", PartnerTag: "p", HTTP: &http.Client{Transport: answer}})
		if err != nil {
			t.Fatal(err)
		}
		res, err := c.Search(context.Background(), products.SearchRequest{Keywords: "lamp", ChannelID: "ch_a"})
		switch {
		case err == nil:
			if res.Items == nil {
				t.Fatal("a page with a nil item list")
			}
		case !errors.Is(err, products.ErrThrottled) && !errors.Is(err, products.ErrCredentials) &&
			!errors.Is(err, products.ErrRefused) && !errors.Is(err, products.ErrUpstream):
			t.Fatalf("error of no known kind: %v", err)
		}
	})
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
