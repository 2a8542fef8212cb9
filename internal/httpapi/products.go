package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/livehouse/livehouse/internal/channels"
	"github.com/livehouse/livehouse/internal/problem"
	"github.com/livehouse/livehouse/internal/products"
)

// ProductSearcher finds Amazon products for the Amazon product stream action.
type ProductSearcher interface {
	Search(ctx context.Context, req products.SearchRequest) (*products.Result, error)
}

// productJSON is one search result, shaped as the reference's so that the web app can put it
// into an amazon_product action (productChoice) as it is. Absent values are null.
type productJSON struct {
	ASIN         string        `json:"asin"`
	Title        string        `json:"title"`
	ProductURL   string        `json:"productURL"`
	Images       productImages `json:"images"`
	Price        productPrice  `json:"price"`
	MerchantInfo *string       `json:"merchantInfo"`
}

type productImages struct {
	Small  productImage `json:"small"`
	Medium productImage `json:"medium"`
	Large  productImage `json:"large"`
}

type productImage struct {
	URL    *string `json:"url"`
	Width  int     `json:"width,omitempty"`
	Height int     `json:"height,omitempty"`
}

type productPrice struct {
	DisplayAmount *string `json:"displayAmount"`
}

type productPage struct {
	Keyword     string        `json:"keyword"`
	SortBy      string        `json:"sortBy"`
	Page        int           `json:"page"`
	PageSize    int           `json:"pageSize"`
	SearchCount int           `json:"searchCount"`
	HasMore     bool          `json:"hasMore"`
	Items       []productJSON `json:"items"`
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func productImageOf(im products.Image) productImage {
	return productImage{URL: nullable(im.URL), Width: im.Width, Height: im.Height}
}

// handleProductSearch is GET /api/products: a page of Amazon products for the caller to feature
// on their own stream, with links that carry their channel's tracking id.
func handleProductSearch(search ProductSearcher, ch *channels.Service, log *slog.Logger) http.Handler {
	return withoutBody(log, func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		if search == nil {
			return 0, nil, problem.NotFound("AmazonProductDisabled", "Amazon product search is not enabled on this server.")
		}
		q := r.URL.Query()
		req := products.SearchRequest{Keywords: q.Get("keywords"), SortBy: q.Get("sortBy"), Language: q.Get("language")}
		if s := q.Get("page"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 { // 0 would mean the default page to the client
				return 0, nil, problem.Invalid("InvalidPage", "page", "page must be a whole number from 1 to "+strconv.Itoa(products.MaxPage)+".")
			}
			req.Page = n
		}
		own, err := ch.ForOwner(r.Context(), currentUser(r).ID)
		if err != nil {
			return 0, nil, err
		}
		req.ChannelID = own.ID
		res, err := search.Search(r.Context(), req)
		if err != nil {
			return 0, nil, productProblem(r, log, err)
		}
		out := productPage{
			Keyword: res.Keywords, SortBy: res.SortBy, Page: res.Page, PageSize: products.PageSize,
			SearchCount: res.Total, HasMore: res.HasMore(), Items: make([]productJSON, 0, len(res.Items)),
		}
		for _, it := range res.Items {
			out.Items = append(out.Items, productJSON{
				ASIN: it.ASIN, Title: it.Title, ProductURL: it.URL,
				Images:       productImages{Small: productImageOf(it.Images.Small), Medium: productImageOf(it.Images.Medium), Large: productImageOf(it.Images.Large)},
				Price:        productPrice{DisplayAmount: nullable(it.Price)},
				MerchantInfo: nullable(it.Merchant),
			})
		}
		return http.StatusOK, out, nil
	})
}

// productProblem tells the streamer what they can do about a failed search, and the operator
// (in the log) what went wrong. Search errors carry no credentials.
func productProblem(r *http.Request, log *slog.Logger, err error) error {
	if _, ok := problem.As(err); ok {
		return err
	}
	var apiErr *products.APIError
	switch {
	case errors.Is(err, products.ErrThrottled):
		log.WarnContext(r.Context(), "amazon product search throttled", "err", err)
		return problem.Throttled("TooManyRequests", "Amazon is limiting product searches right now. Try again in a moment.", time.Second)
	case errors.Is(err, products.ErrRefused) && errors.As(err, &apiErr):
		return problem.Invalid("InvalidSearch", "", "Amazon did not accept this search: "+apiErr.Message)
	case errors.Is(err, products.ErrCredentials):
		log.ErrorContext(r.Context(), "amazon product search refused this server's credentials; check the amazon_product settings", "err", err)
	case r.Context().Err() != nil:
		// The caller went away; nobody reads the answer and nothing is wrong.
	default:
		log.ErrorContext(r.Context(), "amazon product search failed", "err", err)
	}
	return &problem.Problem{Kind: errBadGateway, Code: "ProductSearchFailed", Message: "Amazon product search is not available right now. Try again later."}
}
