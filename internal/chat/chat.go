// Package chat is the domain of channel chat rooms, speaking the Amazon IVS Chat messaging
// protocol: single-use tokens carry a user's capabilities and attributes; a connection sends
// actions (SEND_MESSAGE, DELETE_MESSAGE, DISCONNECT_USER) and receives MESSAGE, EVENT and ERROR
// frames. Rooms span nodes through the bus.
package chat

import (
	"errors"
	"time"
)

// Capabilities a token may grant; viewing is implicit.
const (
	CapSend       = "SEND_MESSAGE"
	CapDelete     = "DELETE_MESSAGE"
	CapDisconnect = "DISCONNECT_USER"
	CapView       = "VIEW_MESSAGE"
)

// Protocol limits.
const (
	MaxContent      = 500 // code points
	TokenTTL        = time.Minute
	DefaultSession  = 60 * time.Minute
	HistorySize     = 50
	PerConnRate     = 10 // actions per second per connection
	DefaultRoomRate = 100
)

// Errors of the protocol, with the codes it defines.
var (
	ErrInvalidToken = errors.New("token is invalid, used or expired")
)

// Grant is what a token lets its holder do in one room.
type Grant struct {
	RoomID          string
	UserID          string
	Capabilities    []string
	Attributes      map[string]string
	SessionDuration time.Duration
}

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
