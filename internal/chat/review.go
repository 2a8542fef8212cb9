package chat

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// ReviewBudget is how long a message review may take before the fallback applies, as the
// managed service sets it.
const ReviewBudget = 200 * time.Millisecond

// ReviewRequest is what a review handler receives: the IVS message-review shape.
type ReviewRequest struct {
	Content    string            `json:"Content"`
	MessageID  string            `json:"MessageId"`
	RoomArn    string            `json:"RoomArn"`
	Attributes map[string]string `json:"Attributes"`
	Sender     struct {
		Attributes map[string]string `json:"Attributes"`
		UserID     string            `json:"UserId"`
		IP         string            `json:"Ip"`
	} `json:"Sender"`
}

// ReviewResponse is a review handler's answer. ALLOW may rewrite the content and attributes.
type ReviewResponse struct {
	ReviewResult string            `json:"ReviewResult"`
	Content      string            `json:"Content"`
	Attributes   map[string]string `json:"Attributes"`
}

// Reviewer decides on a message before it is fanned out.
type Reviewer interface {
	Review(ctx context.Context, req *ReviewRequest) (*ReviewResponse, error)
}

// WordFilter denies messages containing any of its words (whole words, any case).
type WordFilter struct{ re *regexp.Regexp }

// NewWordFilter returns a filter for the words; nil if there are none.
func NewWordFilter(words []string) *WordFilter {
	var quoted []string
	for _, w := range words {
		if w = strings.TrimSpace(w); w != "" {
			quoted = append(quoted, regexp.QuoteMeta(w))
		}
	}
	if len(quoted) == 0 {
		return nil
	}
	return &WordFilter{re: regexp.MustCompile(`(?i)\b(` + strings.Join(quoted, "|") + `)\b`)}
}

// Review allows or denies by the word list.
func (f *WordFilter) Review(_ context.Context, req *ReviewRequest) (*ReviewResponse, error) {
	if f.re.MatchString(req.Content) {
		return &ReviewResponse{ReviewResult: "DENY"}, nil
	}
	return &ReviewResponse{ReviewResult: "ALLOW", Content: req.Content, Attributes: req.Attributes}, nil
}

// Webhook asks an HTTP endpoint, which answers as an IVS review handler would.
type Webhook struct {
	URL    string
	Client *http.Client
}

// Review posts the request and reads the verdict; a malformed verdict is an error.
func (w *Webhook) Review(ctx context.Context, req *ReviewRequest) (*ReviewResponse, error) {
	body, _ := json.Marshal(req)
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	hr.Header.Set("Content-Type", "application/json")
	client := w.Client
	if client == nil {
		client = http.DefaultClient
	}
	res, err := client.Do(hr)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("review handler answered %d", res.StatusCode)
	}
	var out ReviewResponse
	if err := json.NewDecoder(http.MaxBytesReader(nil, res.Body, 16<<10)).Decode(&out); err != nil {
		return nil, fmt.Errorf("review handler's answer: %w", err)
	}
	if out.ReviewResult != "ALLOW" && out.ReviewResult != "DENY" {
		return nil, fmt.Errorf("review handler's answer %q is neither ALLOW nor DENY", out.ReviewResult)
	}
	return &out, nil
}

// review runs the reviewers in turn, each within the budget (every one must allow; each may
// rewrite for the next); a reviewer that fails or is late counts as the
// fallback verdict.
func (h *Hub) review(ctx context.Context, req *ReviewRequest) (allowed bool, content string, attrs map[string]string) {
	content, attrs = req.Content, req.Attributes
	for _, r := range h.reviewers {
		ctx, cancel := context.WithTimeout(ctx, cmp.Or(h.reviewBudget, ReviewBudget))
		res, err := r.Review(ctx, req)
		cancel()
		if err != nil {
			h.log.Warn("message review failed; using the fallback", "fallback_allow", h.reviewFallbackAllow, "err", err)
			if !h.reviewFallbackAllow {
				return false, "", nil
			}
			continue
		}
		if res.ReviewResult == "DENY" {
			return false, "", nil
		}
		if rewritten := cmp.Or(res.Content, req.Content); rewritten != req.Content || res.Attributes != nil {
			attrs := req.Attributes
			if res.Attributes != nil {
				attrs = res.Attributes
			}
			if err := ValidateMessage(rewritten, attrs); err != nil {
				// A rewrite is held to the sender's limits, or the room would keep and send
				// whatever a review handler returns.
				h.log.Warn("message review rewrote the message past the limits; using the fallback", "fallback_allow", h.reviewFallbackAllow, "err", err)
				if !h.reviewFallbackAllow {
					return false, "", nil
				}
				continue
			}
		}
		if res.Content != "" {
			content, req.Content = res.Content, res.Content
		}
		if res.Attributes != nil {
			attrs, req.Attributes = res.Attributes, res.Attributes
		}
	}
	return true, content, attrs
}

// SetReview installs the reviewers and what happens when one fails: ALLOW (true) or DENY.
func (h *Hub) SetReview(fallbackAllow bool, reviewers ...Reviewer) {
	h.reviewFallbackAllow = fallbackAllow
	for _, r := range reviewers {
		if r != nil {
			h.reviewers = append(h.reviewers, r)
		}
	}
}
