package httpapi

import (
	"context"
	_ "embed"
	"net/http"
	"time"

	"github.com/livehouse/livehouse/internal/channels"
)

//go:embed openapi.json
var openAPI []byte

func handleOpenAPI() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(openAPI)
	})
}

// handleClientConfig tells the web app what this server offers.
func handleClientConfig(c Config, amazonProduct bool) http.Handler {
	type response struct {
		Stage                string   `json:"stage"`
		AutoVerify           bool     `json:"autoVerify"`
		ChannelType          string   `json:"channelType"`
		SignUpAllowedDomains []string `json:"signUpAllowedDomains"`
		Colors               []string `json:"colors"`
		Avatars              []string `json:"avatars"`
		AmazonProduct        bool     `json:"amazonProduct"`
		Version              string   `json:"version"`
	}
	body := response{
		Stage: c.Stage, AutoVerify: c.AutoVerify, ChannelType: c.ChannelType, SignUpAllowedDomains: c.AllowedDomains,
		Colors: channels.Colors, Avatars: channels.Avatars, AmazonProduct: amazonProduct, Version: c.Version,
	}
	if body.SignUpAllowedDomains == nil {
		body.SignUpAllowedDomains = []string{}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { encode(w, http.StatusOK, body) })
}

// handleHealthz reports each dependency; any failure makes the answer 503 so a load balancer
// takes the node out.
func handleHealthz(checks []Check) http.Handler {
	type response struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		res := response{Status: "ok", Checks: map[string]string{}}
		status := http.StatusOK
		for _, c := range checks {
			if err := c.Ping(ctx); err != nil {
				res.Checks[c.Name] = err.Error()
				res.Status, status = "unavailable", http.StatusServiceUnavailable
				continue
			}
			res.Checks[c.Name] = "ok"
		}
		encode(w, status, res)
	})
}
