package main

import (
	"testing"

	"github.com/livehouse/livehouse/internal/config"
	"github.com/livehouse/livehouse/internal/products"
)

// TestProductSearchWiring: the feature is off unless enabled, and on it searches the
// configured marketplace.
func TestProductSearchWiring(t *testing.T) {
	t.Parallel()
	if s, err := productSearch(config.AmazonProduct{AccessKey: "a", SecretKey: "s", PartnerTag: "p"}); s != nil || err != nil {
		t.Errorf("disabled: %v, %v; want nil, nil", s, err)
	}
	s, err := productSearch(config.AmazonProduct{Enabled: true, Locale: "Germany", LinkRegionCode: "21", AccessKey: "a", SecretKey: "s", PartnerTag: "p-21"})
	c, ok := s.(*products.Client)
	if err != nil || !ok || c.Marketplace().Host != "webservices.amazon.de" {
		t.Fatalf("enabled: %v, %v; want a client for webservices.amazon.de", s, err)
	}
}
