package storetest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/livehouse/livehouse/internal/accounts"
	"github.com/livehouse/livehouse/internal/channels"
	"github.com/livehouse/livehouse/internal/recordings"
)

// setInfo saves stream information the way the channels service does, terms included.
func setInfo(t *testing.T, s Store, channelID, title, category string, tags ...string) {
	t.Helper()
	info := channels.StreamInfo{Title: title, Category: category, Tags: tags}
	if err := s.SetStreamInfo(context.Background(), channelID, info, channels.SearchTerms(info)); err != nil {
		t.Fatalf("SetStreamInfo(%s): %v", channelID, err)
	}
}

// testStreamInfo: title, category and tags are read back on profiles, copied onto a session
// when it opens and while it is open (not once it has ended), and onto its recording.
func testStreamInfo(t *testing.T, s Store) {
	ctx := context.Background()
	ua, a := mustCreate(t, s, "alice", "alice@example.com", true)
	mustCreate(t, s, "bobby", "bob@example.com", true)
	setInfo(t, s, a.ID, "Speedrun: Mario 64", "gaming", "Speedrun", "retro-games")

	p, err := s.ProfileByUsername(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	got := []any{p.Title, p.Category, p.CategoryName, p.Tags}
	want := []any{"Speedrun: Mario 64", "gaming", "Gaming", []string{"Speedrun", "retro-games"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("alice's stream info (-want +got):\n%s", diff)
	}
	if pb, _ := s.ProfileByUsername(ctx, "bobby"); pb.Title != "" || pb.Category != "" || pb.Tags != nil {
		t.Errorf("bobby's stream info changed: %q %q %v", pb.Title, pb.Category, pb.Tags)
	}
	if err := s.SetStreamInfo(ctx, "ch_none", channels.StreamInfo{Title: "x"}, nil); !errors.Is(err, channels.ErrNotFound) {
		t.Errorf("SetStreamInfo(unknown channel) = %v, want ErrNotFound", err)
	}

	// The session starts with the channel's info and follows it while open.
	mustOpenSession(t, s, "st-a1", a.ID, t0)
	si, err := s.StreamSession(ctx, "st-a1")
	if err != nil {
		t.Fatal(err)
	}
	if si.Title != "Speedrun: Mario 64" || si.Category != "gaming" {
		t.Errorf("session at start: %q %q", si.Title, si.Category)
	}
	setInfo(t, s, a.ID, "Any% attempts", "gaming")
	if si, _ = s.StreamSession(ctx, "st-a1"); si.Title != "Any% attempts" {
		t.Errorf("session title during the stream = %q, want the new title", si.Title)
	}
	r := &recordings.Recording{ID: "st-a1", ChannelID: a.ID, UserID: ua.ID, Prefix: recordings.Prefix(a.ID, "st-a1"), Status: recordings.StatusRecording, StartedAt: t0}
	if err := s.CreateRecording(ctx, r); err != nil {
		t.Fatal(err)
	}
	if rec, err := s.Recording(ctx, "st-a1"); err != nil || rec.Title != "Any% attempts" {
		t.Errorf("recording title = %v, %v; want the session's", rec, err)
	}
	if err := s.EndStreamSession(ctx, "st-a1", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	setInfo(t, s, a.ID, "Tomorrow: 100%", "music")
	if si, _ = s.StreamSession(ctx, "st-a1"); si.Title != "Any% attempts" || si.Category != "gaming" {
		t.Errorf("ended session changed with the channel: %q %q", si.Title, si.Category)
	}
}

// testCategories: the default list, adding, renaming and deleting (which leaves its channels
// without a category).
func testCategories(t *testing.T, s Store) {
	ctx := context.Background()
	list, err := s.Categories(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var slugs []string
	for _, c := range list {
		slugs = append(slugs, c.Slug)
	}
	want := []string{"just-chatting", "gaming", "music", "art", "tech", "sports", "talk-shows", "irl", "education", "other"}
	if diff := cmp.Diff(want, slugs); diff != "" {
		t.Errorf("default categories (-want +got):\n%s", diff)
	}
	if err := s.PutCategory(ctx, channels.Category{Slug: "cooking", Name: "Food", Position: 15}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutCategory(ctx, channels.Category{Slug: "cooking", Name: "Food & Drink", Position: 15}); err != nil {
		t.Fatal(err)
	}
	list, _ = s.Categories(ctx)
	if len(list) < 2 || list[1] != (channels.Category{Slug: "cooking", Name: "Food & Drink", Position: 15}) {
		t.Errorf("after adding cooking at 15: %v", list[:2])
	}
	_, a := mustCreate(t, s, "alice", "alice@example.com", true)
	setInfo(t, s, a.ID, "Pasta", "cooking")
	if err := s.DeleteCategory(ctx, "cooking"); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.ProfileByUsername(ctx, "alice"); p.Category != "" || p.Title != "Pasta" {
		t.Errorf("after deleting its category: %q %q", p.Category, p.Title)
	}
	if err := s.DeleteCategory(ctx, "cooking"); !errors.Is(err, channels.ErrCategoryNotFound) {
		t.Errorf("deleting again = %v, want ErrCategoryNotFound", err)
	}
}

// testDirectorySearch: live channels filtered by category and by words that start a username,
// a title word or a tag (all words must match), newest start first.
func testDirectorySearch(t *testing.T, s Store) {
	ctx := context.Background()
	type ch struct {
		name, title, category string
		tags                  []string
		live                  bool
	}
	for i, c := range []ch{
		{"gamer_one", "Elden Ring blind run", "gaming", []string{"RPG", "soulslike"}, true},
		{"pianist", "Late night piano", "music", []string{"jazz", "chill-vibes"}, true},
		{"painter", "Oil painting: mountains", "art", nil, true},
		{"gamerx", "Chess puzzles", "gaming", []string{"chess"}, true},
		{"offline1", "Elden Ring later", "gaming", []string{"RPG"}, false},
		{"cafe_talk", "Café con leche", "just-chatting", []string{"Español"}, true},
	} {
		name := c.name
		_, chn := mustCreate(t, s, name, name+"@example.com", true)
		setInfo(t, s, chn.ID, c.title, c.category, c.tags...)
		if c.live {
			mustOpenSession(t, s, "st-"+name, chn.ID, t0.Add(time.Duration(i)*time.Minute))
			if err := s.StartStreamSession(ctx, "st-"+name, t0.Add(time.Duration(i)*time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		category string
		words    []string
		want     []string
	}{
		{"", nil, []string{"cafe_talk", "gamerx", "painter", "pianist", "gamer_one"}},
		{"gaming", nil, []string{"gamerx", "gamer_one"}},
		{"music", nil, []string{"pianist"}},
		{"sports", nil, []string{}},
		{"", []string{"elden"}, []string{"gamer_one"}},           // a title word, live only
		{"", []string{"eld", "ring"}, []string{"gamer_one"}},     // prefixes, all words
		{"", []string{"elden", "chess"}, []string{}},             // no channel has both
		{"", []string{"gamer"}, []string{"gamerx", "gamer_one"}}, // username prefix
		{"", []string{"rpg"}, []string{"gamer_one"}},             // a tag, ignoring case
		{"", []string{"vibes"}, []string{"pianist"}},             // part of a hyphenated tag
		{"", []string{"chill-vibes"}, []string{"pianist"}},       // the whole tag
		{"", []string{"café"}, []string{"cafe_talk"}},            // non-ASCII title word
		{"", []string{"español"}, []string{"cafe_talk"}},         // non-ASCII tag
		{"music", []string{"elden"}, []string{}},                 // category and words
		{"gaming", []string{"chess"}, []string{"gamerx"}},        //
		{"", []string{"painting"}, []string{"painter"}},          // after punctuation
		{"", []string{"zzz"}, []string{}},                        //
		{"", []string{"%"}, []string{}},                          // no wildcard meaning
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%v", tt.category, tt.words), func(t *testing.T) {
			got, err := s.Directory(ctx, channels.DirectoryFilter{Category: tt.category, Words: tt.words, Limit: 50})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, usernames(got)); diff != "" {
				t.Errorf("directory (-want +got):\n%s", diff)
			}
		})
	}
	// A title change replaces the old words.
	p, _ := s.ProfileByUsername(ctx, "painter")
	setInfo(t, s, p.ChannelID, "Watercolour", "art")
	for words, want := range map[string][]string{"oil": {}, "watercolour": {"painter"}} {
		got, err := s.Directory(ctx, channels.DirectoryFilter{Words: []string{words}, Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, usernames(got)); diff != "" {
			t.Errorf("after the title change, %q (-want +got):\n%s", words, diff)
		}
	}
	// A new username is found, the old one no longer.
	u, err := s.UserByLogin(ctx, "gamerx")
	if err != nil {
		t.Fatal(err)
	}
	newName := "Queen_Gambit"
	if err := s.UpdateUser(ctx, u.ID, accounts.UserChange{Username: &newName, UpdatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	for words, want := range map[string][]string{"gamerx": {}, "queen": {"Queen_Gambit"}, "queen_g": {"Queen_Gambit"}} {
		got, err := s.Directory(ctx, channels.DirectoryFilter{Words: []string{words}, Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, usernames(got)); diff != "" {
			t.Errorf("after the rename, %q (-want +got):\n%s", words, diff)
		}
	}
	if got, _ := s.Directory(ctx, channels.DirectoryFilter{Limit: 2}); len(got) != 2 {
		t.Errorf("limit 2 gave %d channels", len(got))
	}
}

// liveTermRows counts a channel's rows in live_terms, the search's index of live channels, for
// stores that are SQL databases (the suite's are): a search joins the session and so would
// hide a stale row; this sees it.
func liveTermRows(t *testing.T, s Store, channelID string) int {
	t.Helper()
	db, ok := s.(interface{ SQL() *sql.DB })
	if !ok {
		t.Skip("not an SQL store")
	}
	var n int
	q := `SELECT COUNT(*) FROM live_terms WHERE channel_id = ?`
	if d, ok := s.(interface{ Dialect() string }); ok && d.Dialect() == "postgres" {
		q = `SELECT COUNT(*) FROM live_terms WHERE channel_id = $1`
	}
	if err := db.SQL().QueryRowContext(context.Background(), q, channelID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// testSearchStaleness: a search finds a live channel by its current terms only, and never a
// channel that went offline, however it ended (its encoder left, or its node died); a
// change made while offline is what the next session is found by.
func testSearchStaleness(t *testing.T, s Store) {
	ctx := context.Background()
	_, a := mustCreate(t, s, "alice", "alice@example.com", true)
	_, b := mustCreate(t, s, "bobby", "bob@example.com", true)
	setInfo(t, s, a.ID, "Chess openings", "gaming", "beginner-friendly")
	setInfo(t, s, b.ID, "Chess endgames", "gaming")
	search := func(words ...string) []string {
		t.Helper()
		got, err := s.Directory(ctx, channels.DirectoryFilter{Words: words, Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		return usernames(got)
	}
	expect := func(when string, want map[string][]string) {
		t.Helper()
		for q, w := range want {
			if diff := cmp.Diff(w, search(strings.Fields(q)...)); diff != "" {
				t.Errorf("%s, search %q (-want +got):\n%s", when, q, diff)
			}
		}
	}
	expect("nobody live", map[string][]string{"chess": {}, "alice": {}})
	if n := liveTermRows(t, s, a.ID); n != 0 {
		t.Errorf("offline alice has %d live terms", n)
	}

	// Opened but not started (no playable part yet) is not live either.
	mustOpenSession(t, s, "st-a1", a.ID, t0)
	expect("alice's session opened", map[string][]string{"chess": {}})
	if err := s.StartStreamSession(ctx, "st-a1", t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.OpenStreamSession(ctx, "st-b1", b.ID, "node-b", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.StartStreamSession(ctx, "st-b1", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	expect("both live", map[string][]string{"chess": {"bobby", "alice"}, "ali": {"alice"}, "friendly chess": {"alice"}, "endgames": {"bobby"}})

	// A title changed during the stream: the old words find nothing.
	setInfo(t, s, a.ID, "Piano practice", "music")
	expect("alice's new title", map[string][]string{"chess": {"bobby"}, "openings": {}, "friendly": {}, "piano": {"alice"}, "pia pra": {"alice"}})

	// Alice's encoder leaves; bobby's node dies without a lease, and its sessions are ended
	// by another node.
	if err := s.EndStreamSession(ctx, "st-a1", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	ended, err := s.EndStaleStreamSessions(ctx, b.ID, t0.Add(2*time.Hour))
	if err != nil || len(ended) != 1 {
		t.Fatalf("EndStaleStreamSessions = %v, %v; want bobby's session", ended, err)
	}
	expect("both offline", map[string][]string{"chess": {}, "piano": {}, "alice": {}, "bobby": {}})
	for name, id := range map[string]string{"alice": a.ID, "bobby": b.ID} {
		if n := liveTermRows(t, s, id); n != 0 {
			t.Errorf("%s offline still has %d live terms", name, n)
		}
	}

	// Changed while offline, then live again: found by the new title, the username renamed
	// meanwhile, and not by anything older.
	setInfo(t, s, a.ID, "Guitar lessons", "music")
	u, err := s.UserByLogin(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	newName := "Alicia_Strings"
	if err := s.UpdateUser(ctx, u.ID, accounts.UserChange{Username: &newName, UpdatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if n := liveTermRows(t, s, a.ID); n != 0 {
		t.Errorf("alice changed while offline has %d live terms", n)
	}
	mustOpenSession(t, s, "st-a2", a.ID, t0.Add(3*time.Hour))
	if err := s.StartStreamSession(ctx, "st-a2", t0.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	expect("alice live again", map[string][]string{"guitar": {"Alicia_Strings"}, "alicia": {"Alicia_Strings"}, "alice": {}, "piano": {}, "chess": {}})
	if n := liveTermRows(t, s, a.ID); n != 3 { // guitar, lessons, alicia_strings
		t.Errorf("alice live has %d live terms, want 3", n)
	}
	// Renamed while live.
	newName = "Strummer"
	if err := s.UpdateUser(ctx, u.ID, accounts.UserChange{Username: &newName, UpdatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	expect("alice renamed while live", map[string][]string{"alicia": {}, "strum": {"Strummer"}, "guitar": {"Strummer"}})
}

// testDirectoryPages: following the cursor of each page lists every live channel once, in
// the directory's order, channels that went live in the same millisecond included, and with
// search words too.
func testDirectoryPages(t *testing.T, s Store) {
	ctx := context.Background()
	var want []string
	for i := range 7 {
		name := fmt.Sprintf("paged%d", i)
		_, ch := mustCreate(t, s, name, name+"@example.com", true)
		setInfo(t, s, ch.ID, "Chess night", "gaming")
		at := t0.Add(time.Duration(i/2) * time.Minute) // pairs start together
		mustOpenSession(t, s, "st-"+name, ch.ID, at)
		if err := s.StartStreamSession(ctx, "st-"+name, at); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.Directory(ctx, channels.DirectoryFilter{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	want = usernames(all)
	if len(want) != 7 {
		t.Fatalf("directory = %v, want 7 channels", want)
	}
	for _, words := range [][]string{nil, {"chess"}, {"paged", "nig"}} {
		var got []string
		var after *channels.DirectoryCursor
		for page := 0; page < 10; page++ {
			list, err := s.Directory(ctx, channels.DirectoryFilter{Words: words, Limit: 2, After: after})
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, usernames(list)...)
			if len(list) < 2 {
				break
			}
			last := list[len(list)-1]
			after = &channels.DirectoryCursor{StartedAt: *last.LiveSince, ChannelID: last.ChannelID}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("pages of 2, words %v (-want +got):\n%s", words, diff)
		}
	}
}

// testSearchFillsPagePastHidden: a search's page is filled, in order, from matches past those
// it must not list (a private channel, a suspended owner, another category), however many of
// those come first; and its cursor goes on from there. (A search ranks its matches by their
// session before it reads their channel and owner, so the filters on those apply after the
// ranking, and must not cut the page short.)
func testSearchFillsPagePastHidden(t *testing.T, s Store) {
	ctx := context.Background()
	// Newest first: hidden ones at the top, then in between.
	kinds := []string{"private", "suspended", "music", "shown", "private", "shown", "shown", "music", "shown"}
	var want, wantGaming []string
	for i, kind := range kinds {
		name := fmt.Sprintf("quartz%d", i)
		u, ch := mustCreate(t, s, name, name+"@example.com", true)
		category := "gaming"
		if kind == "music" {
			category = "music"
		}
		setInfo(t, s, ch.ID, "Quartz mining", category)
		at := t0.Add(-time.Duration(i) * time.Minute)
		mustOpenSession(t, s, "st-"+name, ch.ID, at)
		if err := s.StartStreamSession(ctx, "st-"+name, at); err != nil {
			t.Fatal(err)
		}
		switch kind {
		case "private":
			if err := s.SetPrivate(ctx, ch.ID, true); err != nil {
				t.Fatal(err)
			}
		case "suspended":
			if err := s.SetSuspension(ctx, u.ID, &t0, "spam"); err != nil {
				t.Fatal(err)
			}
		case "music":
			want = append(want, name)
		default:
			want = append(want, name)
			wantGaming = append(wantGaming, name)
		}
	}
	for _, tt := range []struct {
		category string
		words    []string
		want     []string
	}{
		{"", []string{"quartz"}, want},
		{"gaming", []string{"quartz"}, wantGaming},
		{"gaming", []string{"mining", "qua"}, wantGaming},
	} {
		var got []string
		var after *channels.DirectoryCursor
		for range 10 {
			list, err := s.Directory(ctx, channels.DirectoryFilter{Category: tt.category, Words: tt.words, Limit: 2, After: after})
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, usernames(list)...)
			if len(list) < 2 {
				break
			}
			last := list[len(list)-1]
			after = &channels.DirectoryCursor{StartedAt: *last.LiveSince, ChannelID: last.ChannelID}
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s %v in pages of 2 (-want +got):\n%s", tt.category, tt.words, diff)
		}
	}
}
