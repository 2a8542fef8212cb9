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
	log, acc, store, box := d.Log, d.Accounts, d.Channels, d.KeyBox
	jar := cookies{secure: secureCookies(d.Config.PublicURL)}
	auth := func(h http.Handler) http.Handler { return requireUser(acc, log, h) }
	return []route{
		{"GET /api/openapi.json", handleOpenAPI()},
		{"GET /api/config", handleClientConfig(d.Config)},

		{"POST /api/auth/register", handleRegister(acc, store, box, log)},
		{"POST /api/auth/verify", handleVerify(acc, log)},
		{"POST /api/auth/verify/resend", handleResendVerification(acc, log)},
		{"POST /api/auth/login", handleLogin(acc, store, box, jar, d.Config.TrustProxy, log)},
		{"POST /api/auth/logout", handleLogout(acc, jar, log)},
		{"POST /api/auth/password-reset", handlePasswordReset(acc, log)},
		{"POST /api/auth/password-reset/confirm", handlePasswordResetConfirm(acc, log)},

		{"GET /api/me", auth(handleGetMe(store, box, log))},
		{"PATCH /api/me", auth(handlePatchMe(acc, store, box, log))},
		{"DELETE /api/me", auth(handleDeleteMe(acc, jar, log))},
		{"PUT /api/me/password", auth(handleChangePassword(acc, log))},
	}
}

// addRoutes mounts everything the server answers.
func addRoutes(mux *http.ServeMux, d Deps) {
	for _, r := range apiRoutes(d) {
		mux.Handle(r.pattern, r.handler)
	}
	mux.Handle("/api/", apiFallback(mux, d.Log))
	mux.Handle("GET /healthz", handleHealthz(d.Checks))
	mux.Handle("GET /metrics", promhttp.HandlerFor(d.Registry, promhttp.HandlerOpts{}))
	mux.Handle("/", handleWebApp(d.Web))
}
