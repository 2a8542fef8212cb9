package httpapi

import (
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/livehouse/livehouse/internal/accounts"
	"github.com/livehouse/livehouse/internal/channels"
	"github.com/livehouse/livehouse/internal/playback"
	"github.com/livehouse/livehouse/internal/problem"
	"github.com/livehouse/livehouse/internal/viewers"
)

// urls builds the public URLs the API hands out.
type urls struct {
	public string           // base URL of the web app, no trailing slash
	rtmp   string           // rtmp://host:port/live/
	rtmps  string           // rtmps://host:port/live/, or empty
	srt    string           // srt://host:port?streamid=publish:, or empty
	views  *viewers.Service // mints playback tokens; nil hands out URLs without one
}

func newURLs(c Config, views *viewers.Service) urls {
	return urls{public: strings.TrimSuffix(c.PublicURL, "/"), rtmp: c.RTMPURL, rtmps: c.RTMPSURL, srt: c.SRTURL, views: views}
}

// playback is the channel's multivariant playlist URL with a fresh playback token for the
// viewer (userID empty for an anonymous one), and the token's ticket (zero without tokens).
// The caller has checked that the viewer may watch the channel.
func (u urls) playback(channelID, userID string) (string, viewers.Ticket) {
	base := u.public + "/hls/" + channelID + "/index.m3u8"
	if u.views == nil {
		return base, viewers.Ticket{}
	}
	t := u.views.Grant(channelID, userID)
	return base + "?" + playback.Param + "=" + url.QueryEscape(t.Token), t
}

func (u urls) whip() string { return u.public + "/api/whip" }

// asset is the immutable URL of an uploaded picture.
func assetURL(channelID, kind, version string) string {
	if version == "" {
		return ""
	}
	return "/api/assets/" + channelID + "/" + kind + "/" + version
}

// channelCard is a channel in lists: the directory, following lists, ban lists.
type channelCard struct {
	ChannelID   string     `json:"channelId"`
	Username    string     `json:"username"`
	Color       string     `json:"color"`
	Avatar      string     `json:"avatar"`
	AvatarURL   string     `json:"avatarUrl,omitempty"`
	BannerURL   string     `json:"bannerUrl,omitempty"`
	IsLive      bool       `json:"isLive"`
	LiveSince   *time.Time `json:"liveSince,omitempty"`
	ViewerCount int        `json:"viewerCount"`
	FollowedAt  *time.Time `json:"followedAt,omitempty"`
	IsPrivate   bool       `json:"isPrivate"`
	// ThumbnailURL: a live channel's thumbnail, once one is made (for those who may watch it).
	ThumbnailURL string `json:"thumbnailUrl,omitempty"`
	// HasStage: the channel's owner hosts an open stage (multi-host, watched over WebRTC).
	HasStage bool `json:"hasStage"`
	streamInfo
}

// streamInfo is what the streamer says about their stream.
type streamInfo struct {
	Title        string   `json:"title"`
	Category     string   `json:"category"`     // a category slug, "" for none
	CategoryName string   `json:"categoryName"` // its display name
	Tags         []string `json:"tags"`
}

func infoOf(p *channels.Profile) streamInfo {
	tags := p.Tags
	if tags == nil {
		tags = []string{}
	}
	return streamInfo{Title: p.Title, Category: p.Category, CategoryName: p.CategoryName, Tags: tags}
}

func card(p *channels.Profile) channelCard {
	thumb := ""
	if p.LiveSince != nil {
		thumb = thumbnailURL(p.Username)
	}
	return channelCard{
		ThumbnailURL: thumb,
		streamInfo:   infoOf(p),
		ChannelID:    p.ChannelID, Username: p.Username, Color: p.Color, Avatar: p.Avatar,
		AvatarURL: assetURL(p.ChannelID, channels.AssetAvatar, p.AvatarVersion),
		BannerURL: assetURL(p.ChannelID, channels.AssetBanner, p.BannerVersion),
		IsLive:    p.LiveSince != nil, LiveSince: p.LiveSince, FollowedAt: p.FollowedAt, IsPrivate: p.Private,
	}
}

func cards(ps []*channels.Profile) []channelCard {
	out := make([]channelCard, 0, len(ps))
	for _, p := range ps {
		out = append(out, card(p))
	}
	return out
}

// ViewerCounter tells how many players watch a channel now.
type ViewerCounter interface {
	Viewers(channelID string) int
}

// countViewers fills in the viewer counts of live channels.
func countViewers(vc ViewerCounter, list []channelCard) {
	if vc == nil {
		return
	}
	for i := range list {
		if list[i].IsLive {
			list[i].ViewerCount = vc.Viewers(list[i].ChannelID)
		}
	}
}

// channelPage is GET /api/channels/{username}: public fields, plus the viewer's relation.
// A viewer who may watch gets a playback token: on the playback URL, and on its own for the
// player, which sends it on every media request and renews it through its viewing beacon.
type channelPage struct {
	channelCard
	PlaybackURL            string     `json:"playbackUrl,omitempty"`
	PlaybackToken          string     `json:"playbackToken,omitempty"`
	PlaybackTokenExpiresAt *time.Time `json:"playbackTokenExpiresAt,omitempty"`
	IsFollowed             bool       `json:"isFollowed"`
	IsBanned               bool       `json:"isBanned"`
	IsOwner                bool       `json:"isOwner"`
	// MayWatch: the viewer gets playback and chat (not when banned, nor when the channel is
	// private and they are not its owner or on its allowlist).
	MayWatch bool `json:"mayWatch"`
}

// optionalUser is the caller if they sent a session, nil if they sent none; a session that
// is sent but invalid is an error rather than silently anonymous.
func optionalUser(acc *accounts.Service, r *http.Request) (*accounts.User, error) {
	token := sessionToken(r)
	if token == "" {
		return nil, nil
	}
	u, _, err := acc.Authenticate(r.Context(), token)
	return u, err
}

func handleChannel(acc *accounts.Service, ch *channels.Service, vc ViewerCounter, views *viewers.Service, st StageDirectory, thumbs *thumbnailIndex, u urls, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		viewer, err := optionalUser(acc, r)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		p, err := ch.ByUsername(r.Context(), r.PathValue("username"))
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		page := channelPage{channelCard: card(p)}
		userID := ""
		if viewer != nil {
			userID = viewer.ID
			page.IsOwner = viewer.ID == p.UserID
		}
		state, err := ch.Viewer(r.Context(), p, userID)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		page.IsFollowed, page.IsBanned, page.MayWatch = state.Following, state.Banned, state.MayWatch
		if p.Private && !state.MayWatch {
			// Nothing of the stream for those not on the allowlist: not even whether it is live.
			page.IsLive, page.LiveSince, page.ThumbnailURL = false, nil, ""
		}
		if page.ThumbnailURL != "" && !thumbs.has(r.Context(), p.ChannelID) {
			page.ThumbnailURL = ""
		}
		page.HasStage = st != nil && (!p.Private || state.MayWatch) && st.Active(r.Context(), p.ChannelID)
		if vc != nil && (page.IsLive || page.HasStage) { // a stage's spectators count too
			page.ViewerCount = vc.Viewers(p.ChannelID)
		}
		if state.MayWatch {
			var t viewers.Ticket
			page.PlaybackURL, t = u.playback(p.ChannelID, userID)
			if t.Token != "" {
				exp := t.Expires.UTC()
				page.PlaybackToken, page.PlaybackTokenExpiresAt = t.Token, &exp
			}
		}
		w.Header().Set("Cache-Control", "no-store") // it carries a token minted for this viewer
		encode(w, http.StatusOK, page)
	})
}

// handleDirectory is GET /api/channels?live=true[&category=SLUG][&q=WORDS][&sort=recent|viewers][&limit=N].
func handleDirectory(ch *channels.Service, vc ViewerCounter, st StageDirectory, thumbs *thumbnailIndex, log *slog.Logger) http.Handler {
	type response struct {
		Channels   []channelCard `json:"channels"`
		MaxResults int           `json:"maxResults"`
		// Next is the after of the next page, when this one is full (sort=recent).
		Next string `json:"next,omitempty"`
	}
	return withoutBody(log, func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		v := r.URL.Query()
		if v.Get("live") != "true" {
			return 0, nil, problem.Invalid("MissingFilter", "live", "Add the filter live=true.")
		}
		q := channels.DirectoryQuery{Category: v.Get("category"), Query: v.Get("q"), Sort: v.Get("sort"), After: v.Get("after")}
		if s := v.Get("limit"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > channels.DirectorySize {
				return 0, nil, problem.Invalid("InvalidLimit", "limit", "limit must be a whole number from 1 to "+strconv.Itoa(channels.DirectorySize)+".")
			}
			q.Limit = n
		}
		var count func(string) int
		if vc != nil {
			count = vc.Viewers
		}
		list, next, err := ch.Directory(r.Context(), q, count)
		if err != nil {
			return 0, nil, err
		}
		out := cards(list)
		countViewers(vc, out)
		thumbs.fill(r.Context(), out)
		if q.Category == "" && q.Query == "" {
			out, err = withStages(r.Context(), ch, st, out, q.Limit, next == "")
		}
		return http.StatusOK, response{Channels: out, MaxResults: channels.DirectorySize, Next: next}, err
	})
}

// handleCategories is GET /api/categories: the operator's list, in order.
func handleCategories(ch *channels.Service, log *slog.Logger) http.Handler {
	type category struct {
		Slug string `json:"slug"`
		Name string `json:"name"`
	}
	type response struct {
		Categories []category `json:"categories"`
	}
	return withoutBody(log, func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		list, err := ch.Categories(r.Context())
		out := make([]category, 0, len(list))
		for _, c := range list {
			out = append(out, category{Slug: c.Slug, Name: c.Name})
		}
		return http.StatusOK, response{Categories: out}, err
	})
}

func handleFollowing(ch *channels.Service, vc ViewerCounter, thumbs *thumbnailIndex, log *slog.Logger) http.Handler {
	type response struct {
		Channels []channelCard `json:"channels"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := channels.MaxFollowing
		if s := r.URL.Query().Get("limit"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > channels.MaxFollowing {
				writeError(w, r, log, problem.Invalid("InvalidLimit", "limit", "limit must be a whole number from 1 to "+strconv.Itoa(channels.MaxFollowing)+"."))
				return
			}
			limit = n
		}
		list, err := ch.Following(r.Context(), currentUser(r).ID, limit)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		out := cards(list)
		countViewers(vc, out) // the same count as the directory's, from the same source
		thumbs.fill(r.Context(), out)
		encode(w, http.StatusOK, response{Channels: out})
	})
}

func handleFollow(ch *channels.Service, follow bool, log *slog.Logger) http.Handler {
	return withoutBody(log, func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		if follow {
			return http.StatusNoContent, nil, ch.Follow(r.Context(), currentUser(r).ID, r.PathValue("username"))
		}
		return http.StatusNoContent, nil, ch.Unfollow(r.Context(), currentUser(r).ID, r.PathValue("username"))
	})
}

func handleResetStreamKey(ch *channels.Service, log *slog.Logger) http.Handler {
	type response struct {
		StreamKey string `json:"streamKey"`
	}
	return withoutBody(log, func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		if !currentUser(r).Verified() { // as GET /api/me: no key before the email is confirmed
			return 0, nil, errNotVerified
		}
		key, err := ch.ResetStreamKey(r.Context(), currentUser(r).ID)
		return http.StatusOK, response{StreamKey: key}, err
	})
}

// handleUploadAsset takes the picture as the raw request body (image/jpeg, image/png or
// image/webp), so that no multipart parsing stands between the limit and the decoder.
func handleUploadAsset(ch *channels.Service, log *slog.Logger) http.Handler {
	type response struct {
		URL string `json:"url"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kind := r.PathValue("kind")
		limit := channels.MaxUploadBytes(kind)
		if limit == 0 {
			writeError(w, r, log, problem.NotFound("InvalidAssetType", "Upload an avatar or a banner."))
			return
		}
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if mt != "image/jpeg" && mt != "image/png" && mt != "image/webp" {
			writeError(w, r, log, &problem.Problem{Kind: errUnsupportedMedia, Code: "UnsupportedMediaType", Message: "Upload a JPEG, PNG or WebP image."})
			return
		}
		data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(limit)))
		if err != nil {
			writeError(w, r, log, &problem.Problem{Kind: problem.ErrTooLarge, Code: "ImageTooLarge", Field: "file",
				Message: "Image exceeded max file size (" + strconv.Itoa(limit>>20) + " MB)"})
			return
		}
		a, err := ch.Upload(r.Context(), currentUser(r).ID, kind, data)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		encode(w, http.StatusOK, response{URL: assetURL(a.ChannelID, a.Kind, a.Version)})
	})
}

func handleDeleteAsset(ch *channels.Service, log *slog.Logger) http.Handler {
	return withoutBody(log, func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		u := currentUser(r)
		return http.StatusNoContent, nil, ch.DeleteAsset(r.Context(), u.ID, u.Username, r.PathValue("kind"))
	})
}

// handleAsset serves an uploaded picture. Its URL carries its version, so it never changes
// and may be cached for good.
func handleAsset(ch *channels.Service, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, err := ch.AssetFor(r.Context(), r.PathValue("channelId"), r.PathValue("kind"), r.PathValue("version"))
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		w.Header().Set("Content-Type", a.ContentType)
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		w.Header().Set("Content-Length", strconv.Itoa(len(a.Data)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(a.Data)
	})
}

// ownerOf lets a request through only when the caller owns the channel in the path.
func ownerOf(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(currentUser(r).Username, r.PathValue("username")) {
			writeError(w, r, log, problem.Forbidden("NotChannelOwner", "Only the channel's owner may do this."))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func handleBan(ch *channels.Service, ban bool, log *slog.Logger) http.Handler {
	return withoutBody(log, func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		u := currentUser(r)
		if ban {
			return http.StatusNoContent, nil, ch.Ban(r.Context(), u.ID, u.Username, r.PathValue("user"))
		}
		return http.StatusNoContent, nil, ch.Unban(r.Context(), u.Username, r.PathValue("user"))
	})
}

func handleBans(ch *channels.Service, log *slog.Logger) http.Handler {
	type response struct {
		Users []channelCard `json:"users"`
	}
	return withoutBody(log, func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		own, err := ch.ForOwner(r.Context(), currentUser(r).ID)
		if err != nil {
			return 0, nil, err
		}
		list, err := ch.Bans(r.Context(), own.ID)
		return http.StatusOK, response{Users: cards(list)}, err
	})
}
