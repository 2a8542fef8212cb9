package channels

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/livehouse/livehouse/internal/problem"
)

// Limits of a channel's stream information.
const (
	MaxTitle      = 140 // characters
	MaxTags       = 5
	MaxTagLength  = 25 // characters
	MaxQuery      = 100
	MaxQueryWords = 5
	// MaxCandidates bounds the live channels read to sort a directory page by viewers.
	MaxCandidates = 500
)

// ErrCategoryNotFound is returned when a category slug is not in the list.
var ErrCategoryNotFound = errors.New("category not found")

// Category is one entry of the operator's list.
type Category struct {
	Slug     string
	Name     string
	Position int
}

// StreamInfo is what a streamer says about their stream: shown on the channel page and the
// directory, kept on each stream session.
type StreamInfo struct {
	Title    string
	Category string // a category slug, "" for none
	Tags     []string
}

// StreamInfoChange names the fields to change; nil leaves one as it is.
type StreamInfoChange struct {
	Title    *string
	Category *string
	Tags     *[]string
}

// Empty reports whether the change changes nothing.
func (c StreamInfoChange) Empty() bool { return c.Title == nil && c.Category == nil && c.Tags == nil }

// DirectoryQuery filters and orders the directory of live channels.
type DirectoryQuery struct {
	Category string // a slug, "" for all
	Query    string // words matched against usernames, title words and tags, by prefix
	Sort     string // SortRecent (default) or SortViewers
	Limit    int    // 1…DirectorySize; 0 means DirectorySize
	After    string // the Next of the previous page (SortRecent only), "" for the first
}

// Directory orders.
const (
	SortRecent  = "recent"
	SortViewers = "viewers"
)

// DirectoryFilter is what the store needs to list live channels: the category and the query
// words already lower-cased, each matched as a prefix.
type DirectoryFilter struct {
	Category string
	Words    []string
	Limit    int
	After    *DirectoryCursor // list only what comes after it, if set
}

// DirectoryCursor is where a page of the directory ended: its last channel's start and id
// (the directory's order is start, newest first, then channel id, descending).
type DirectoryCursor struct {
	StartedAt time.Time
	ChannelID string
}

// String encodes the cursor for a client: opaque, URL-safe.
func (c DirectoryCursor) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.StartedAt.UnixMilli(), 10) + "." + c.ChannelID))
}

// parseCursor decodes what DirectoryCursor.String made.
func parseCursor(s string) (*DirectoryCursor, error) {
	bad := problem.Invalid("InvalidCursor", "after", "after must be the next of a previous page.")
	if len(s) > 200 {
		return nil, bad
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, bad
	}
	msText, id, ok := strings.Cut(string(raw), ".")
	ms, err := strconv.ParseInt(msText, 10, 64)
	// Only what String makes: one spelling of each cursor.
	if !ok || err != nil || ms < 0 || strconv.FormatInt(ms, 10) != msText || id == "" || !utf8.ValidString(id) {
		return nil, bad
	}
	c := &DirectoryCursor{StartedAt: time.UnixMilli(ms).UTC(), ChannelID: id}
	if c.String() != s { // the decoder skips line breaks
		return nil, bad
	}
	return c, nil
}

// DiscoveryStore is the part of the Store that keeps stream information and searches it.
type DiscoveryStore interface {
	// SetStreamInfo saves a channel's stream information and its search terms, and copies the
	// title and category onto the channel's open stream session, if any.
	SetStreamInfo(ctx context.Context, channelID string, info StreamInfo, terms []string) error
	// Directory lists live channels matching the filter, most recent start first.
	Directory(ctx context.Context, f DirectoryFilter) ([]*Profile, error)
	Categories(ctx context.Context) ([]Category, error)
	// PutCategory adds or renames a category.
	PutCategory(ctx context.Context, c Category) error
	// DeleteCategory removes a category; channels in it are left without one.
	DeleteCategory(ctx context.Context, slug string) error
}

// Categories lists the categories in the operator's order.
func (s *Service) Categories(ctx context.Context) ([]Category, error) {
	return s.store.Categories(ctx)
}

// PutCategory adds a category or renames one; an operator command.
func (s *Service) PutCategory(ctx context.Context, slug, name string, position int) error {
	if !validSlug(slug) {
		return problem.Invalid("InvalidCategory", "slug", "A category slug is 1 to 40 of a-z, 0-9 and -.")
	}
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 40 || strings.ContainsFunc(name, unicode.IsControl) {
		return problem.Invalid("InvalidCategoryName", "name", "A category name is 1 to 40 characters on one line.")
	}
	return s.store.PutCategory(ctx, Category{Slug: slug, Name: name, Position: position})
}

// DeleteCategory removes a category; an operator command.
func (s *Service) DeleteCategory(ctx context.Context, slug string) error {
	err := s.store.DeleteCategory(ctx, slug)
	if errors.Is(err, ErrCategoryNotFound) {
		return problem.NotFound("CategoryNotFound", fmt.Sprintf("There is no category %q.", slug))
	}
	return err
}

func validSlug(s string) bool {
	if s == "" || len(s) > 40 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// PrepareStreamInfo applies a change to the owner's current stream information and checks
// it, without saving: the caller saves it with SaveStreamInfo once the rest of its request
// is known to succeed, so that bad input changes nothing.
func (s *Service) PrepareStreamInfo(ctx context.Context, username string, c StreamInfoChange) (*Profile, error) {
	p, err := s.store.ProfileByUsername(ctx, username)
	if err != nil {
		return nil, err
	}
	if c.Title != nil {
		t := strings.TrimSpace(*c.Title)
		if !utf8.ValidString(t) || utf8.RuneCountInString(t) > MaxTitle || strings.ContainsFunc(t, unicode.IsControl) {
			return nil, problem.Invalid("InvalidTitle", "title", fmt.Sprintf("A title is up to %d characters on one line.", MaxTitle))
		}
		p.Title = t
	}
	if c.Category != nil {
		slug := *c.Category
		if slug != "" {
			list, err := s.store.Categories(ctx)
			if err != nil {
				return nil, err
			}
			i := slices.IndexFunc(list, func(cat Category) bool { return cat.Slug == slug })
			if i < 0 {
				return nil, problem.Invalid("InvalidCategory", "category", "Choose one of the categories.")
			}
			p.CategoryName = list[i].Name
		} else {
			p.CategoryName = ""
		}
		p.Category = slug
	}
	if c.Tags != nil {
		tags, err := NormalizeTags(*c.Tags)
		if err != nil {
			return nil, err
		}
		p.Tags = tags
	}
	return p, nil
}

// SaveStreamInfo saves what PrepareStreamInfo returned.
func (s *Service) SaveStreamInfo(ctx context.Context, p *Profile) error {
	info := StreamInfo{Title: p.Title, Category: p.Category, Tags: p.Tags}
	return s.store.SetStreamInfo(ctx, p.ChannelID, info, SearchTerms(info))
}

// NormalizeTags checks tags (each 1 to MaxTagLength letters, digits or hyphens, at most
// MaxTags) and drops repeats, ignoring case; the first spelling of a tag is kept.
func NormalizeTags(in []string) ([]string, error) {
	out := []string{}
	seen := map[string]bool{}
	for _, raw := range in {
		t := strings.TrimSpace(raw)
		n := utf8.RuneCountInString(t)
		if n == 0 || n > MaxTagLength || !utf8.ValidString(t) || strings.ContainsFunc(t, func(r rune) bool {
			return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-'
		}) {
			return nil, problem.Invalid("InvalidTag", "tags", fmt.Sprintf("A tag is 1 to %d letters, digits or hyphens: %q is not.", MaxTagLength, truncate(t, MaxTagLength+5)))
		}
		key := strings.ToLower(t)
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, t)
	}
	if len(out) > MaxTags {
		return nil, problem.Invalid("TooManyTags", "tags", fmt.Sprintf("A channel has at most %d tags.", MaxTags))
	}
	return out, nil
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// maxTerms bounds the search terms of one channel (a 140-character title has at most 70
// words; tags add up to 5 and their parts).
const maxTerms = 100

// SearchTerms are the lower-case words a channel is found by, besides its username: the
// words of its title (runs of letters and digits) and its tags, whole and split at hyphens.
func SearchTerms(info StreamInfo) []string {
	seen := map[string]bool{}
	var out []string
	add := func(w string) {
		w = strings.ToLower(w)
		if w == "" || seen[w] || len(out) >= maxTerms {
			return
		}
		seen[w] = true
		out = append(out, w)
	}
	for _, w := range words(info.Title) {
		add(w)
	}
	for _, t := range info.Tags {
		add(t)
		for _, w := range words(t) {
			add(w)
		}
	}
	slices.Sort(out)
	return out
}

func words(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// queryWords splits a search query into lower-case words (at spaces), at most MaxQueryWords.
func queryWords(q string) ([]string, error) {
	if utf8.RuneCountInString(q) > MaxQuery || !utf8.ValidString(q) {
		return nil, problem.Invalid("InvalidQuery", "q", fmt.Sprintf("A search is up to %d characters.", MaxQuery))
	}
	var out []string
	for _, w := range strings.Fields(strings.ToLower(q)) {
		w = strings.TrimFunc(w, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
		if w != "" && !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	if len(out) > MaxQueryWords {
		return nil, problem.Invalid("InvalidQuery", "q", fmt.Sprintf("A search is up to %d words.", MaxQueryWords))
	}
	return out, nil
}

// Directory lists live channels, filtered by category and search words, sorted by start
// (newest first) or by viewers (most first; viewers tells a channel's count). Sorting by
// viewers reads up to MaxCandidates matches and orders them here. Sorted by start, a full
// page comes with next, the cursor of the page after it (q.After); "" when there is no more
// (a page by viewers has none: counts change from one request to the next).
func (s *Service) Directory(ctx context.Context, q DirectoryQuery, viewers func(channelID string) int) (list []*Profile, next string, err error) {
	if q.Limit == 0 {
		q.Limit = DirectorySize
	}
	if q.Limit < 1 || q.Limit > DirectorySize {
		return nil, "", problem.Invalid("InvalidLimit", "limit", fmt.Sprintf("limit must be a whole number from 1 to %d.", DirectorySize))
	}
	if q.Sort == "" {
		q.Sort = SortRecent
	}
	if q.Sort != SortRecent && q.Sort != SortViewers {
		return nil, "", problem.Invalid("InvalidSort", "sort", "Sort by recent or viewers.")
	}
	if q.Category != "" && !validSlug(q.Category) {
		return nil, "", problem.Invalid("InvalidCategory", "category", "Choose one of the categories.")
	}
	ws, err := queryWords(q.Query)
	if err != nil {
		return nil, "", err
	}
	f := DirectoryFilter{Category: q.Category, Words: ws, Limit: q.Limit}
	if q.After != "" {
		if q.Sort != SortRecent {
			return nil, "", problem.Invalid("InvalidCursor", "after", "Only the directory sorted by recent has further pages.")
		}
		if f.After, err = parseCursor(q.After); err != nil {
			return nil, "", err
		}
	}
	if q.Sort == SortViewers {
		f.Limit = MaxCandidates
	}
	list, err = s.store.Directory(ctx, f)
	if err != nil {
		return nil, "", err
	}
	if q.Sort == SortRecent {
		if len(list) == q.Limit {
			last := list[len(list)-1]
			if last.LiveSince != nil {
				next = DirectoryCursor{StartedAt: *last.LiveSince, ChannelID: last.ChannelID}.String()
			}
		}
		return list, next, nil
	}
	if viewers == nil {
		return list[:min(len(list), q.Limit)], "", nil
	}
	count := make(map[string]int, len(list))
	for _, p := range list {
		count[p.ChannelID] = viewers(p.ChannelID)
	}
	slices.SortStableFunc(list, func(a, b *Profile) int { return cmp.Compare(count[b.ChannelID], count[a.ChannelID]) })
	return list[:min(len(list), q.Limit)], "", nil
}
