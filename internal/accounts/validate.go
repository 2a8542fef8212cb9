package accounts

import (
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/livehouse/livehouse/internal/problem"
)

// reserved are names that would clash with the web app's or the server's routes if used as a
// channel URL. Compared case-insensitively.
var reserved = []string{
	"admin", "api", "assets", "channel", "channels", "chat", "favicon.ico", "following",
	"health", "healthz", "hls", "livehouse", "login", "logout", "manager", "me", "metrics",
	"profile", "register", "reset", "robots.txt", "settings", "signup", "static", "uploads",
	"verify", "whep", "whip",
}

var usernameRE = regexp.MustCompile(`^[a-zA-Z0-9._]{4,20}$`)

// Messages the web app shows, as in the reference.
const (
	msgUsername        = "Use 4 to 20 characters with a mix of letters, numbers & symbols."
	msgUsernameTaken   = "This username has been taken."
	msgUsernameReserve = "This username is unavailable."
	msgEmail           = "Enter a valid email."
	msgEmailTaken      = "This email has already been used."
	msgPassword        = "Use at least 8 characters with upper and lower case letters, a number and a symbol."
)

// ValidateUsername checks the form of a username.
func ValidateUsername(name string) error {
	if !usernameRE.MatchString(name) {
		return problem.Invalid("InvalidUsername", "username", msgUsername)
	}
	if slices.Contains(reserved, strings.ToLower(name)) {
		return problem.Invalid("ReservedUsername", "username", msgUsernameReserve)
	}
	return nil
}

// normalizeEmail checks an address's syntax and returns it trimmed.
func normalizeEmail(email string) (string, error) {
	email = strings.TrimSpace(email)
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || len(email) > 254 || !strings.Contains(email[strings.LastIndexByte(email, '@'):], ".") {
		return "", problem.Invalid("InvalidEmail", "email", msgEmail)
	}
	return email, nil
}

// emailDomainAllowed applies the sign-up domain allowlist (empty allows all).
func emailDomainAllowed(email string, allowed []string) bool {
	if len(allowed) == 0 {
		return true
	}
	domain := strings.ToLower(email[strings.LastIndexByte(email, '@')+1:])
	return slices.ContainsFunc(allowed, func(d string) bool { return strings.EqualFold(d, domain) })
}

// ValidatePassword applies the policy: 8 to 256 characters without spaces, with at least one
// upper-case letter, lower-case letter, digit and symbol.
func ValidatePassword(field, pw string) error {
	n := len([]rune(pw))
	var upper, lower, digit, symbol, space bool
	for _, r := range pw {
		switch {
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsLower(r):
			lower = true
		case unicode.IsDigit(r):
			digit = true
		case unicode.IsSpace(r):
			space = true
		case unicode.IsPunct(r) || unicode.IsSymbol(r):
			symbol = true
		}
	}
	if n < 8 || n > 256 || space || !upper || !lower || !digit || !symbol {
		return problem.Invalid("InvalidPassword", field, msgPassword)
	}
	return nil
}
