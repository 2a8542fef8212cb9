package products

import (
	"slices"
	"strings"
)

// Marketplace is one Amazon store the Product Advertising API serves: where to send requests
// (Host, signed for Region) and which store to search (Domain, sent as the Marketplace
// parameter).
type Marketplace struct {
	Name   string // the locale's name, as operators configure it, e.g. "United Kingdom"
	Host   string // API host, e.g. webservices.amazon.co.uk
	Region string // AWS region the requests are signed for, e.g. eu-west-1
	Domain string // the store, e.g. www.amazon.co.uk
}

// DefaultLocale is the marketplace used when none is configured, as in the reference.
const DefaultLocale = "United States"

// marketplaces are the reference's 21 PA-API locales. The API host is the store's domain
// with webservices in place of www; the region is the one PA-API signs that host for.
var marketplaces = []Marketplace{
	market("Australia", "amazon.com.au", "us-west-2"),
	market("Belgium", "amazon.com.be", "eu-west-1"),
	market("Brazil", "amazon.com.br", "us-east-1"),
	market("Canada", "amazon.ca", "us-east-1"),
	market("Egypt", "amazon.eg", "eu-west-1"),
	market("France", "amazon.fr", "eu-west-1"),
	market("Germany", "amazon.de", "eu-west-1"),
	market("India", "amazon.in", "eu-west-1"),
	market("Italy", "amazon.it", "eu-west-1"),
	market("Japan", "amazon.co.jp", "us-west-2"),
	market("Mexico", "amazon.com.mx", "us-east-1"),
	market("Netherlands", "amazon.nl", "eu-west-1"),
	market("Poland", "amazon.pl", "eu-west-1"),
	market("Saudi Arabia", "amazon.sa", "eu-west-1"),
	market("Singapore", "amazon.sg", "us-west-2"),
	market("Spain", "amazon.es", "eu-west-1"),
	market("Sweden", "amazon.se", "eu-west-1"),
	market("Turkey", "amazon.com.tr", "eu-west-1"),
	market("United Arab Emirates", "amazon.ae", "eu-west-1"),
	market("United Kingdom", "amazon.co.uk", "eu-west-1"),
	market("United States", "amazon.com", "us-east-1"),
}

func market(name, domain, region string) Marketplace {
	return Marketplace{Name: name, Host: "webservices." + domain, Region: region, Domain: "www." + domain}
}

// Locales returns the names of the supported marketplaces, in alphabetical order.
func Locales() []string {
	names := make([]string, len(marketplaces))
	for i, m := range marketplaces {
		names[i] = m.Name
	}
	return names
}

// LookupLocale finds a marketplace by its name, ignoring case and surrounding space; an empty
// name is DefaultLocale. Unlike the reference, an unknown name is not silently replaced by the
// United States: an affiliate account belongs to one marketplace, and searching another one
// would only fail later and less clearly.
func LookupLocale(name string) (Marketplace, bool) {
	name = strings.TrimSpace(name)
	if name == "" {
		name = DefaultLocale
	}
	i := slices.IndexFunc(marketplaces, func(m Marketplace) bool { return strings.EqualFold(m.Name, name) })
	if i < 0 {
		return Marketplace{}, false
	}
	return marketplaces[i], true
}

// Sort orders, as PA-API's SortBy values; the first is the default. These are the reference's
// sort categories.
const (
	SortRelevance      = "Relevance"
	SortNewestArrivals = "NewestArrivals"
	SortPriceLowToHigh = "Price:LowToHigh"
	SortPriceHighToLow = "Price:HighToLow"
	SortFeatured       = "Featured"
)

// SortOptions lists the accepted sort orders, the default first.
var SortOptions = []string{SortRelevance, SortNewestArrivals, SortPriceLowToHigh, SortPriceHighToLow, SortFeatured}
