package channels

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestNormalizeTags(t *testing.T) {
	tests := []struct {
		in   []string
		want []string // nil: refused
	}{
		{[]string{}, []string{}},
		{[]string{" Chess ", "chess", "CHESS", "e4-e5"}, []string{"Chess", "e4-e5"}},
		{[]string{"Español", "日本語", "42"}, []string{"Español", "日本語", "42"}},
		{[]string{"a", "b", "c", "d", "e", "A", "B"}, []string{"a", "b", "c", "d", "e"}},
		{[]string{"a", "b", "c", "d", "e", "f"}, nil},
		{[]string{""}, nil},
		{[]string{"two words"}, nil},
		{[]string{"c++"}, nil},
		{[]string{"under_score"}, nil},
		{[]string{strings.Repeat("x", 25)}, []string{strings.Repeat("x", 25)}},
		{[]string{strings.Repeat("x", 26)}, nil},
		{[]string{"\xff"}, nil},
	}
	for _, tt := range tests {
		got, err := NormalizeTags(tt.in)
		if tt.want == nil {
			if err == nil {
				t.Errorf("NormalizeTags(%q) = %q, want an error", tt.in, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("NormalizeTags(%q): %v", tt.in, err)
		} else if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("NormalizeTags(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestSearchTerms(t *testing.T) {
	got := SearchTerms(StreamInfo{Title: "Late-night Piano: Café jazz, jazz!", Tags: []string{"Chill-Vibes", "JAZZ"}})
	want := []string{"café", "chill", "chill-vibes", "jazz", "late", "night", "piano", "vibes"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("SearchTerms (-want +got):\n%s", diff)
	}
}

func TestQueryWords(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		ok   bool
	}{
		{"", nil, true},
		{"  Chess  BLITZ ", []string{"chess", "blitz"}, true},
		{"chess chess", []string{"chess"}, true},
		{"(chess) %", []string{"chess"}, true},
		{"a b c d e", []string{"a", "b", "c", "d", "e"}, true},
		{"a b c d e f", nil, false},
		{strings.Repeat("a", 101), nil, false},
	}
	for _, tt := range tests {
		got, err := queryWords(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("queryWords(%q) error = %v, want ok %v", tt.in, err, tt.ok)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("queryWords(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

// FuzzQueryWords: no query panics or yields more words than allowed.
func FuzzQueryWords(f *testing.F) {
	for _, s := range []string{"", "  Chess  BLITZ ", "(chess) %", "a b c d e f", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		ws, err := queryWords(q)
		if err == nil && len(ws) > MaxQueryWords {
			t.Errorf("queryWords(%q) = %d words", q, len(ws))
		}
	})
}

// cursorCases are directory cursors as a client may send them: made by the server, or not.
var cursorCases = []struct {
	in string
	ok bool
}{
	{DirectoryCursor{StartedAt: time.UnixMilli(1764669600123).UTC(), ChannelID: "ch_abc"}.String(), true},
	{DirectoryCursor{StartedAt: time.UnixMilli(0).UTC(), ChannelID: "ch.with.dots"}.String(), true},
	{"", false},
	{"not a cursor", false},
	{"bm90LWEtY3Vyc29y", false},             // "not-a-cursor"
	{"LTUuY2hfYQ", false},                   // "-5.ch_a"
	{"MTIzLg", false},                       // "123."
	{strings.Repeat("MTIzLmNo", 40), false}, // too long
}

func TestDirectoryCursor(t *testing.T) {
	for _, tt := range cursorCases {
		c, err := parseCursor(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("parseCursor(%q) = %v, %v; want ok %v", tt.in, c, err, tt.ok)
			continue
		}
		if err == nil && c.String() != tt.in {
			t.Errorf("parseCursor(%q).String() = %q, want it back", tt.in, c.String())
		}
	}
}

// FuzzDirectoryCursor: any text a client sends as after is refused or read back as itself,
// never a panic.
func FuzzDirectoryCursor(f *testing.F) {
	for _, tt := range cursorCases {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		c, err := parseCursor(in)
		if err == nil && c.String() != in {
			t.Errorf("parseCursor(%q).String() = %q", in, c.String())
		}
	})
}
