package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/livehouse/livehouse/internal/channels"
	"github.com/livehouse/livehouse/internal/store/sqlstore"
)

// seedWords and seedTags make up the seeded channels' titles and tags: each title is 3 to 6
// words of the 64, so a word is in about 7% of the titles.
var (
	seedWords = strings.Fields(`speedrun chess piano guitar drawing painting cooking coding rust golang react retro
		elden ring minecraft fortnite valorant league tactics strategy puzzle horror indie cozy farming racing
		football tennis running cycling yoga chill study lofi jazz metal techno vinyl karaoke podcast news
		science space physics maths history travel city hiking camping fishing garden pets cats dogs art
		anime manga cosplay modding hardware building`)
	seedTags       = strings.Fields(`English Español Deutsch Français 日本語 chill competitive beginner-friendly no-backseating family-friendly 18plus educational`)
	seedCategories = []string{"just-chatting", "gaming", "music", "art", "tech", "sports", "talk-shows", "irl", "education", "other"}
)

func prefix(s string, n int) string { return s[:min(len(s), n)] }

// seedInfo is seeded channel i's stream information, from a fixed random sequence.
func seedInfo(rng *rand.Rand) channels.StreamInfo {
	n := 3 + rng.IntN(4)
	ws := make([]string, n)
	for j := range ws {
		ws[j] = seedWords[rng.IntN(len(seedWords))]
	}
	var tags []string
	for range rng.IntN(3) {
		if t := seedTags[rng.IntN(len(seedTags))]; !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	return channels.StreamInfo{Title: strings.Join(ws, " "), Category: seedCategories[rng.IntN(len(seedCategories))], Tags: tags}
}

// SeedSpec sizes a seeded database.
type SeedSpec struct {
	Users, FollowsPerUser, Live int
}

// BenchSpec is the size the benchmarks run at: 100,000 users, 1,000,000 follows and 1,000 live
// channels.
var BenchSpec = SeedSpec{Users: 100_000, FollowsPerUser: 10, Live: 1_000}

// SeedName is the username of seeded user i.
func SeedName(i int) string { return fmt.Sprintf("seed%06d", i) }

// Seed fills an empty store with users (each with a channel, stream key and chat room), the
// follows and the live sessions of spec, in batched multi-row inserts written once for both
// dialects. Followed channels and live channels are drawn from a fixed random sequence.
func Seed(ctx context.Context, db *sqlstore.DB, spec SeedSpec) error {
	numbered := db.Dialect() == "postgres"
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	insert := func(table string, cols []string, n int, row func(i int) []any) error {
		const batch = 500
		for start := 0; start < n; start += batch {
			end := min(start+batch, n)
			var b strings.Builder
			var args []any
			b.WriteString("INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES ")
			for i := start; i < end; i++ {
				if i > start {
					b.WriteString(", ")
				}
				b.WriteString("(")
				for j := range cols {
					if j > 0 {
						b.WriteString(", ")
					}
					if numbered {
						fmt.Fprintf(&b, "$%d", len(args)+j+1)
					} else {
						b.WriteString("?")
					}
				}
				b.WriteString(")")
				args = append(args, row(i)...)
			}
			if _, err := db.SQL().ExecContext(ctx, b.String(), args...); err != nil {
				return fmt.Errorf("seeding %s: %w", table, err)
			}
		}
		return nil
	}
	userID := func(i int) string { return fmt.Sprintf("u_seed%06d", i) }
	infoRng := rand.New(rand.NewPCG(5, 6))
	infos := make([]channels.StreamInfo, spec.Users)
	type term struct {
		term string
		ch   int
	}
	var terms []term
	for i := range infos {
		infos[i] = seedInfo(infoRng)
		for _, w := range channels.SearchTerms(infos[i]) {
			terms = append(terms, term{w, i})
		}
	}
	chanID := func(i int) string { return fmt.Sprintf("ch_seed%06d", i) }
	steps := []struct {
		table string
		cols  []string
		n     int
		row   func(i int) []any
	}{
		{"users", []string{"id", "username", "username_key", "email", "email_key", "password_hash", "email_verified_at", "color", "avatar", "created_at", "updated_at"}, spec.Users,
			func(i int) []any {
				name := SeedName(i)
				return []any{userID(i), name, name, name + "@example.com", name + "@example.com", "$argon2id$seed", t0, "blue", "bear", t0 + int64(i), t0 + int64(i)}
			}},
		{"channels", []string{"id", "user_id", "type", "created_at", "title", "category", "tags"}, spec.Users,
			func(i int) []any {
				return []any{chanID(i), userID(i), "BASIC", t0, infos[i].Title, infos[i].Category, strings.Join(infos[i].Tags, " ")}
			}},
		{"channel_terms", []string{"term", "channel_id"}, len(terms),
			func(i int) []any { return []any{terms[i].term, chanID(terms[i].ch)} }},
		{"channel_terms", []string{"term", "channel_id", "kind"}, spec.Users,
			func(i int) []any { return []any{SeedName(i), chanID(i), "u"} }},
		{"stream_keys", []string{"channel_id", "key_hash", "key_sealed", "created_at"}, spec.Users,
			func(i int) []any { return []any{chanID(i), fmt.Sprintf("hash%06d", i), "sealed", t0} }},
		{"chat_rooms", []string{"id", "channel_id", "created_at"}, spec.Users,
			func(i int) []any { return []any{fmt.Sprintf("room_seed%06d", i), chanID(i), t0} }},
	}
	for _, s := range steps {
		if err := insert(s.table, s.cols, s.n, s.row); err != nil {
			return err
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	follows := make([][2]int, 0, spec.Users*spec.FollowsPerUser)
	for u := range spec.Users {
		seen := map[int]bool{u: true}
		for len(seen) <= spec.FollowsPerUser {
			c := rng.IntN(spec.Users)
			if !seen[c] {
				seen[c] = true
				follows = append(follows, [2]int{u, c})
			}
		}
	}
	if err := insert("follows", []string{"follower_id", "channel_id", "created_at"}, len(follows),
		func(i int) []any { return []any{userID(follows[i][0]), chanID(follows[i][1]), t0 + int64(i)} }); err != nil {
		return err
	}
	live := rng.Perm(spec.Users)[:spec.Live]
	if err := insert("stream_sessions", []string{"id", "channel_id", "created_at", "started_at"}, len(live),
		func(i int) []any {
			return []any{fmt.Sprintf("st-seed%06d", i), chanID(live[i]), t0 + int64(i)*1000, t0 + int64(i)*1000 + 500}
		}); err != nil {
		return err
	}
	// The live channels' terms, as StartStreamSession copies them.
	if _, err := db.SQL().ExecContext(ctx, `INSERT INTO live_terms (term, channel_id)
		SELECT DISTINCT t.term, t.channel_id FROM channel_terms t
		JOIN stream_sessions live ON live.channel_id = t.channel_id AND live.ended_at IS NULL AND live.started_at IS NOT NULL`); err != nil {
		return fmt.Errorf("seeding live_terms: %w", err)
	}
	_, err := db.SQL().ExecContext(ctx, "ANALYZE") // both dialects: gather planner statistics
	return err
}

// Bench measures the channel-page queries on a seeded store and reports their latency
// percentiles; it prints the query plans once.
func Bench(b *testing.B, s Store, db *sqlstore.DB, spec SeedSpec) {
	ctx := context.Background()
	plans, err := db.QueryPlans(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if b.N == 1 || testing.Verbose() {
		for _, name := range []string{"channel", "following", "directory", "page", "search"} {
			b.Logf("%s plan (%s):\n  %s", name, db.Dialect(), strings.ReplaceAll(plans[name], "\n", "\n  "))
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	cases := []struct {
		name string
		fn   func() error
	}{
		{"Directory", func() error {
			list, err := s.Live(ctx, 50)
			if err == nil && len(list) != 50 {
				err = fmt.Errorf("directory has %d channels, want 50", len(list))
			}
			return err
		}},
		{"ChannelPage", func() error {
			i := rng.IntN(spec.Users)
			p, err := s.ProfileByUsername(ctx, SeedName(i))
			if err != nil {
				return err
			}
			viewer := fmt.Sprintf("u_seed%06d", rng.IntN(spec.Users))
			if _, err := s.IsFollowing(ctx, viewer, p.ChannelID); err != nil {
				return err
			}
			_, err = s.IsBanned(ctx, p.ChannelID, viewer)
			return err
		}},
		{"Search", func() error {
			// One of: a title word, two title words, a tag, a username prefix, a title
			// word in a category; each among the live channels, 50 at most.
			f := channels.DirectoryFilter{Limit: 50}
			switch k := rng.IntN(5); k {
			case 0:
				f.Words = []string{seedWords[rng.IntN(len(seedWords))]}
			case 1:
				f.Words = []string{seedWords[rng.IntN(len(seedWords))], prefix(seedWords[rng.IntN(len(seedWords))], 3)}
			case 2:
				f.Words = []string{strings.ToLower(seedTags[rng.IntN(len(seedTags))])}
			case 3:
				f.Words = []string{SeedName(rng.IntN(spec.Users))[:8]}
			default:
				f.Words = []string{prefix(seedWords[rng.IntN(len(seedWords))], 4)}
				f.Category = seedCategories[rng.IntN(len(seedCategories))]
			}
			_, err := s.Directory(ctx, f)
			return err
		}},
		{"FollowingList", func() error {
			list, err := s.Following(ctx, fmt.Sprintf("u_seed%06d", rng.IntN(spec.Users)), 500)
			if err == nil && len(list) != spec.FollowsPerUser {
				err = fmt.Errorf("following has %d channels, want %d", len(list), spec.FollowsPerUser)
			}
			return err
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var lat []time.Duration
			for b.Loop() {
				t := time.Now()
				if err := c.fn(); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t))
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}
