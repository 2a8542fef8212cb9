// Package products finds Amazon products for the Amazon product stream action: a client of
// the Product Advertising API 5.0 SearchItems operation, signed with AWS Signature Version 4.
// It knows nothing of users or channels; the caller names the channel whose affiliate
// tracking id the product links must carry.
package products

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/livehouse/livehouse/internal/problem"
)

// Limits of a search.
const (
	PageSize    = 10  // products per page (ItemCount), as in the reference
	MaxPage     = 10  // PA-API serves pages 1 to 10
	MaxKeywords = 150 // characters, the reference's limit on the keyword field
)

const (
	service      = "ProductAdvertisingAPI"
	searchPath   = "/paapi5/searchitems"
	searchTarget = "com.amazon.paapi5.v1.ProductAdvertisingAPIv1.SearchItems"
	maxResponse  = 4 << 20
)

// resources are the parts of each item the search asks for: what the overlay shows.
var resources = []string{
	"Images.Primary.Small",
	"Images.Primary.Medium",
	"Images.Primary.Large",
	"ItemInfo.Title",
	"Offers.Listings.Price",
	"Offers.Listings.MerchantInfo",
}

// Kinds of failure, for errors.Is. A failed search returns an *APIError of one of these
// kinds, or ErrUpstream wrapping a transport error.
var (
	// ErrThrottled: PA-API refused the request for exceeding the account's request rate.
	ErrThrottled = errors.New("products: throttled by the Product Advertising API")
	// ErrCredentials: PA-API refused the access key, the signature or the partner tag. The
	// operator must fix the amazon_product settings.
	ErrCredentials = errors.New("products: credentials refused by the Product Advertising API")
	// ErrRefused: PA-API refused a parameter of the search itself.
	ErrRefused = errors.New("products: search refused by the Product Advertising API")
	// ErrUpstream: anything else: PA-API failed, answered something unreadable, or could not
	// be reached.
	ErrUpstream = errors.New("products: the Product Advertising API failed")
)

// APIError is an error answer of PA-API. Its message has the credentials blanked out, as
// some PA-API messages quote the access key.
type APIError struct {
	Kind    error  // ErrThrottled, ErrCredentials, ErrRefused or ErrUpstream
	Status  int    // HTTP status of the answer
	Code    string // PA-API's error code, e.g. TooManyRequests, InvalidSignature
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%v: HTTP %d %s: %s", e.Kind, e.Status, e.Code, e.Message)
}

func (e *APIError) Unwrap() error { return e.Kind }

// Config is what a Client needs. The keys come from the operator's Product Advertising API
// account; PartnerTag is the store's tracking id that PA-API credits.
type Config struct {
	Locale         string // marketplace name (see Locales); empty = DefaultLocale
	LinkRegionCode string // suffix of the tracking ids in product links, e.g. "20"; may be empty
	AccessKey      string
	SecretKey      string
	PartnerTag     string

	Endpoint string           // base URL to send requests to instead of https://<marketplace host>
	HTTP     *http.Client     // nil = a client with a 10 s timeout
	Now      func() time.Time // nil = time.Now; the signing clock
}

// Client searches one marketplace. It is safe for concurrent use.
type Client struct {
	market     Marketplace
	regionCode string
	partnerTag string
	sig        signer
	endpoint   string
	http       *http.Client
	now        func() time.Time
}

var regionCodeRE = regexp.MustCompile(`^[A-Za-z0-9]{0,8}$`)

// NewClient checks the configuration and returns a client for its marketplace.
func NewClient(cfg Config) (*Client, error) {
	market, ok := LookupLocale(cfg.Locale)
	if !ok {
		return nil, fmt.Errorf("products: unknown locale %q; use one of %s", cfg.Locale, strings.Join(Locales(), ", "))
	}
	if cfg.AccessKey == "" || cfg.SecretKey == "" || cfg.PartnerTag == "" {
		return nil, errors.New("products: the access key, secret key and partner tag are all required")
	}
	if !regionCodeRE.MatchString(cfg.LinkRegionCode) {
		return nil, fmt.Errorf("products: link region code %q is not up to 8 letters and digits", cfg.LinkRegionCode)
	}
	endpoint := strings.TrimSuffix(cfg.Endpoint, "/")
	if endpoint == "" {
		endpoint = "https://" + market.Host
	}
	if u, err := url.Parse(endpoint); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("products: endpoint %q is not an http(s) URL", cfg.Endpoint)
	}
	c := &Client{
		market:     market,
		regionCode: cfg.LinkRegionCode,
		partnerTag: cfg.PartnerTag,
		sig:        signer{accessKey: cfg.AccessKey, secretKey: cfg.SecretKey, region: market.Region, service: service},
		endpoint:   endpoint,
		http:       cfg.HTTP,
		now:        cfg.Now,
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: 10 * time.Second}
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

// Marketplace is the store the client searches.
func (c *Client) Marketplace() Marketplace { return c.market }

// TrackingID is the affiliate tracking id of a channel's product links, as the reference
// builds it: the channel id in lower case, then "-" and the region code if there is one.
func TrackingID(channelID, regionCode string) string {
	id := strings.ToLower(channelID)
	if regionCode != "" {
		id += "-" + regionCode
	}
	return id
}

// SearchRequest is one page of a keyword search.
type SearchRequest struct {
	Keywords  string
	SortBy    string // one of SortOptions; empty = SortRelevance
	Page      int    // 1 to MaxPage; 0 = 1
	Language  string // optional language of preference, e.g. en_US
	ChannelID string // whose tracking id the product links carry; empty leaves them as PA-API sent them
}

// Result is one page of products.
type Result struct {
	Keywords string
	SortBy   string
	Page     int
	Total    int // products matching in all, as PA-API counts them
	Items    []Item
}

// HasMore reports whether a further page can be asked for.
func (r *Result) HasMore() bool { return r.Page < MaxPage && r.Page*PageSize < r.Total }

// Item is one product. Fields PA-API did not send are empty.
type Item struct {
	ASIN     string
	Title    string
	URL      string // the product's detail page, carrying the tracking id
	Images   Images
	Price    string // display price of the first offer, e.g. "$24.99"
	Merchant string // seller of the first offer
}

// Images are a product's primary picture in three sizes.
type Images struct {
	Small, Medium, Large Image
}

// Image is one picture.
type Image struct {
	URL           string
	Width, Height int
}

var languageRE = regexp.MustCompile(`^[a-z]{2}_[A-Z]{2}$`)

// normalize trims and defaults the request, or says which input is wrong.
func (r SearchRequest) normalize() (SearchRequest, error) {
	r.Keywords = strings.TrimSpace(r.Keywords)
	switch {
	case r.Keywords == "":
		return r, problem.Invalid("MissingField", "keywords", "keywords is required.")
	case !utf8.ValidString(r.Keywords) || strings.ContainsFunc(r.Keywords, unicode.IsControl):
		return r, problem.Invalid("InvalidKeywords", "keywords", "keywords must be plain text.")
	case utf8.RuneCountInString(r.Keywords) > MaxKeywords:
		return r, problem.Invalid("InvalidKeywords", "keywords", fmt.Sprintf("keywords must be at most %d characters.", MaxKeywords))
	}
	if r.SortBy == "" {
		r.SortBy = SortRelevance
	}
	valid := false
	for _, s := range SortOptions {
		valid = valid || s == r.SortBy
	}
	if !valid {
		return r, problem.Invalid("InvalidSortBy", "sortBy", "sortBy must be one of "+strings.Join(SortOptions, ", ")+".")
	}
	if r.Page == 0 {
		r.Page = 1
	}
	if r.Page < 1 || r.Page > MaxPage {
		return r, problem.Invalid("InvalidPage", "page", fmt.Sprintf("page must be a whole number from 1 to %d.", MaxPage))
	}
	if r.Language != "" && !languageRE.MatchString(r.Language) {
		return r, problem.Invalid("InvalidLanguage", "language", "language must look like en_US.")
	}
	return r, nil
}

// searchItemsRequest is the body of a SearchItems call.
type searchItemsRequest struct {
	Keywords              string   `json:"Keywords"`
	ItemCount             int      `json:"ItemCount"`
	ItemPage              int      `json:"ItemPage"`
	SortBy                string   `json:"SortBy"`
	Availability          string   `json:"Availability"`
	LanguagesOfPreference []string `json:"LanguagesOfPreference,omitempty"`
	Marketplace           string   `json:"Marketplace"`
	PartnerTag            string   `json:"PartnerTag"`
	PartnerType           string   `json:"PartnerType"`
	Resources             []string `json:"Resources"`
}

// Search asks PA-API for one page of products. Bad input is a *problem.Problem and sends
// nothing; a failed call is an error of one of the kinds above.
func (c *Client) Search(ctx context.Context, req SearchRequest) (*Result, error) {
	req, err := req.normalize()
	if err != nil {
		return nil, err
	}
	call := searchItemsRequest{
		Keywords: req.Keywords, ItemCount: PageSize, ItemPage: req.Page, SortBy: req.SortBy,
		Availability: "Available", Marketplace: c.market.Domain,
		PartnerTag: c.partnerTag, PartnerType: "Associates", Resources: resources,
	}
	if req.Language != "" {
		call.LanguagesOfPreference = []string{req.Language}
	}
	body, err := json.Marshal(call)
	if err != nil {
		return nil, err
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint+searchPath, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	hreq.Header.Set("Content-Type", "application/json; charset=utf-8")
	hreq.Header.Set("Content-Encoding", "amz-1.0")
	hreq.Header.Set("X-Amz-Target", searchTarget)
	c.sig.sign(hreq, body, c.now())
	res, err := c.http.Do(hreq)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUpstream, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, maxResponse))
	if err != nil {
		return nil, fmt.Errorf("%w: reading the answer: %w", ErrUpstream, err)
	}
	page, err := parseSearchItems(res.StatusCode, raw)
	if err != nil {
		return nil, c.redact(err)
	}
	out := &Result{Keywords: req.Keywords, SortBy: req.SortBy, Page: req.Page, Total: page.total, Items: page.items}
	if req.ChannelID != "" {
		tag := TrackingID(req.ChannelID, c.regionCode)
		for i := range out.Items {
			out.Items[i].URL = withTag(out.Items[i].URL, tag)
		}
	}
	return out, nil
}

// redact blanks the credentials out of an error's message.
func (c *Client) redact(err error) error {
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		for _, secret := range []string{c.sig.accessKey, c.sig.secretKey} {
			apiErr.Message = strings.ReplaceAll(apiErr.Message, secret, "[redacted]")
		}
	}
	return err
}

// searchItemsResponse is the part of a SearchItems answer the overlay uses; error answers
// carry Errors instead of SearchResult.
type searchItemsResponse struct {
	SearchResult *struct {
		TotalResultCount int       `json:"TotalResultCount"`
		Items            []apiItem `json:"Items"`
	} `json:"SearchResult"`
	Errors []struct {
		Code    string `json:"Code"`
		Message string `json:"Message"`
	} `json:"Errors"`
}

type apiItem struct {
	ASIN          string `json:"ASIN"`
	DetailPageURL string `json:"DetailPageURL"`
	Images        struct {
		Primary struct {
			Small, Medium, Large apiImage
		} `json:"Primary"`
	} `json:"Images"`
	ItemInfo struct {
		Title struct {
			DisplayValue string `json:"DisplayValue"`
		} `json:"Title"`
	} `json:"ItemInfo"`
	Offers struct {
		Listings []struct {
			Price struct {
				DisplayAmount string `json:"DisplayAmount"`
			} `json:"Price"`
			MerchantInfo struct {
				Name string `json:"Name"`
			} `json:"MerchantInfo"`
		} `json:"Listings"`
	} `json:"Offers"`
}

type apiImage struct {
	URL    string `json:"URL"`
	Width  int    `json:"Width"`
	Height int    `json:"Height"`
}

type searchPage struct {
	total int
	items []Item
}

// parseSearchItems reads an answer of PA-API. "No results" is an empty page, not an error:
// PA-API reports it in Errors, with status 200 or 404.
func parseSearchItems(status int, raw []byte) (searchPage, error) {
	var r searchItemsResponse
	jsonErr := json.Unmarshal(raw, &r)
	if status == http.StatusOK && jsonErr == nil && r.SearchResult != nil {
		page := searchPage{total: r.SearchResult.TotalResultCount, items: make([]Item, 0, len(r.SearchResult.Items))}
		for _, it := range r.SearchResult.Items {
			page.items = append(page.items, it.item())
		}
		page.total = max(page.total, len(page.items))
		return page, nil
	}
	e := &APIError{Kind: ErrUpstream, Status: status}
	if jsonErr == nil && len(r.Errors) > 0 {
		e.Code, e.Message = r.Errors[0].Code, r.Errors[0].Message
	} else {
		e.Code, e.Message = "Unreadable", "the answer is not a SearchItems result"
	}
	switch {
	case e.Code == "NoResults" && (status == http.StatusOK || status == http.StatusNotFound):
		return searchPage{items: []Item{}}, nil
	case status == http.StatusTooManyRequests || e.Code == "TooManyRequests":
		e.Kind = ErrThrottled
	case status == http.StatusUnauthorized || status == http.StatusForbidden,
		e.Code == "InvalidPartnerTag", e.Code == "InvalidAssociate", e.Code == "UnrecognizedClient":
		e.Kind = ErrCredentials
	case status == http.StatusBadRequest && e.Code == "InvalidParameterValue":
		e.Kind = ErrRefused
	}
	return searchPage{}, e
}

func (it apiItem) item() Item {
	out := Item{
		ASIN:  it.ASIN,
		Title: it.ItemInfo.Title.DisplayValue,
		URL:   webURL(it.DetailPageURL),
		Images: Images{
			Small:  it.Images.Primary.Small.image(),
			Medium: it.Images.Primary.Medium.image(),
			Large:  it.Images.Primary.Large.image(),
		},
	}
	if len(it.Offers.Listings) > 0 {
		out.Price = it.Offers.Listings[0].Price.DisplayAmount
		out.Merchant = it.Offers.Listings[0].MerchantInfo.Name
	}
	return out
}

func (im apiImage) image() Image {
	return Image{URL: webURL(im.URL), Width: im.Width, Height: im.Height}
}

// webURL keeps only http(s) URLs: these links end up in every viewer's page.
func webURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return ""
	}
	return s
}

// withTag sets the link's tag parameter to the tracking id, leaving the other parameters as
// they were, in their order.
func withTag(link, tag string) string {
	u, err := url.Parse(link)
	if err != nil || link == "" {
		return link
	}
	var params []string
	if u.RawQuery != "" {
		params = strings.Split(u.RawQuery, "&")
	}
	set := "tag=" + url.QueryEscape(tag)
	found := false
	for i, p := range params {
		if p == "tag" || strings.HasPrefix(p, "tag=") {
			params[i], found = set, true
		}
	}
	if !found {
		params = append(params, set)
	}
	u.RawQuery = strings.Join(params, "&")
	return u.String()
}
