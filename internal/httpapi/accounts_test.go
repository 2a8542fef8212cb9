package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestAccountLifecycle walks one account from sign-up to deletion and sign-up again.
func TestAccountLifecycle(t *testing.T) {
	e := newEnv(t)
	reg := e.want(e.call("POST", "/api/auth/register", "", map[string]string{"username": "Alice.B", "email": "alice@example.com", "password": password}), 201).json(t)
	if reg["verificationRequired"] != true {
		t.Fatalf("verificationRequired = %v, want true", reg["verificationRequired"])
	}

	// Unverified: no sign-in yet.
	if got := e.want(e.call("POST", "/api/auth/login", "", map[string]string{"username": "alice.b", "password": password}), 403).errorCode(t); got != "EmailNotVerified" {
		t.Errorf("login before verifying: code %s", got)
	}
	// Resend replaces the link: the first code stops working.
	first := e.mail.lastCode(t, "alice@example.com")
	e.want(e.call("POST", "/api/auth/verify/resend", "", map[string]string{"username": "ALICE@example.com"}), 202)
	e.mail.await(t, "alice@example.com", 2)
	e.want(e.call("POST", "/api/auth/verify", "", map[string]string{"code": first}), 400)
	code := e.mail.lastCode(t, "alice@example.com")
	v := e.want(e.call("POST", "/api/auth/verify", "", map[string]string{"code": code}), 200).json(t)
	if v["username"] != "Alice.B" || v["purpose"] != "signup" {
		t.Errorf("verify = %v", v)
	}
	e.want(e.call("POST", "/api/auth/verify", "", map[string]string{"code": code}), 400) // single use

	// Sign in by username or email, any case; two sessions.
	a1 := e.login("ALICE.B", "alice@example.com", password)
	a2 := e.login("Alice@Example.com", "alice@example.com", password)
	me := e.want(e.call("GET", "/api/me", a1.token, nil), 200).json(t)
	if me["username"] != "Alice.B" || me["email"] != "alice@example.com" || me["emailVerified"] != true {
		t.Errorf("me = %v", me)
	}
	ch := me["channel"].(map[string]any)
	if !strings.HasPrefix(ch["streamKey"].(string), "sk_") || ch["type"] != "BASIC" {
		t.Errorf("channel = %v", ch)
	}

	// Change password: the other session ends, this one stays.
	e.want(e.call("PUT", "/api/me/password", a1.token, map[string]string{"currentPassword": password, "newPassword": "N3w-Passw0rd"}), 204)
	e.want(e.call("GET", "/api/me", a1.token, nil), 200)
	e.want(e.call("GET", "/api/me", a2.token, nil), 401)
	e.want(e.call("POST", "/api/auth/login", "", map[string]string{"username": "alice.b", "password": password}), 401)

	// Log out ends the session.
	e.want(e.call("POST", "/api/auth/logout", a1.token, nil), 204)
	e.want(e.call("GET", "/api/me", a1.token, nil), 401)

	// Forgot password: a link by mail, single use, ends all sessions.
	a3 := e.login("alice.b", "alice@example.com", "N3w-Passw0rd")
	sent := e.mail.count()
	e.want(e.call("POST", "/api/auth/password-reset", "", map[string]string{"email": "nobody@example.com"}), 202)
	e.want(e.call("POST", "/api/auth/password-reset", "", map[string]string{"email": "Alice@example.com"}), 202)
	e.mail.await(t, "alice@example.com", 3) // the requests are handled in order: nobody's is done
	if e.mail.count() != sent+1 {
		t.Errorf("%d mails for two resets, one of them for an unknown email; want 1", e.mail.count()-sent)
	}
	reset := e.mail.lastCode(t, "alice@example.com")
	e.want(e.call("POST", "/api/auth/password-reset/confirm", "", map[string]string{"code": reset, "password": "weak"}), 400)
	e.want(e.call("POST", "/api/auth/password-reset/confirm", "", map[string]string{"code": reset, "password": "R3set-Passw0rd"}), 200)
	e.want(e.call("POST", "/api/auth/password-reset/confirm", "", map[string]string{"code": reset, "password": "Again-Passw0rd1"}), 400)
	e.want(e.call("GET", "/api/me", a3.token, nil), 401)
	a4 := e.login("alice.b", "alice@example.com", "R3set-Passw0rd")

	// Change username; the old name is free, the new one signs in.
	e.want(e.call("PATCH", "/api/me", a4.token, map[string]string{"username": "alice_new"}), 200)
	e.want(e.call("POST", "/api/auth/login", "", map[string]string{"username": "Alice.B", "password": "R3set-Passw0rd"}), 401)
	e.login("alice_new", "alice@example.com", "R3set-Passw0rd")

	// Change email: needs the password, takes effect from the link sent to the new address.
	e.want(e.call("PATCH", "/api/me", a4.token, map[string]string{"email": "alice2@example.com", "currentPassword": "wrong"}), 401)
	m := e.want(e.call("PATCH", "/api/me", a4.token, map[string]string{"email": "alice2@example.com", "currentPassword": "R3set-Passw0rd"}), 200).json(t)
	if m["email"] != "alice@example.com" || m["pendingEmail"] != "alice2@example.com" {
		t.Errorf("after email change request: email %v pending %v", m["email"], m["pendingEmail"])
	}
	v = e.want(e.call("POST", "/api/auth/verify", "", map[string]string{"code": e.mail.lastCode(t, "alice2@example.com")}), 200).json(t)
	if v["purpose"] != "email-change" || v["email"] != "alice2@example.com" {
		t.Errorf("verify email change = %v", v)
	}

	// Delete needs the password and frees the name and address.
	e.want(e.call("DELETE", "/api/me", a4.token, map[string]string{"password": "wrong"}), 401)
	e.want(e.call("DELETE", "/api/me", a4.token, map[string]string{"password": "R3set-Passw0rd"}), 204)
	e.want(e.call("GET", "/api/me", a4.token, nil), 401)
	e.want(e.call("POST", "/api/auth/login", "", map[string]string{"username": "alice_new", "password": "R3set-Passw0rd"}), 401)
	e.want(e.call("POST", "/api/auth/register", "", map[string]string{"username": "alice_new", "email": "alice2@example.com", "password": password}), 201)
}

func TestCodesExpire(t *testing.T) {
	e := newEnv(t)
	e.want(e.call("POST", "/api/auth/register", "", map[string]string{"username": "bobby", "email": "bob@example.com", "password": password}), 201)
	verify := e.mail.lastCode(t, "bob@example.com")
	e.want(e.call("POST", "/api/auth/password-reset", "", map[string]string{"email": "bob@example.com"}), 202)
	e.mail.await(t, "bob@example.com", 2)
	reset := e.mail.lastCode(t, "bob@example.com")

	e.clock.Add(time.Hour + time.Second) // reset links last an hour
	e.want(e.call("POST", "/api/auth/password-reset/confirm", "", map[string]string{"code": reset, "password": "R3set-Passw0rd"}), 400)
	e.want(e.call("POST", "/api/auth/verify", "", map[string]string{"code": verify}), 200) // verify links a day

	// A verified account survives the purge; one never verified for a day does not.
	e.want(e.call("POST", "/api/auth/register", "", map[string]string{"username": "carol", "email": "carol@example.com", "password": password}), 201)
	e.clock.Add(24*time.Hour + time.Minute)
	if n, err := e.acc.PurgeUnverified(t.Context()); err != nil || n != 1 {
		t.Fatalf("PurgeUnverified = %d, %v; want 1", n, err)
	}
	e.want(e.call("POST", "/api/auth/register", "", map[string]string{"username": "carol", "email": "carol@example.com", "password": password}), 201)
	e.want(e.call("POST", "/api/auth/register", "", map[string]string{"username": "bobby", "email": "bob2@example.com", "password": password}), 409)
}

func TestAutoVerify(t *testing.T) {
	e := newEnv(t, autoVerify(true))
	reg := e.want(e.call("POST", "/api/auth/register", "", map[string]string{"username": "dave", "email": "dave@example.com", "password": password}), 201).json(t)
	if reg["verificationRequired"] != false || e.mail.count() != 0 {
		t.Errorf("auto-verify: verificationRequired %v, %d mails", reg["verificationRequired"], e.mail.count())
	}
	e.login("dave", "dave@example.com", password)
}

func TestLoginThrottle(t *testing.T) {
	e := newEnv(t, autoVerify(true))
	e.want(e.call("POST", "/api/auth/register", "", map[string]string{"username": "erin", "email": "erin@example.com", "password": password}), 201)
	for range 5 {
		e.want(e.call("POST", "/api/auth/login", "", map[string]string{"username": "erin", "password": "Wrong-passw0rd"}), 401)
	}
	res := e.want(e.call("POST", "/api/auth/login", "", map[string]string{"username": "ERIN", "password": password}), 429)
	if res.errorCode(t) != "TooManyAttempts" || res.header.Get("Retry-After") == "" {
		t.Errorf("throttled: code %s, Retry-After %q", res.errorCode(t), res.header.Get("Retry-After"))
	}
	e.clock.Add(15 * time.Minute)
	e.login("erin", "erin@example.com", password)
}

func TestCookieSessionAndCSRF(t *testing.T) {
	e := newEnv(t, autoVerify(true))
	e.want(e.call("POST", "/api/auth/register", "", map[string]string{"username": "frank", "email": "frank@example.com", "password": password}), 201)
	res := e.want(e.call("POST", "/api/auth/login", "", map[string]string{"username": "frank", "password": password}), 200)
	var cookie *http.Cookie
	for _, c := range (&http.Response{Header: res.header}).Cookies() {
		if c.Name == "lh_session" {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookie = %+v", cookie)
	}
	c := "lh_session=" + cookie.Value
	e.want(e.call("GET", "/api/me", "", nil, "Cookie", c), 200)
	// A cross-site write riding on the cookie is refused and changes nothing.
	e.want(e.call("PATCH", "/api/me", "", map[string]string{"username": "hijacked"}, "Cookie", c, "Sec-Fetch-Site", "cross-site"), 403)
	e.want(e.call("PATCH", "/api/me", "", map[string]string{"username": "hijacked"}, "Cookie", c, "Origin", "https://evil.example"), 403)
	me := e.want(e.call("GET", "/api/me", "", nil, "Cookie", c), 200).json(t)
	if me["username"] != "frank" {
		t.Errorf("username changed by a cross-site request: %v", me["username"])
	}
	// Same-origin and the allowed origin may write.
	e.want(e.call("PATCH", "/api/me", "", map[string]string{"username": "frank2"}, "Cookie", c, "Sec-Fetch-Site", "same-origin"), 200)
	e.want(e.call("PATCH", "/api/me", "", map[string]string{"username": "frank3"}, "Cookie", c, "Origin", "https://app.example"), 200)
	// Logout clears the cookie.
	out := e.want(e.call("POST", "/api/auth/logout", "", nil, "Cookie", c, "Sec-Fetch-Site", "same-origin"), 204)
	if !strings.Contains(out.header.Get("Set-Cookie"), "Max-Age=0") {
		t.Errorf("logout Set-Cookie = %q", out.header.Get("Set-Cookie"))
	}
	e.want(e.call("GET", "/api/me", "", nil, "Cookie", c), 401)
}

func TestCORS(t *testing.T) {
	e := newEnv(t)
	pre := e.want(e.call("OPTIONS", "/api/auth/login", "", nil, "Origin", "https://app.example", "Access-Control-Request-Method", "POST"), 204)
	if pre.header.Get("Access-Control-Allow-Origin") != "https://app.example" || pre.header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Errorf("preflight headers %v", pre.header)
	}
	other := e.call("GET", "/api/config", "", nil, "Origin", "https://evil.example")
	if other.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("CORS allowed an unlisted origin")
	}
}

// GET /api/session says who the caller is and never fails for a visitor: the web app asks it
// on every page, and a signed-out page must not log a 401.
func TestSession(t *testing.T) {
	e := newEnv(t, autoVerify(true))
	grace := e.signUp("grace")
	ended := e.signUp("ended")
	e.want(e.call("POST", "/api/auth/logout", ended.token, nil), 204)
	tests := []struct {
		name    string
		token   string
		headers []string
		want    any // the username, or nil for a visitor
	}{
		{"no credentials", "", nil, nil},
		{"bearer token", grace.token, nil, "grace"},
		{"session cookie", "", []string{"Cookie", "lh_session=" + grace.token}, "grace"},
		{"signed-out token", ended.token, nil, nil},
		{"unknown cookie", "", []string{"Cookie", "lh_session=not-a-session"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := e.want(e.call("GET", "/api/session", tt.token, nil, tt.headers...), 200).json(t)
			user, ok := body["user"]
			if !ok {
				t.Fatalf("no user field: %v", body)
			}
			var got any
			if m, isMap := user.(map[string]any); isMap {
				got = m["username"]
				if m["email"] != grace.email {
					t.Errorf("email = %v, want %v", m["email"], grace.email)
				}
			} else if user != nil {
				t.Fatalf("user = %v, want an object or null", user)
			}
			if got != tt.want {
				t.Errorf("user = %v, want %v", got, tt.want)
			}
		})
	}
}
