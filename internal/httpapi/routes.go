package httpapi

import (
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/livehouse/livehouse/internal/problem"
)

// route is one API route. Every route under /api/ is listed here and described in
// openapi.json; a test keeps the two in step.
type route struct {
	pattern string
	handler http.Handler
}

// routeRoles gives the role of the API routes that are not RoleAPI's.
var routeRoles = map[string]string{
	"POST /api/chat/token":  RoleChat,
	"GET /api/chat":         RoleChat,
	"POST /api/whip":        RoleMedia,
	"DELETE /api/whip/{id}": RoleMedia,

	"POST /api/whep/{channelId}":        RoleMedia,
	"DELETE /api/whep/{channelId}/{id}": RoleMedia,

	"POST /api/stages/{stageId}/participants/{id}/media":         RoleMedia,
	"DELETE /api/stages/{stageId}/participants/{id}":             RoleMedia,
	"POST /api/stages/{stageId}/participants/{id}/screen":        RoleMedia,
	"POST /api/stages/{stageId}/participants/{id}/subscriptions": RoleMedia,
	"DELETE /api/stages/{stageId}/subscriptions/{id}":            RoleMedia,
}

// roleOf is the role that serves a route.
func roleOf(pattern string) string {
	if role, ok := routeRoles[pattern]; ok {
		return role
	}
	return RoleAPI
}

// Node roles (the roles setting): what a node of a cluster serves.
const (
	RoleAll   = "all"
	RoleAPI   = "api"   // the REST API and the web app
	RoleChat  = "chat"  // chat tokens and chat WebSockets
	RoleMedia = "media" // WHIP ingest (RTMP is its own listener), WHEP playback and the HLS origin
	RoleEdge  = "edge"  // HLS relayed from the ingesting nodes
)

// serves reports whether a node of the given roles serves role (no roles: all of them).
func serves(roles []string, role string) bool {
	return len(roles) == 0 || slices.Contains(roles, RoleAll) || slices.Contains(roles, role)
}

// notServed answers requests for a role the node does not take: 421 Misdirected Request, as
// a load balancer sent it to the wrong kind of node, naming the role and the node's roles.
func notServed(role string, roles []string, log *slog.Logger) http.Handler {
	msg := "This node does not serve " + roleNames[role] + " (its roles: " + strings.Join(roles, ", ") + ")."
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, log, &problem.Problem{Kind: errMisdirected, Code: "RoleNotServed", Message: msg})
	})
}

var roleNames = map[string]string{RoleAPI: "the API", RoleChat: "chat", RoleMedia: "media ingest or playback", RoleEdge: "playback"}

// apiRoutes lists the REST API.
func apiRoutes(d Deps) []route {
	log, acc, chs := d.Log, d.Accounts, d.Channels
	links := newURLs(d.Config, d.Views)
	thumbs := newThumbnailIndex(d.Recordings)
	jar := cookies{secure: secureCookies(d.Config.PublicURL)}
	auth := func(h http.Handler) http.Handler { return requireUser(acc, log, h) }
	proxied := d.Config.TrustProxy
	return append([]route{
		{"GET /api/openapi.json", handleOpenAPI()},
		{"GET /api/config", handleClientConfig(d.Config, d.Products != nil)},

		{"POST /api/auth/register", handleRegister(acc, chs, links, proxied, log)},
		{"POST /api/auth/verify", handleVerify(acc, log)},
		{"POST /api/auth/verify/resend", handleResendVerification(acc, proxied, log)},
		{"POST /api/auth/login", handleLogin(acc, chs, links, jar, proxied, log)},
		{"POST /api/auth/logout", handleLogout(acc, jar, log)},
		{"POST /api/auth/password-reset", handlePasswordReset(acc, proxied, log)},
		{"POST /api/auth/password-reset/confirm", handlePasswordResetConfirm(acc, log)},

		{"GET /api/session", handleWhoAmI(acc, chs, links, log)},
		{"GET /api/me", auth(handleGetMe(chs, links, log))},
		{"PATCH /api/me", auth(handlePatchMe(acc, chs, links, proxied, log))},
		{"DELETE /api/me", auth(handleDeleteMe(acc, jar, proxied, log))},
		{"PUT /api/me/password", auth(handleChangePassword(acc, proxied, log))},
		{"POST /api/me/stream-key/reset", auth(handleResetStreamKey(chs, log))},
		{"PUT /api/me/assets/{kind}", auth(handleUploadAsset(chs, log))},
		{"DELETE /api/me/assets/{kind}", auth(handleDeleteAsset(chs, log))},
		{"GET /api/me/following", auth(handleFollowing(chs, d.Viewers, thumbs, log))},
		{"PUT /api/me/following/{username}", auth(handleFollow(chs, true, log))},
		{"DELETE /api/me/following/{username}", auth(handleFollow(chs, false, log))},
		{"GET /api/me/stream-actions", auth(handleGetStreamActions(chs, d.Actions, log))},
		{"POST /api/me/stream-actions", auth(handleStartStreamAction(chs, d.Actions, log))},
		{"DELETE /api/me/stream-actions", auth(handleStopStreamAction(chs, d.Actions, log))},
		{"PUT /api/me/stream-actions/saved/{name}", auth(handleSaveStreamAction(d.Actions, log))},
		{"GET /api/me/sessions", auth(handleSessions(d.Health, log))},
		{"GET /api/me/sessions/{sessionId}", auth(handleSession(d.Health, log))},

		{"GET /api/channels", handleDirectory(chs, d.Viewers, stageDirectory(d.Stages), thumbs, log)},
		{"GET /api/categories", handleCategories(chs, log)},
		{"GET /api/channels/{username}", handleChannel(acc, chs, d.Viewers, d.Views, stageDirectory(d.Stages), thumbs, links, log)},
		{"POST /api/channels/{username}/views", handleViewBeacon(chs, d.Views, d.Config.TrustProxy, log)},
		{"DELETE /api/channels/{username}/views", handleViewLeave(chs, d.Views, log)},
		{"GET /api/channels/{username}/bans", auth(ownerOf(log, handleBans(chs, log)))},
		{"PUT /api/channels/{username}/bans/{user}", auth(ownerOf(log, handleBan(chs, true, log)))},
		{"DELETE /api/channels/{username}/bans/{user}", auth(ownerOf(log, handleBan(chs, false, log)))},
		{"GET /api/channels/{username}/privacy", auth(ownerOf(log, handleGetPrivacy(chs, log)))},
		{"PUT /api/channels/{username}/privacy", auth(ownerOf(log, handleSetPrivacy(chs, log)))},
		{"GET /api/channels/{username}/allowlist", auth(ownerOf(log, handleAllowlist(chs, log)))},
		{"PUT /api/channels/{username}/allowlist/{user}", auth(ownerOf(log, handleAllow(chs, true, log)))},
		{"DELETE /api/channels/{username}/allowlist/{user}", auth(ownerOf(log, handleAllow(chs, false, log)))},
		{"GET /api/channels/{username}/invites", auth(ownerOf(log, handleInvites(chs, log)))},
		{"POST /api/channels/{username}/invites", auth(ownerOf(log, handleCreateInvite(chs, links, log)))},
		{"DELETE /api/channels/{username}/invites/{id}", auth(ownerOf(log, handleRevokeInvite(chs, log)))},
		{"POST /api/invites/accept", auth(handleAcceptInvite(chs, log))},
		{"GET /api/channels/{username}/poll", handleGetPoll(acc, chs, d.Polls, log)},
		{"POST /api/channels/{username}/poll", auth(ownerOf(log, handleStartPoll(chs, d.Polls, log)))},
		{"DELETE /api/channels/{username}/poll", auth(ownerOf(log, handleEndPoll(chs, d.Polls, log)))},
		{"POST /api/channels/{username}/poll/votes", auth(handleVote(chs, d.Polls, log))},
		{"GET /api/me/sessions/{sessionId}/polls", auth(handleSessionPolls(chs, d.Polls, log))},
		{"GET /api/channels/{username}/chat-settings", handleGetChatSettings(acc, chs, d.Chat, log)},
		{"PUT /api/channels/{username}/chat-settings", auth(ownerOf(log, handlePutChatSettings(chs, d.Chat, log)))},
		{"GET /api/assets/{channelId}/{kind}/{version}", handleAsset(chs, log)},
		{"GET /api/images", handleImageProxy(d.Images, log)},

		{"POST /api/chat/token", handleChatToken(acc, chs, d.Chat, log)},
		{"GET /api/chat", handleChatSocket(d.Chat, d.Sockets, d.Config.TrustProxy, log)},

		{"GET /api/products", auth(handleProductSearch(d.Products, chs, log))},

		{"GET /api/channels/{username}/videos", handleChannelVideos(acc, chs, d.Recordings, log)},
		{"GET /api/channels/{username}/thumbnail.jpg", handleThumbnail(acc, chs, d.Recordings, log)},
		{"GET /api/videos/{id}", handleVideo(acc, chs, d.Recordings, log)},
		{"GET /api/videos/{id}/chat", handleVideoChat(acc, chs, d.Recordings, log)},
		{"PATCH /api/videos/{id}", auth(handleUpdateVideo(d.Recordings, log))},
		{"DELETE /api/videos/{id}", auth(handleDeleteVideo(d.Recordings, log))},
		{"GET /api/me/recording", auth(handleGetRecordingSetting(chs, d.Recordings, log))},
		{"PUT /api/me/recording", auth(handlePutRecordingSetting(chs, d.Recordings, log))},

		{"GET /api/push/key", handlePushKey(d.Notifications, log)},
		{"GET /api/me/notifications", auth(handleGetNotificationSettings(d.Notifications, log))},
		{"PATCH /api/me/notifications", auth(handlePatchNotificationSettings(d.Notifications, log))},
		{"GET /api/me/following/{username}/notifications", auth(handleGetBell(d.Notifications, log))},
		{"PUT /api/me/following/{username}/notifications", auth(handlePutBell(d.Notifications, log))},
		{"POST /api/me/push-subscriptions", auth(handleSubscribePush(d.Notifications, log))},
		{"DELETE /api/me/push-subscriptions", auth(handleUnsubscribePush(d.Notifications, log))},

		{"POST /api/whip", handleWHIPPublish(d.WHIP, log)},
		{"DELETE /api/whip/{id}", handleWHIPEnd(d.WHIP, log)},
		{"POST /api/whep/{channelId}", onHome(d, liveOfPath(d.Homes), handleWHEPPlay(d.WHEP, d.Config.TrustProxy, log))},
		{"DELETE /api/whep/{channelId}/{id}", onHome(d, liveOfPath(d.Homes), handleWHEPLeave(d.WHEP, log))},
	}, stageRoutes(d, auth)...)
}

// stageRoutes lists the stage routes; without an SFU they all answer 404 StagesDisabled.
func stageRoutes(d Deps, auth func(http.Handler) http.Handler) []route {
	log, st := d.Log, d.Stages
	var ice []string
	if d.WHEP != nil {
		ice = d.WHEP.ICEServers()
	}
	on := func(h func() http.Handler) http.Handler {
		if st == nil {
			return stagesOff(log)
		}
		return h()
	}
	// Each route is answered on the stage's home node (onHome): by the channel's, the
	// caller's own or the path's stage.
	byChannel := func(h http.Handler) http.Handler { return onHome(d, stageOfChannel(d.Homes), h) }
	byCaller := func(h http.Handler) http.Handler { return onHome(d, stageOfCaller(d.Homes), h) }
	byPath := func(h http.Handler) http.Handler { return onHome(d, stageOfPath(d.Homes), h) }
	return []route{
		{"GET /api/channels/{username}/stage", byChannel(on(func() http.Handler { return handleChannelStage(d.Accounts, st, log) }))},
		{"POST /api/channels/{username}/stage/requests", auth(byChannel(on(func() http.Handler { return handleStageRequest(st, true, log) })))},
		{"DELETE /api/channels/{username}/stage/requests", auth(byChannel(on(func() http.Handler { return handleStageRequest(st, false, log) })))},
		{"POST /api/channels/{username}/stage/participants", auth(byChannel(on(func() http.Handler { return handleJoinStage(st, log) })))},
		{"GET /api/me/stage", auth(byCaller(on(func() http.Handler { return handleMyStage(st, log) })))},
		{"POST /api/me/stage", auth(byCaller(on(func() http.Handler { return handleStartStage(st, log) })))},
		{"DELETE /api/me/stage", auth(byCaller(on(func() http.Handler { return handleEndStage(st, log) })))},
		{"PUT /api/me/stage/requests/{username}", auth(byCaller(on(func() http.Handler { return handleAnswerRequest(st, true, log) })))},
		{"DELETE /api/me/stage/requests/{username}", auth(byCaller(on(func() http.Handler { return handleAnswerRequest(st, false, log) })))},
		{"DELETE /api/me/stage/participants/{id}", auth(byCaller(on(func() http.Handler { return handleKick(st, log) })))},
		{"POST /api/stages/{stageId}/participants/{id}/media", byPath(on(func() http.Handler { return handleStagePublish(st, ice, log) }))},
		{"DELETE /api/stages/{stageId}/participants/{id}", byPath(on(func() http.Handler { return handleStageLeave(st, log) }))},
		{"POST /api/stages/{stageId}/participants/{id}/screen", byPath(on(func() http.Handler { return handleShareScreen(st, log) }))},
		{"POST /api/stages/{stageId}/participants/{id}/subscriptions", byPath(on(func() http.Handler { return handleStageSubscribe(st, ice, d.Config.TrustProxy, log) }))},
		{"DELETE /api/stages/{stageId}/subscriptions/{id}", byPath(on(func() http.Handler { return handleStageUnsubscribe(st, log) }))},
	}
}

// addRoutes mounts everything the server answers. A route of a role the node does not take
// answers 421 naming the role; health and metrics are on every node.
func addRoutes(mux *http.ServeMux, d Deps) {
	for _, r := range apiRoutes(d) {
		if role := roleOf(r.pattern); !serves(d.Roles, role) {
			r.handler = notServed(role, d.Roles, d.Log)
		}
		mux.Handle(r.pattern, r.handler)
	}
	mux.Handle("/api/", apiFallback(mux, d.Log))
	switch {
	case !serves(d.Roles, RoleMedia) && !serves(d.Roles, RoleEdge):
		mux.Handle("/hls/", notServed(RoleEdge, d.Roles, d.Log))
	case d.HLS != nil:
		mux.Handle("/hls/", d.HLS) // it checks every request's playback token itself
	}
	if d.Recordings != nil { // from the recordings storage, on any node that reaches it
		mux.Handle("GET /hls/vod/{id}/{file...}", handleVOD(d.Accounts, d.Channels, d.Recordings, d.Log))
	}
	mux.Handle("GET /healthz", handleHealthz(d.Checks))
	mux.Handle("GET /metrics", promhttp.HandlerFor(d.Registry, promhttp.HandlerOpts{}))
	if serves(d.Roles, RoleAPI) {
		mux.Handle("/", handleWebApp(d.Web))
	} else {
		mux.Handle("/", notServed(RoleAPI, d.Roles, d.Log))
	}
}
