package httpapi_test

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const testPushKey = "BTestPublicKey"

// testSubscription is a browser's PushSubscription.toJSON() with real keys.
func testSubscription(t testing.TB) map[string]any {
	return subscriptionAt(t, "https://push.example/sub")
}

func subscriptionAt(t testing.TB, endpoint string) map[string]any {
	t.Helper()
	key, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	auth := make([]byte, 16)
	rand.Read(auth)
	return map[string]any{"endpoint": endpoint, "expirationTime": nil, "keys": map[string]string{
		"p256dh": base64.RawURLEncoding.EncodeToString(key.PublicKey().Bytes()), "auth": base64.RawURLEncoding.EncodeToString(auth)}}
}

func (e *env) subscriptions(u user) []string {
	e.t.Helper()
	got, err := e.store.PushSubscriptions(context.Background(), []string{u.id})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, s := range got[u.id] {
		out = append(out, s.Endpoint)
	}
	return out
}

func TestNotificationBadInput(t *testing.T) {
	e := newEnv(t, autoVerify(true))
	fan := e.signUp("fanny")
	e.signUp("carol")
	e.want(e.call("PUT", "/api/me/following/carol", fan.token, nil), 204)
	good := testSubscription(t)
	keys := good["keys"].(map[string]string)
	with := func(endpoint, p256dh, auth string) map[string]any {
		return map[string]any{"endpoint": endpoint, "keys": map[string]string{"p256dh": p256dh, "auth": auth}}
	}
	tests := []struct {
		name, method, path string
		body               any
		status             int
		code               string
	}{
		{"no endpoint", "POST", "/api/me/push-subscriptions", with("", keys["p256dh"], keys["auth"]), 400, "MissingField"},
		{"http endpoint", "POST", "/api/me/push-subscriptions", with("http://push.example/x", keys["p256dh"], keys["auth"]), 400, "InvalidEndpoint"},
		{"not a URL", "POST", "/api/me/push-subscriptions", with("push.example/x", keys["p256dh"], keys["auth"]), 400, "InvalidEndpoint"},
		{"endpoint with credentials", "POST", "/api/me/push-subscriptions", with("https://a:b@push.example/x", keys["p256dh"], keys["auth"]), 400, "InvalidEndpoint"},
		{"endpoint too long", "POST", "/api/me/push-subscriptions", with("https://push.example/"+strings.Repeat("x", 1100), keys["p256dh"], keys["auth"]), 400, "InvalidEndpoint"},
		{"key not base64", "POST", "/api/me/push-subscriptions", with("https://push.example/x", "!!!", keys["auth"]), 400, "InvalidKey"},
		{"key not on the curve", "POST", "/api/me/push-subscriptions", with("https://push.example/x", base64.RawURLEncoding.EncodeToString(append([]byte{4}, make([]byte, 64)...)), keys["auth"]), 400, "InvalidKey"},
		{"auth too short", "POST", "/api/me/push-subscriptions", with("https://push.example/x", keys["p256dh"], "AAAA"), 400, "InvalidKey"},
		{"unknown field", "POST", "/api/me/push-subscriptions", map[string]any{"endpoint": "https://push.example/x", "user": "carol"}, 400, "InvalidJSON"},
		{"unsubscribe nothing", "DELETE", "/api/me/push-subscriptions", map[string]any{"endpoint": ""}, 400, "InvalidEndpoint"},
		{"settings no field", "PATCH", "/api/me/notifications", map[string]any{}, 400, "MissingField"},
		{"settings wrong type", "PATCH", "/api/me/notifications", map[string]any{"email": "yes"}, 400, "InvalidJSON"},
		{"bell no field", "PUT", "/api/me/following/carol/notifications", map[string]any{}, 400, "MissingField"},
		{"bell unknown channel", "PUT", "/api/me/following/nobody/notifications", map[string]any{"enabled": true}, 404, "ChannelNotFound"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := e.call(tt.method, tt.path, fan.token, tt.body)
			if res.status != tt.status {
				t.Fatalf("status = %d, want %d: %s", res.status, tt.status, res.body)
			}
			if got := res.errorCode(t); got != tt.code {
				t.Errorf("code = %s, want %s", got, tt.code)
			}
		})
	}
	// Nothing changed.
	if got := e.subscriptions(fan); len(got) != 0 {
		t.Errorf("subscriptions after bad input: %v", got)
	}
	settings := e.want(e.call("GET", "/api/me/notifications", fan.token, nil), 200).json(t)
	if diff := cmp.Diff(map[string]any{"email": true, "push": true}, settings); diff != "" {
		t.Errorf("settings changed by bad input (-want +got):\n%s", diff)
	}
	if bell := e.want(e.call("GET", "/api/me/following/carol/notifications", fan.token, nil), 200).json(t); bell["enabled"] != false {
		t.Errorf("bell = %v after bad input", bell)
	}
}

// TestNotificationsAreEachUsersOwn: one user's bell, settings and subscriptions are theirs;
// another's calls (with the same channel, the same endpoint) change only their own.
func TestNotificationsAreEachUsersOwn(t *testing.T) {
	e := newEnv(t, autoVerify(true))
	alice, bob := e.signUp("alice"), e.signUp("bobby")
	e.signUp("carol")
	for _, u := range []user{alice, bob} {
		e.want(e.call("PUT", "/api/me/following/carol", u.token, nil), 204)
	}
	// Bob may not ring a bell for a channel he does not follow, even one alice follows.
	e.signUp("dave")
	e.want(e.call("PUT", "/api/me/following/dave", alice.token, nil), 204)
	if res := e.call("PUT", "/api/me/following/dave/notifications", bob.token, map[string]any{"enabled": true}); res.status != 409 || res.errorCode(t) != "NotFollowing" {
		t.Errorf("bob's bell for an unfollowed channel = %d %s, want 409 NotFollowing", res.status, res.body)
	}

	e.want(e.call("PUT", "/api/me/following/carol/notifications", alice.token, map[string]any{"enabled": true}), 200)
	e.want(e.call("PATCH", "/api/me/notifications", alice.token, map[string]any{"email": false}), 200)
	sub := subscriptionAt(t, "https://push.example/alice")
	e.want(e.call("POST", "/api/me/push-subscriptions", alice.token, sub), 204)

	// Bob's view is his own.
	if bell := e.want(e.call("GET", "/api/me/following/carol/notifications", bob.token, nil), 200).json(t); bell["enabled"] != false {
		t.Errorf("bob sees bell %v, want his own (off)", bell)
	}
	if got := e.want(e.call("GET", "/api/me/notifications", bob.token, nil), 200).json(t); got["email"] != true {
		t.Errorf("bob's settings %v, want his own defaults", got)
	}
	// Bob's changes touch only his.
	e.want(e.call("PATCH", "/api/me/notifications", bob.token, map[string]any{"email": true, "push": false}), 200)
	e.want(e.call("PUT", "/api/me/following/carol/notifications", bob.token, map[string]any{"enabled": false}), 200)
	e.want(e.call("DELETE", "/api/me/push-subscriptions", bob.token, map[string]any{"endpoint": "https://push.example/alice"}), 204)

	if bell := e.want(e.call("GET", "/api/me/following/carol/notifications", alice.token, nil), 200).json(t); bell["enabled"] != true {
		t.Errorf("alice's bell = %v after bob's calls, want on", bell)
	}
	if diff := cmp.Diff(map[string]any{"email": false, "push": true}, e.want(e.call("GET", "/api/me/notifications", alice.token, nil), 200).json(t)); diff != "" {
		t.Errorf("alice's settings after bob's calls (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"https://push.example/alice"}, e.subscriptions(alice)); diff != "" {
		t.Errorf("alice's subscriptions after bob's unsubscribe (-want +got):\n%s", diff)
	}
	// Alice unsubscribes her own.
	e.want(e.call("DELETE", "/api/me/push-subscriptions", alice.token, map[string]any{"endpoint": "https://push.example/alice"}), 204)
	if got := e.subscriptions(alice); len(got) != 0 {
		t.Errorf("alice's subscriptions after unsubscribing: %v", got)
	}
	// The key browsers subscribe with.
	if got := e.want(e.call("GET", "/api/push/key", "", nil), 200).json(t); got["publicKey"] != testPushKey {
		t.Errorf("push key = %v", got)
	}
	// Unfollowing drops the bell: following again starts with it off.
	e.want(e.call("DELETE", "/api/me/following/carol", alice.token, nil), 204)
	e.want(e.call("PUT", "/api/me/following/carol", alice.token, nil), 204)
	if bell := e.want(e.call("GET", "/api/me/following/carol/notifications", alice.token, nil), 200).json(t); bell["enabled"] != false {
		t.Errorf("bell after unfollow and follow = %v, want off", bell)
	}
}
