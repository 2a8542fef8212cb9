// Package chat is the domain of channel chat rooms, speaking the Amazon IVS Chat messaging
// protocol: single-use tokens carry a user's capabilities and attributes; a connection sends
// actions (SEND_MESSAGE, DELETE_MESSAGE, DISCONNECT_USER) and receives MESSAGE, EVENT and ERROR
// frames. Rooms span nodes through the bus.
package chat

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/livehouse/livehouse/internal/problem"
)

// Capabilities a token may grant; viewing is implicit.
const (
	CapSend       = "SEND_MESSAGE"
	CapDelete     = "DELETE_MESSAGE"
	CapDisconnect = "DISCONNECT_USER"
	CapView       = "VIEW_MESSAGE"
)

// Protocol limits. IVS documents the content limit (500 code points) and, for the attributes
// a token carries, "1 KB total"; it documents none for a message's own attributes, so a
// message's attributes get the token's: at most 1 KiB as encoded JSON, which also bounds
// their count (MaxAttributes) and each key (MaxAttributeKey). Identifiers and reasons the
// server echoes to the whole room are bounded too, so that every frame a client can make the
// room hold or send has a known largest size (MaxFrameBytes).
const (
	MaxContent        = 500  // code points
	MaxAttributes     = 32   // keys in a message's attributes
	MaxAttributeKey   = 128  // bytes in one attribute key
	MaxAttributesJSON = 1024 // bytes of a message's attributes, encoded as JSON
	MaxRequestID      = 128  // bytes of a RequestId, echoed to the room
	MaxReason         = 256  // code points of a delete or disconnect reason
	MaxUserID         = 128  // bytes of a DISCONNECT_USER's UserId

	TokenTTL        = time.Minute
	DefaultSession  = 60 * time.Minute
	MaxSession      = 180 * time.Minute
	HistorySize     = 50
	PerConnRate     = 10 // actions per second per connection
	PerUserRate     = 10 // messages per second per user in a room, over all their connections
	DefaultRoomRate = 100
)

// MaxFrameBytes bounds the JSON of any frame a client can cause: content escaped at worst 6
// bytes per code point, the attributes and echoed fields at worst 6 bytes per byte, and the
// sender's attributes, which the server writes (a few short profile fields).
const MaxFrameBytes = MaxContent*6 + MaxAttributesJSON*6 + MaxRequestID*6 + 2048

// HistoryBytes bounds the JSON a room keeps for late joiners: 50 ordinary messages fit many
// times over, while 50 of the largest possible would not (the oldest go first).
const HistoryBytes = 32 << 10

// AnonymousPrefix starts the user id of a token issued to a signed-out viewer.
const AnonymousPrefix = "anonymous-"

// Errors of the protocol, with the codes it defines.
var (
	ErrInvalidToken = errors.New("token is invalid, used or expired")
	// ErrBanned is a user banned from the room; ErrRevoked a deleted or suspended account.
	ErrBanned  = problem.Forbidden("BannedFromChannel", "You are banned from this channel.")
	ErrRevoked = problem.Forbidden("AccountUnavailable", "This account can no longer chat.")
	// ErrPrivate is a token issued before the room's channel turned private, to someone not
	// on its allowlist.
	ErrPrivate = problem.Forbidden("PrivateChannel", "This channel is private: only the people its owner invited may watch it.")
)

// Invalid is an action the protocol refuses, with the IVS error code to answer it with.
type Invalid struct {
	Code    int // 400 or 413
	Message string
}

func (e *Invalid) Error() string { return fmt.Sprintf("%d: %s", e.Code, e.Message) }

// ValidateMessage checks a message's content and attributes against the protocol's limits.
func ValidateMessage(content string, attrs map[string]string) error {
	n := utf8.RuneCountInString(content)
	if n == 0 {
		return &Invalid{400, "Content is required."}
	}
	if n > MaxContent {
		return &Invalid{413, fmt.Sprintf("Messages must be at most %d characters.", MaxContent)}
	}
	return ValidateAttributes(attrs)
}

// ValidateAttributes checks a message's attributes: at most MaxAttributes non-empty keys of at
// most MaxAttributeKey bytes, MaxAttributesJSON bytes in all as JSON.
func ValidateAttributes(attrs map[string]string) error {
	if len(attrs) > MaxAttributes {
		return &Invalid{413, fmt.Sprintf("A message may have at most %d attributes.", MaxAttributes)}
	}
	// The attributes' raw length bounds their JSON from below, and six times it from above
	// (escaping at most turns a byte into \u00XX), so most maps need no encoding to judge.
	size := 1 // {}, less the last comma
	for k, v := range attrs {
		if k == "" {
			return &Invalid{400, "Attribute names must not be empty."}
		}
		if len(k) > MaxAttributeKey {
			return &Invalid{413, fmt.Sprintf("Attribute names must be at most %d bytes.", MaxAttributeKey)}
		}
		size += len(k) + len(v) + 6 // "k":"v",
		if size > MaxAttributesJSON {
			break
		}
	}
	tooBig := size > MaxAttributesJSON
	if !tooBig && size*6 > MaxAttributesJSON {
		b, _ := json.Marshal(attrs)
		tooBig = len(b) > MaxAttributesJSON
	}
	if tooBig {
		return &Invalid{413, fmt.Sprintf("Attributes must be at most %d bytes as JSON.", MaxAttributesJSON)}
	}
	return nil
}

// Grant is what a token lets its holder do in one room.
type Grant struct {
	RoomID          string
	UserID          string
	Capabilities    []string
	Attributes      map[string]string
	SessionDuration time.Duration
	IssuedAt        time.Time `json:",omitzero"` // a ban or suspension after it voids the grant
}

// SignedIn reports whether the grant is a signed-in user's (not an anonymous viewer's).
func (g *Grant) SignedIn() bool { return !strings.HasPrefix(g.UserID, AnonymousPrefix) }

// Can reports whether the grant includes a capability.
func (g *Grant) Can(capability string) bool {
	for _, c := range g.Capabilities {
		if c == capability {
			return true
		}
	}
	return false
}

// Sender is who sent a message.
type Sender struct {
	UserID     string            `json:"UserId"`
	Attributes map[string]string `json:"Attributes"`
}

// Frame is a server-to-client frame: MESSAGE, EVENT or ERROR.
type Frame struct {
	Type         string            `json:"Type"`
	ID           string            `json:"Id"`
	RequestID    string            `json:"RequestId,omitempty"`
	Content      string            `json:"Content,omitempty"`
	Attributes   map[string]string `json:"Attributes,omitempty"`
	Sender       *Sender           `json:"Sender,omitempty"`
	SendTime     string            `json:"SendTime,omitempty"`
	EventName    string            `json:"EventName,omitempty"`
	ErrorCode    int               `json:"ErrorCode,omitempty"`
	ErrorMessage string            `json:"ErrorMessage,omitempty"`
}

// Action is a client-to-server request.
type Action struct {
	Action     string            `json:"Action"`
	RequestID  string            `json:"RequestId"`
	Content    string            `json:"Content"`
	Attributes map[string]string `json:"Attributes"`
	ID         string            `json:"Id"`
	UserID     string            `json:"UserId"`
	Reason     string            `json:"Reason"`
}
