package httpapi_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// streamInfoOf reads a channel's title, category and tags from its public page.
func (e *env) streamInfoOf(username string) []any {
	e.t.Helper()
	var page struct {
		Title, Category, CategoryName string
		Tags                          []string
	}
	if err := json.Unmarshal(e.want(e.call("GET", "/api/channels/"+username, "", nil), 200).body, &page); err != nil {
		e.t.Fatal(err)
	}
	return []any{page.Title, page.Category, page.CategoryName, page.Tags}
}

// TestStreamInfo: the owner sets a title, category and tags with PATCH /api/me; the channel
// page and GET /api/me show them; bad input is refused and changes nothing, not even the
// other fields of the same request; another user's PATCH changes only their own channel.
func TestStreamInfo(t *testing.T) {
	e := newEnv(t, autoVerify(true))
	alice := e.signUp("alice")
	bob := e.signUp("bobby")
	in := map[string]any{"title": "  Chess openings, part 2 ", "category": "gaming", "tags": []string{"Chess", "strategy", "chess", "e4-e5"}}
	me := e.want(e.call("PATCH", "/api/me", alice.token, in), 200).json(t)
	want := []any{"Chess openings, part 2", "gaming", "Gaming", []string{"Chess", "strategy", "e4-e5"}}
	ch := me["channel"].(map[string]any)
	if got := []any{ch["title"], ch["category"], ch["categoryName"], ch["tags"]}; !cmp.Equal([]any{want[0], want[1], want[2], []any{"Chess", "strategy", "e4-e5"}}, got) {
		t.Errorf("PATCH /api/me channel info = %v, want %v", got, want)
	}
	if diff := cmp.Diff(want, e.streamInfoOf("alice")); diff != "" {
		t.Errorf("alice's page (-want +got):\n%s", diff)
	}

	// Another user sets their own; alice's stays.
	e.want(e.call("PATCH", "/api/me", bob.token, map[string]any{"title": "Bob's title", "category": "music", "tags": []string{}}), 200)
	if diff := cmp.Diff(want, e.streamInfoOf("alice")); diff != "" {
		t.Errorf("alice's page after bob's change (-want +got):\n%s", diff)
	}
	if got := e.streamInfoOf("bobby"); got[0] != "Bob's title" || got[1] != "music" {
		t.Errorf("bobby's page = %v", got)
	}
	e.want(e.call("PATCH", "/api/me", "", map[string]any{"title": "anonymous"}), 401)

	bad := []struct {
		name string
		body map[string]any
		code string
	}{
		{"title too long", map[string]any{"title": strings.Repeat("é", 141)}, "InvalidTitle"},
		{"title on two lines", map[string]any{"title": "one\ntwo"}, "InvalidTitle"},
		{"unknown category", map[string]any{"category": "cooking"}, "InvalidCategory"},
		{"category by name", map[string]any{"category": "Gaming"}, "InvalidCategory"},
		{"six tags", map[string]any{"tags": []string{"a", "b", "c", "d", "e", "f"}}, "TooManyTags"},
		{"empty tag", map[string]any{"tags": []string{"ok", " "}}, "InvalidTag"},
		{"tag with a space", map[string]any{"tags": []string{"two words"}}, "InvalidTag"},
		{"tag with punctuation", map[string]any{"tags": []string{"c++"}}, "InvalidTag"},
		{"tag too long", map[string]any{"tags": []string{strings.Repeat("t", 26)}}, "InvalidTag"},
		{"title not a string", map[string]any{"title": 5}, "InvalidJSON"},
		{"valid rename, bad title", map[string]any{"username": "alice2", "title": strings.Repeat("x", 141)}, "InvalidTitle"},
		{"valid color, bad tags", map[string]any{"color": "green", "tags": []string{"x!"}}, "InvalidTag"},
	}
	// Sign-up picks a colour at random: start from one the refused requests do not ask for.
	e.want(e.call("PATCH", "/api/me", alice.token, map[string]any{"color": "purple"}), 200)
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			res := e.want(e.call("PATCH", "/api/me", alice.token, tt.body), 400)
			if code := res.errorCode(t); code != tt.code {
				t.Errorf("code = %s, want %s", code, tt.code)
			}
			if diff := cmp.Diff(want, e.streamInfoOf("alice")); diff != "" {
				t.Errorf("alice's page after a refused change (-want +got):\n%s", diff)
			}
			page := e.want(e.call("GET", "/api/channels/alice", "", nil), 200).json(t)
			if page["color"] == "green" {
				t.Error("the color changed with a refused request")
			}
		})
	}
	e.want(e.call("GET", "/api/channels/alice2", "", nil), 404)

	// Five tags, repeats dropped first, and clearing everything.
	e.want(e.call("PATCH", "/api/me", alice.token, map[string]any{"tags": []string{"a", "b", "c", "d", "e", "A"}}), 200)
	e.want(e.call("PATCH", "/api/me", alice.token, map[string]any{"title": "", "category": "", "tags": []string{}}), 200)
	if diff := cmp.Diff([]any{"", "", "", []string{}}, e.streamInfoOf("alice")); diff != "" {
		t.Errorf("after clearing (-want +got):\n%s", diff)
	}
}

// TestDirectoryFilters: GET /api/channels?live=true with category, q, sort and limit.
func TestDirectoryFilters(t *testing.T) {
	e := newEnv(t, autoVerify(true))
	ctx := context.Background()
	for i, c := range []struct{ name, title, category, viewers string }{
		{"chessy", "Chess blitz", "gaming", "2"},
		{"pianoman", "Piano requests", "music", "3"},
		{"quiet", "Chess endgames", "gaming", "0"},
		{"offair", "Chess later", "gaming", ""},
	} {
		u := e.signUp(c.name)
		e.want(e.call("PATCH", "/api/me", u.token, map[string]any{"title": c.title, "category": c.category}), 200)
		if c.viewers == "" {
			continue
		}
		at := e.clock.Now().Add(time.Duration(i) * time.Minute)
		e.openSession(u, "st-"+c.name, at)
		if err := e.store.StartStreamSession(ctx, "st-"+c.name, at); err != nil {
			t.Fatal(err)
		}
		e.goLive(u)
		for range int(c.viewers[0] - '0') {
			page := e.want(e.call("GET", "/api/channels/"+c.name, "", nil), 200).json(t)
			e.want(e.call("POST", "/api/channels/"+c.name+"/views", "", map[string]any{"token": page["playbackToken"]}), 200)
		}
	}
	list := func(query string) []string {
		t.Helper()
		var body struct {
			Channels []struct {
				Username, Title, CategoryName string
			}
		}
		if err := json.Unmarshal(e.want(e.call("GET", "/api/channels?live=true&"+query, "", nil), 200).body, &body); err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, c := range body.Channels {
			out = append(out, c.Username)
		}
		return out
	}
	for _, tt := range []struct {
		query string
		want  []string
	}{
		{"", []string{"quiet", "pianoman", "chessy"}},
		{"category=gaming", []string{"quiet", "chessy"}},
		{"category=music", []string{"pianoman"}},
		{"category=sports", []string{}},
		{"q=" + url.QueryEscape("chess"), []string{"quiet", "chessy"}},
		{"q=" + url.QueryEscape("CHESS Blitz"), []string{"chessy"}},
		{"q=piano", []string{"pianoman"}},
		{"q=quie", []string{"quiet"}}, // a username prefix
		{"q=later", []string{}},       // offair is not live
		{"sort=viewers", []string{"pianoman", "chessy", "quiet"}},
		{"sort=viewers&category=gaming&limit=1", []string{"chessy"}},
		{"sort=recent&limit=2", []string{"quiet", "pianoman"}},
	} {
		if diff := cmp.Diff(tt.want, list(tt.query)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.query, diff)
		}
	}
	// Pages: a full page sorted by recent carries next, the after of the page that follows;
	// the last page has none; a page sorted by viewers has none.
	page := func(query string) (names []string, next string) {
		t.Helper()
		var body struct {
			Channels []struct{ Username string }
			Next     string
		}
		if err := json.Unmarshal(e.want(e.call("GET", "/api/channels?live=true&"+query, "", nil), 200).body, &body); err != nil {
			t.Fatal(err)
		}
		for _, c := range body.Channels {
			names = append(names, c.Username)
		}
		return names, body.Next
	}
	first, firstNext := page("limit=2")
	second, secondNext := page("limit=2&after=" + url.QueryEscape(firstNext))
	if diff := cmp.Diff([]any{[]string{"quiet", "pianoman"}, []string{"chessy"}, ""}, []any{first, second, secondNext}); diff != "" || firstNext == "" {
		t.Errorf("pages of 2 (-want +got), first next %q:\n%s", firstNext, diff)
	}
	if names, next := page("q=chess&limit=1&after=" + url.QueryEscape(firstNext)); !cmp.Equal(names, []string{"chessy"}) || next == "" {
		t.Errorf("search after the first page = %v, next %q; want chessy and a next", names, next)
	}
	if _, next := page("sort=viewers&limit=1"); next != "" {
		t.Errorf("a page by viewers has next %q", next)
	}
	for _, tt := range []struct{ query, code string }{
		{"q=" + strings.Repeat("a", 101), "InvalidQuery"},
		{"q=" + url.QueryEscape("a b c d e f"), "InvalidQuery"},
		{"sort=popular", "InvalidSort"},
		{"limit=0", "InvalidLimit"},
		{"limit=51", "InvalidLimit"},
		{"limit=x", "InvalidLimit"},
		{"category=" + url.QueryEscape("Just Chatting"), "InvalidCategory"},
		{"after=" + url.QueryEscape("not a cursor"), "InvalidCursor"},
		{"after=bm90LWEtY3Vyc29y", "InvalidCursor"}, // base64 of "not-a-cursor"
		{"sort=viewers&after=" + firstNext, "InvalidCursor"},
	} {
		res := e.want(e.call("GET", "/api/channels?live=true&"+tt.query, "", nil), 400)
		if code := res.errorCode(t); code != tt.code {
			t.Errorf("%s: code = %s, want %s", tt.query, code, tt.code)
		}
	}

	var cats struct {
		Categories []struct{ Slug, Name string }
	}
	if err := json.Unmarshal(e.want(e.call("GET", "/api/categories", "", nil), 200).body, &cats); err != nil {
		t.Fatal(err)
	}
	if len(cats.Categories) != 10 || cats.Categories[0].Slug != "just-chatting" || cats.Categories[0].Name != "Just Chatting" {
		t.Errorf("categories = %v", cats.Categories)
	}
}
