package httpapi_test

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestBadInput: every malformed request gets a 4xx with a clear error and changes nothing.
func TestBadInput(t *testing.T) {
	e := newEnv(t, autoVerify(true))
	alice := e.signUp("alice")
	long := strings.Repeat("x", 70<<10)
	tests := []struct {
		name, method, path string
		auth               bool
		body               any
		status             int
		code               string
	}{
		{"malformed JSON", "POST", "/api/auth/register", false, `{"username":`, 400, "InvalidJSON"},
		{"not an object", "POST", "/api/auth/register", false, `[1,2]`, 400, "InvalidJSON"},
		{"empty body", "POST", "/api/auth/login", false, ``, 400, "InvalidJSON"},
		{"trailing data", "POST", "/api/auth/login", false, `{"username":"a","password":"b"} {}`, 400, "InvalidJSON"},
		{"wrong type", "POST", "/api/auth/register", false, `{"username":42,"email":"x@example.com","password":"Passw0rd!"}`, 400, "InvalidJSON"},
		{"unknown field", "POST", "/api/auth/register", false, `{"username":"bobby","email":"b@example.com","password":"Passw0rd!","admin":true}`, 400, "InvalidJSON"},
		{"oversize body", "POST", "/api/auth/register", false, `{"username":"` + long + `"}`, 413, "PayloadTooLarge"},
		{"missing field", "POST", "/api/auth/register", false, map[string]string{"username": "bobby", "email": "b@example.com"}, 400, "MissingField"},
		{"username too short", "POST", "/api/auth/register", false, map[string]string{"username": "bob", "email": "b@example.com", "password": password}, 400, "InvalidUsername"},
		{"username too long", "POST", "/api/auth/register", false, map[string]string{"username": strings.Repeat("b", 21), "email": "b@example.com", "password": password}, 400, "InvalidUsername"},
		{"username bad chars", "POST", "/api/auth/register", false, map[string]string{"username": "bob by", "email": "b@example.com", "password": password}, 400, "InvalidUsername"},
		{"username reserved", "POST", "/api/auth/register", false, map[string]string{"username": "Settings", "email": "b@example.com", "password": password}, 400, "ReservedUsername"},
		{"username taken other case", "POST", "/api/auth/register", false, map[string]string{"username": "ALICE", "email": "b@example.com", "password": password}, 409, "UsernameExists"},
		{"email invalid", "POST", "/api/auth/register", false, map[string]string{"username": "bobby", "email": "bob@", "password": password}, 400, "InvalidEmail"},
		{"email with name", "POST", "/api/auth/register", false, map[string]string{"username": "bobby", "email": "Bob <b@example.com>", "password": password}, 400, "InvalidEmail"},
		{"email taken other case", "POST", "/api/auth/register", false, map[string]string{"username": "bobby", "email": "ALICE@example.com", "password": password}, 409, "EmailExists"},
		{"password short", "POST", "/api/auth/register", false, map[string]string{"username": "bobby", "email": "b@example.com", "password": "Pa0!"}, 400, "InvalidPassword"},
		{"password no symbol", "POST", "/api/auth/register", false, map[string]string{"username": "bobby", "email": "b@example.com", "password": "Passw0rdd"}, 400, "InvalidPassword"},
		{"password no upper", "POST", "/api/auth/register", false, map[string]string{"username": "bobby", "email": "b@example.com", "password": "passw0rd!"}, 400, "InvalidPassword"},
		{"password no digit", "POST", "/api/auth/register", false, map[string]string{"username": "bobby", "email": "b@example.com", "password": "Password!"}, 400, "InvalidPassword"},
		{"not JSON content type", "POST", "/api/auth/login", false, formBody("username=a"), 415, "UnsupportedMediaType"},
		{"bad login", "POST", "/api/auth/login", false, map[string]string{"username": "alice", "password": "Wrong-pass1"}, 401, "InvalidCredentials"},
		{"unknown verify code", "POST", "/api/auth/verify", false, map[string]string{"code": "nope"}, 400, "InvalidCode"},
		{"unknown reset code", "POST", "/api/auth/password-reset/confirm", false, map[string]string{"code": "nope", "password": "N3w-Passw0rd"}, 400, "InvalidCode"},
		{"reset bad email", "POST", "/api/auth/password-reset", false, map[string]string{"email": "not-an-email"}, 400, "InvalidEmail"},
		{"rename invalid", "PATCH", "/api/me", true, map[string]string{"username": "a b"}, 400, "InvalidUsername"},
		{"rename reserved", "PATCH", "/api/me", true, map[string]string{"username": "manager"}, 400, "ReservedUsername"},
		{"email change no password", "PATCH", "/api/me", true, map[string]string{"email": "new@example.com"}, 401, "IncorrectPassword"},
		{"same new password", "PUT", "/api/me/password", true, map[string]string{"currentPassword": password, "newPassword": password}, 400, "SamePassword"},
		{"weak new password", "PUT", "/api/me/password", true, map[string]string{"currentPassword": password, "newPassword": "weakweak"}, 400, "InvalidPassword"},
		{"wrong current password", "PUT", "/api/me/password", true, map[string]string{"currentPassword": "Wrong-pass1", "newPassword": "N3w-Passw0rd"}, 401, "IncorrectPassword"},
		{"delete wrong password", "DELETE", "/api/me", true, map[string]string{"password": "Wrong-pass1"}, 401, "IncorrectPassword"},
		{"delete no body", "DELETE", "/api/me", true, nil, 400, "InvalidJSON"},
		{"unknown API route", "GET", "/api/nope", false, nil, 404, "NotFound"},
		{"wrong method", "GET", "/api/auth/login", false, nil, 405, "MethodNotAllowed"},
	}
	before := e.want(e.call("GET", "/api/me", alice.token, nil), 200).body
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token := ""
			if tt.auth {
				token = alice.token
			}
			res := e.call(tt.method, tt.path, token, tt.body)
			if res.status != tt.status {
				t.Fatalf("status = %d, want %d: %s", res.status, tt.status, res.body)
			}
			if got := res.errorCode(t); got != tt.code {
				t.Errorf("code = %s, want %s", got, tt.code)
			}
		})
	}
	// Nothing changed: alice is as she was, and no account "bobby" exists.
	after := e.want(e.call("GET", "/api/me", alice.token, nil), 200).body
	// Each reading mints a fresh playback token into playbackUrl; the rest must be the same.
	tokenRE := regexp.MustCompile(`token=[^"]*`)
	before, after = tokenRE.ReplaceAll(before, []byte("token=…")), tokenRE.ReplaceAll(after, []byte("token=…"))
	if diff := cmp.Diff(string(before), string(after)); diff != "" {
		t.Errorf("account changed by bad input (-before +after):\n%s", diff)
	}
	e.want(e.call("POST", "/api/auth/login", "", map[string]string{"username": "alice", "password": password}), 200)
	e.want(e.call("POST", "/api/auth/register", "", map[string]string{"username": "bobby", "email": "b@example.com", "password": password}), 201)
}

// TestAuthorization calls every route anonymously, as another user and as the owner. Every
// account route acts on the caller's own account; the table checks statuses, and that no
// response to one user carries another's email or stream key.
func TestAuthorization(t *testing.T) {
	e := newEnvWithStages(t, autoVerify(true))
	owner := e.signUp("owner")
	other := e.signUp("other")
	secrets := []string{owner.streamKey, owner.email, owner.token}

	e.signUp("third")
	e.goLive(owner)
	ownerSession := e.openSession(owner, "st-owner", e.clock.Now())
	png := imageBody(pngBytes(t, 64, 64))
	public := e.recording(owner, "st-public", false)
	hidden := e.recording(owner, "st-hidden", true)
	doomed := e.recording(owner, "st-doomed", false)
	type call struct {
		method, path string
		body         any
		pattern      string // the route, when path fills in its parameters
	}
	type want struct{ anon, other, owner int }
	tests := []struct {
		call call
		want want
	}{
		{call{"GET", "/api/openapi.json", nil, ""}, want{200, 200, 200}},
		{call{"GET", "/api/config", nil, ""}, want{200, 200, 200}},
		{call{"GET", "/api/session", nil, ""}, want{200, 200, 200}},
		{call{"GET", "/api/images?url=http://127.0.0.1/a.png", nil, "GET /api/images"}, want{400, 400, 400}},
		{call{"GET", "/api/me", nil, ""}, want{401, 200, 200}},
		{call{"PATCH", "/api/me", map[string]string{"username": "Owner"}, ""}, want{401, 409, 200}},
		{call{"PUT", "/api/me/password", map[string]string{"currentPassword": "Wr0ng-passw0rd", "newPassword": "N3w-passw0rd"}, ""}, want{401, 401, 401}},
		{call{"DELETE", "/api/me", map[string]string{"password": "Wr0ng-passw0rd"}, ""}, want{401, 401, 401}},
		{call{"POST", "/api/auth/verify/resend", map[string]string{"username": "owner"}, ""}, want{202, 202, 202}},
		{call{"POST", "/api/auth/password-reset", map[string]string{"email": "owner@example.com"}, ""}, want{202, 202, 202}},
		{call{"POST", "/api/auth/verify", map[string]string{"code": "guess"}, ""}, want{400, 400, 400}},
		{call{"POST", "/api/auth/password-reset/confirm", map[string]string{"code": "guess", "password": "N3w-Passw0rd"}, ""}, want{400, 400, 400}},
		{call{"POST", "/api/auth/register", map[string]string{"username": "owner", "email": "x@example.com", "password": password}, ""}, want{409, 409, 409}},
		{call{"POST", "/api/auth/login", map[string]string{"username": "owner", "password": "Wr0ng-passw0rd"}, ""}, want{401, 401, 401}},
		{call{"GET", "/api/channels?live=true", nil, "GET /api/channels"}, want{200, 200, 200}},
		{call{"GET", "/api/categories", nil, ""}, want{200, 200, 200}},
		{call{"GET", "/api/channels/owner", nil, "GET /api/channels/{username}"}, want{200, 200, 200}},
		{call{"POST", "/api/channels/owner/views", map[string]string{"token": "forged.token"}, "POST /api/channels/{username}/views"}, want{403, 403, 403}},
		{call{"DELETE", "/api/channels/owner/views", map[string]string{"token": "forged.token"}, "DELETE /api/channels/{username}/views"}, want{403, 403, 403}},
		{call{"GET", "/api/channels/owner/bans", nil, "GET /api/channels/{username}/bans"}, want{401, 403, 200}},
		{call{"PUT", "/api/channels/owner/bans/third", nil, "PUT /api/channels/{username}/bans/{user}"}, want{401, 403, 204}},
		{call{"DELETE", "/api/channels/owner/bans/third", nil, "DELETE /api/channels/{username}/bans/{user}"}, want{401, 403, 204}},
		{call{"GET", "/api/channels/owner/privacy", nil, "GET /api/channels/{username}/privacy"}, want{401, 403, 200}},
		{call{"PUT", "/api/channels/owner/privacy", map[string]any{"private": false}, "PUT /api/channels/{username}/privacy"}, want{401, 403, 200}},
		{call{"GET", "/api/channels/owner/allowlist", nil, "GET /api/channels/{username}/allowlist"}, want{401, 403, 200}},
		{call{"PUT", "/api/channels/owner/allowlist/third", nil, "PUT /api/channels/{username}/allowlist/{user}"}, want{401, 403, 204}},
		{call{"DELETE", "/api/channels/owner/allowlist/third", nil, "DELETE /api/channels/{username}/allowlist/{user}"}, want{401, 403, 204}},
		{call{"GET", "/api/channels/owner/invites", nil, "GET /api/channels/{username}/invites"}, want{401, 403, 200}},
		{call{"POST", "/api/channels/owner/invites", map[string]any{"expiresInHours": 1}, "POST /api/channels/{username}/invites"}, want{401, 403, 201}},
		{call{"DELETE", "/api/channels/owner/invites/inv_none", nil, "DELETE /api/channels/{username}/invites/{id}"}, want{401, 403, 404}},
		{call{"POST", "/api/invites/accept", map[string]any{"code": "guess"}, ""}, want{401, 404, 404}},
		{call{"GET", "/api/me/following", nil, ""}, want{401, 200, 200}},
		{call{"GET", "/api/me/sessions", nil, ""}, want{401, 200, 200}},
		{call{"GET", "/api/me/sessions/" + ownerSession, nil, "GET /api/me/sessions/{sessionId}"}, want{401, 404, 200}},
		{call{"PUT", "/api/me/following/owner", nil, "PUT /api/me/following/{username}"}, want{401, 204, 400}},
		{call{"DELETE", "/api/me/following/owner", nil, "DELETE /api/me/following/{username}"}, want{401, 204, 204}},
		{call{"PUT", "/api/me/assets/banner", png, "PUT /api/me/assets/{kind}"}, want{401, 200, 200}},
		{call{"DELETE", "/api/me/assets/banner", nil, "DELETE /api/me/assets/{kind}"}, want{401, 204, 204}},
		{call{"GET", "/api/assets/ch_x/avatar/v1", nil, "GET /api/assets/{channelId}/{kind}/{version}"}, want{404, 404, 404}},
		{call{"GET", "/api/me/stream-actions", nil, ""}, want{401, 200, 200}},
		{call{"PUT", "/api/me/stream-actions/saved/notice", map[string]any{"title": "Hi", "message": "", "duration": 15}, "PUT /api/me/stream-actions/saved/{name}"}, want{401, 200, 200}},
		{call{"POST", "/api/me/stream-actions", map[string]any{"name": "celebration"}, ""}, want{401, 404, 201}},
		{call{"DELETE", "/api/me/stream-actions", nil, ""}, want{401, 404, 204}},
		{call{"POST", "/api/me/stream-key/reset", nil, ""}, want{401, 200, 200}},
		{call{"POST", "/api/chat/token", map[string]string{"channel": "owner"}, ""}, want{200, 200, 200}},
		{call{"GET", "/api/chat", nil, ""}, want{401, 401, 401}},
		// Off in this environment; products_test.go covers it switched on.
		{call{"GET", "/api/products?keywords=lamp", nil, "GET /api/products"}, want{401, 404, 404}},
		// WHIP's bearer token is a stream key, not a session token; this server has no WHIP.
		{call{"POST", "/api/whip", "v=0", ""}, want{401, 415, 415}},
		{call{"DELETE", "/api/whip/abc", nil, "DELETE /api/whip/{id}"}, want{401, 404, 404}},
		{call{"GET", "/api/channels/owner/videos", nil, "GET /api/channels/{username}/videos"}, want{200, 200, 200}},
		// Not live (the session is not started): none; who gets a live one: TestLiveThumbnail.
		{call{"GET", "/api/channels/owner/thumbnail.jpg", nil, "GET /api/channels/{username}/thumbnail.jpg"}, want{404, 404, 404}},
		{call{"GET", "/api/videos/" + public, nil, "GET /api/videos/{id}"}, want{200, 200, 200}},
		{call{"GET", "/api/videos/" + hidden, nil, "GET /api/videos/{id}"}, want{404, 404, 200}},
		{call{"GET", "/api/videos/" + public + "/chat", nil, "GET /api/videos/{id}/chat"}, want{200, 200, 200}},
		{call{"GET", "/api/videos/" + hidden + "/chat?from=0&to=1000", nil, "GET /api/videos/{id}/chat"}, want{404, 404, 200}},
		{call{"PATCH", "/api/videos/" + public, map[string]any{"title": "Renamed"}, "PATCH /api/videos/{id}"}, want{401, 403, 200}},
		{call{"PATCH", "/api/videos/" + hidden, map[string]any{"title": "Renamed"}, "PATCH /api/videos/{id}"}, want{401, 404, 200}},
		{call{"DELETE", "/api/videos/" + hidden + "x", nil, "DELETE /api/videos/{id}"}, want{401, 404, 404}},
		{call{"DELETE", "/api/videos/" + doomed, nil, "DELETE /api/videos/{id}"}, want{401, 403, 204}},
		{call{"GET", "/api/me/recording", nil, ""}, want{401, 200, 200}},
		{call{"PUT", "/api/me/recording", map[string]any{"enabled": true}, ""}, want{401, 200, 200}},
		{call{"GET", "/api/push/key", nil, ""}, want{200, 200, 200}},
		{call{"GET", "/api/me/notifications", nil, ""}, want{401, 200, 200}},
		{call{"PATCH", "/api/me/notifications", map[string]any{"email": true}, ""}, want{401, 200, 200}},
		{call{"GET", "/api/me/following/owner/notifications", nil, "GET /api/me/following/{username}/notifications"}, want{401, 200, 200}},
		// The owner cannot follow their own channel, so has no bell for it; other follows in
		// the PUT /api/me/following row above, then unfollows in the DELETE row.
		{call{"PUT", "/api/me/following/owner/notifications", map[string]any{"enabled": true}, "PUT /api/me/following/{username}/notifications"}, want{401, 409, 409}},
		{call{"POST", "/api/me/push-subscriptions", testSubscription(t), ""}, want{401, 204, 204}},
		{call{"DELETE", "/api/me/push-subscriptions", map[string]any{"endpoint": "https://push.example/sub"}, ""}, want{401, 204, 204}},
		// WHEP's bearer token is a playback token; this server has no WHEP.
		{call{"POST", "/api/whep/ch-1", "v=0", "POST /api/whep/{channelId}"}, want{401, 415, 415}},
		{call{"DELETE", "/api/whep/ch-1/abc", nil, "DELETE /api/whep/{channelId}/{id}"}, want{404, 404, 404}},
		// Polls: the owner's session here is open but not yet playable, so there is no poll to vote in.
		{call{"GET", "/api/channels/owner/poll", nil, "GET /api/channels/{username}/poll"}, want{200, 200, 200}},
		{call{"POST", "/api/channels/owner/poll", map[string]any{"question": "q", "options": []string{"a", "b"}, "duration": 15}, "POST /api/channels/{username}/poll"}, want{401, 403, 404}},
		{call{"DELETE", "/api/channels/owner/poll", nil, "DELETE /api/channels/{username}/poll"}, want{401, 403, 204}},
		{call{"POST", "/api/channels/owner/poll/votes", map[string]int{"option": 0}, "POST /api/channels/{username}/poll/votes"}, want{401, 404, 404}},
		{call{"GET", "/api/me/sessions/" + ownerSession + "/polls", nil, "GET /api/me/sessions/{sessionId}/polls"}, want{401, 200, 200}},
		{call{"GET", "/api/channels/owner/chat-settings", nil, "GET /api/channels/{username}/chat-settings"}, want{200, 200, 200}},
		{call{"PUT", "/api/channels/owner/chat-settings", map[string]any{"followersOnly": false, "followersMinutes": 0, "slowSeconds": 3}, "PUT /api/channels/{username}/chat-settings"}, want{401, 403, 200}},
		// Stages: "other" and "owner" each open their own; the /api/me/stage routes act on
		// the caller's own stage only.
		{call{"GET", "/api/channels/owner/stage", nil, "GET /api/channels/{username}/stage"}, want{200, 200, 200}},
		{call{"GET", "/api/me/stage", nil, ""}, want{401, 200, 200}},
		{call{"POST", "/api/me/stage", nil, ""}, want{401, 200, 200}},
		{call{"POST", "/api/channels/owner/stage/requests", nil, "POST /api/channels/{username}/stage/requests"}, want{401, 204, 400}},
		{call{"PUT", "/api/me/stage/requests/other", nil, "PUT /api/me/stage/requests/{username}"}, want{401, 404, 204}},
		{call{"DELETE", "/api/me/stage/requests/other", nil, "DELETE /api/me/stage/requests/{username}"}, want{401, 404, 404}},
		{call{"DELETE", "/api/channels/owner/stage/requests", nil, "DELETE /api/channels/{username}/stage/requests"}, want{401, 204, 404}},
		{call{"POST", "/api/channels/owner/stage/participants", map[string]string{}, "POST /api/channels/{username}/stage/participants"}, want{401, 403, 201}},
		{call{"DELETE", "/api/me/stage/participants/p-none", nil, "DELETE /api/me/stage/participants/{id}"}, want{401, 404, 404}},
		// The media routes' bearer token is a participant (or playback) token, not a session's.
		{call{"POST", "/api/stages/st/participants/p/media", "v=0", "POST /api/stages/{stageId}/participants/{id}/media"}, want{401, 415, 415}},
		{call{"POST", "/api/stages/st/participants/p/subscriptions", "v=0", "POST /api/stages/{stageId}/participants/{id}/subscriptions"}, want{401, 415, 415}},
		{call{"DELETE", "/api/stages/st/participants/p", nil, "DELETE /api/stages/{stageId}/participants/{id}"}, want{401, 404, 404}},
		{call{"POST", "/api/stages/st/participants/p/screen", nil, "POST /api/stages/{stageId}/participants/{id}/screen"}, want{401, 404, 404}},
		{call{"DELETE", "/api/stages/st/subscriptions/s", nil, "DELETE /api/stages/{stageId}/subscriptions/{id}"}, want{404, 404, 404}},
		{call{"DELETE", "/api/me/stage", nil, ""}, want{401, 204, 204}},
	}
	routes := map[string]bool{}
	for _, tt := range tests {
		if tt.call.pattern == "" {
			tt.call.pattern = tt.call.method + " " + tt.call.path
		}
		routes[tt.call.pattern] = true
		for _, who := range []struct {
			name, token string
			status      int
		}{{"anonymous", "", tt.want.anon}, {"other", other.token, tt.want.other}, {"owner", owner.token, tt.want.owner}} {
			res := e.call(tt.call.method, tt.call.path, who.token, tt.call.body)
			if res.status != who.status {
				t.Errorf("%s %s as %s = %d, want %d: %s", tt.call.method, tt.call.path, who.name, res.status, who.status, res.body)
			}
			if who.name != "owner" {
				for _, s := range secrets {
					if strings.Contains(string(res.body), s) {
						t.Errorf("%s %s as %s leaks an owner secret: %s", tt.call.method, tt.call.path, who.name, res.body)
					}
				}
			}
		}
		// Undo the owner's rename so the next rows see the same accounts.
		if tt.call.path == "/api/me" && tt.call.method == "PATCH" {
			e.want(e.call("PATCH", "/api/me", owner.token, map[string]string{"username": "owner"}), 200)
		}
	}
	// The other user's calls left the owner's account as it was (the owner's own key reset
	// aside, which TestStreamKeyReset covers).
	me := e.want(e.call("GET", "/api/me", owner.token, nil), 200).json(t)
	if me["username"] != "owner" || me["email"] != owner.email {
		t.Errorf("owner's account changed: %v", me)
	}
	// Every API route is in the table (login/logout/me routes that need a session included).
	for _, p := range apiPatterns(t) {
		if !routes[p] && p != "POST /api/auth/logout" {
			t.Errorf("route %s missing from the authorisation table", p)
		}
	}
}

// apiPatterns lists "METHOD /path" for every operation in openapi.json.
func apiPatterns(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var out []string
	for path, ops := range doc.Paths {
		for method := range ops {
			out = append(out, strings.ToUpper(method)+" "+path)
		}
	}
	slices.Sort(out)
	return out
}
