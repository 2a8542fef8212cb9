package httpapi

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// route is one API route. Every route under /api/ is listed here and described in
// openapi.json; a test keeps the two in step.
type route struct {
	pattern string
	handler http.Handler
}

// apiRoutes lists the REST API.
func apiRoutes(d Deps) []route {
	log, acc, chs := d.Log, d.Accounts, d.Channels
	links := newURLs(d.Config)
	jar := cookies{secure: secureCookies(d.Config.PublicURL)}
	auth := func(h http.Handler) http.Handler { return requireUser(acc, log, h) }
	return []route{
		{"GET /api/openapi.json", handleOpenAPI()},
		{"GET /api/config", handleClientConfig(d.Config, d.Products != nil)},

		{"POST /api/auth/register", handleRegister(acc, chs, links, log)},
		{"POST /api/auth/verify", handleVerify(acc, log)},
		{"POST /api/auth/verify/resend", handleResendVerification(acc, log)},
		{"POST /api/auth/login", handleLogin(acc, chs, links, jar, d.Config.TrustProxy, log)},
		{"POST /api/auth/logout", handleLogout(acc, jar, log)},
		{"POST /api/auth/password-reset", handlePasswordReset(acc, log)},
		{"POST /api/auth/password-reset/confirm", handlePasswordResetConfirm(acc, log)},

		{"GET /api/session", handleWhoAmI(acc, chs, links, log)},
		{"GET /api/me", auth(handleGetMe(chs, links, log))},
		{"PATCH /api/me", auth(handlePatchMe(acc, chs, links, log))},
		{"DELETE /api/me", auth(handleDeleteMe(acc, jar, log))},
		{"PUT /api/me/password", auth(handleChangePassword(acc, log))},
		{"POST /api/me/stream-key/reset", auth(handleResetStreamKey(chs, log))},
		{"PUT /api/me/assets/{kind}", auth(handleUploadAsset(chs, log))},
		{"DELETE /api/me/assets/{kind}", auth(handleDeleteAsset(chs, log))},
		{"GET /api/me/following", auth(handleFollowing(chs, d.Viewers, log))},
		{"PUT /api/me/following/{username}", auth(handleFollow(chs, true, log))},
		{"DELETE /api/me/following/{username}", auth(handleFollow(chs, false, log))},
		{"GET /api/me/stream-actions", auth(handleGetStreamActions(chs, d.Actions, log))},
		{"POST /api/me/stream-actions", auth(handleStartStreamAction(chs, d.Actions, log))},
		{"DELETE /api/me/stream-actions", auth(handleStopStreamAction(chs, d.Actions, log))},
		{"PUT /api/me/stream-actions/saved/{name}", auth(handleSaveStreamAction(d.Actions, log))},
		{"GET /api/me/sessions", auth(handleSessions(d.Health, log))},
		{"GET /api/me/sessions/{sessionId}", auth(handleSession(d.Health, log))},

		{"GET /api/channels", handleDirectory(chs, d.Viewers, log)},
		{"GET /api/channels/{username}", handleChannel(acc, chs, d.Viewers, links, log)},
		{"GET /api/channels/{username}/bans", auth(ownerOf(log, handleBans(chs, log)))},
		{"PUT /api/channels/{username}/bans/{user}", auth(ownerOf(log, handleBan(chs, true, log)))},
		{"DELETE /api/channels/{username}/bans/{user}", auth(ownerOf(log, handleBan(chs, false, log)))},
		{"GET /api/assets/{channelId}/{kind}/{version}", handleAsset(chs, log)},
		{"GET /api/images", handleImageProxy(d.Images, log)},

		{"POST /api/chat/token", handleChatToken(acc, chs, d.Chat, log)},
		{"GET /api/chat", handleChatSocket(d.Chat, d.Sockets, d.Config.TrustProxy, log)},

		{"GET /api/products", auth(handleProductSearch(d.Products, chs, log))},

		{"POST /api/whip", handleWHIPPublish(d.WHIP, log)},
		{"DELETE /api/whip/{id}", handleWHIPEnd(d.WHIP, log)},
	}
}

// addRoutes mounts everything the server answers.
func addRoutes(mux *http.ServeMux, d Deps) {
	for _, r := range apiRoutes(d) {
		mux.Handle(r.pattern, r.handler)
	}
	mux.Handle("/api/", apiFallback(mux, d.Log))
	if d.HLS != nil {
		mux.Handle("/hls/", d.HLS)
	}
	mux.Handle("GET /healthz", handleHealthz(d.Checks))
	mux.Handle("GET /metrics", promhttp.HandlerFor(d.Registry, promhttp.HandlerOpts{}))
	mux.Handle("/", handleWebApp(d.Web))
}
