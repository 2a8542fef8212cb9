package httpapi

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/livehouse/livehouse/internal/recordings"
	"github.com/livehouse/livehouse/internal/storage"
)

// TestThumbnailIndex: a card names a live channel's thumbnail only once it is stored; an
// answer is remembered (a miss briefly, a hit longer), so a directory page does not ask the
// storage for every card on every request.
func TestThumbnailIndex(t *testing.T) {
	media, err := storage.NewFolder(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	x := newThumbnailIndex(recordings.NewService(recordings.Deps{Media: media}))
	x.now = func() time.Time { return now }
	ctx := context.Background()
	list := func() []channelCard {
		return []channelCard{
			{ChannelID: "ch-a", IsLive: true, ThumbnailURL: thumbnailURL("a")},
			{ChannelID: "ch-b", IsLive: true, ThumbnailURL: thumbnailURL("b")},
		}
	}
	urls := func(cards []channelCard) []string {
		var out []string
		for _, c := range cards {
			out = append(out, c.ThumbnailURL)
		}
		return out
	}
	put := func(channelID string) {
		jpeg := "\xff\xd8 a jpeg"
		if err := media.Put(ctx, recordings.ThumbnailKey(channelID), strings.NewReader(jpeg), int64(len(jpeg))); err != nil {
			t.Fatal(err)
		}
	}

	put("ch-a")
	cards := list()
	x.fill(ctx, cards)
	if got := urls(cards); got[0] != thumbnailURL("a") || got[1] != "" {
		t.Errorf("with a's thumbnail only: %q, want a's URL and none for b", got)
	}
	// b's is made: a miss is remembered for a moment, then asked again.
	put("ch-b")
	if x.has(ctx, "ch-b") {
		t.Error("b's miss was not remembered")
	}
	now = now.Add(thumbnailMissedFor)
	if !x.has(ctx, "ch-b") {
		t.Error("b's thumbnail not found once the miss expired")
	}
	// A hit is remembered longer: a's removal shows only after thumbnailKnownFor.
	if err := media.Delete(ctx, recordings.ThumbnailKey("ch-a")); err != nil {
		t.Fatal(err)
	}
	if !x.has(ctx, "ch-a") {
		t.Error("a's hit was not remembered")
	}
	now = now.Add(thumbnailKnownFor)
	if x.has(ctx, "ch-a") {
		t.Error("a's removed thumbnail still found after thumbnailKnownFor")
	}
	// Without storage there are no thumbnails.
	cards = list()
	newThumbnailIndex(nil).fill(ctx, cards)
	if got := urls(cards); got[0] != "" || got[1] != "" {
		t.Errorf("without storage: %q, want no URLs", got)
	}
}
