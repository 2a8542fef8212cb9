package chat

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"unicode/utf8"
)

// FuzzSendMessage feeds arbitrary client frames, seeded with SEND_MESSAGE actions carrying
// attributes from TestActionLimits' table, through parsing, validation and the room's
// encoding. Nothing may panic; an action is carried out exactly when Check accepts it; and
// every frame the room sends is within the protocol's limits.
func FuzzSendMessage(f *testing.F) {
	for _, tc := range actionCases {
		b, _ := json.Marshal(tc.a)
		f.Add(b)
	}
	f.Add([]byte(`{"Action":"SEND_MESSAGE","Content":"x","Attributes":{"a":"\u0000\u2028<>&"}}`))
	f.Add([]byte(`{"Action":"SEND_MESSAGE","Content":"x","Attributes":{"a":1}}`))
	f.Add([]byte(`{"Action":"SEND_MESSAGE","Content":"\xff\xfe","Attributes":{"\xff":"\xfe"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		h := newLoopHub()
		c := join(h, &Grant{RoomID: "r", UserID: "u", Capabilities: []string{CapSend, CapDelete, CapDisconnect}})
		h.HandleJSON(context.Background(), c, data)
		var a Action
		parsed := json.Unmarshal(data, &a) == nil
		checkErr := Check(&a)
		var inv *Invalid
		got := c.sink.(*sink)
		h.fanning.Wait()
		got.mu.Lock()
		sent := got.frames
		got.mu.Unlock()
		carried := false
		for _, b := range sent {
			if len(b) > MaxFrameBytes {
				t.Fatalf("a %d-byte frame, past MaxFrameBytes", len(b))
			}
			var fr Frame
			if err := json.Unmarshal(b, &fr); err != nil {
				t.Fatalf("a frame that is not JSON: %v", err)
			}
			switch fr.Type {
			case "MESSAGE":
				carried = true
				if n := utf8.RuneCountInString(fr.Content); n == 0 || n > MaxContent {
					t.Fatalf("a message of %d code points", n)
				}
				if err := ValidateAttributes(fr.Attributes); err != nil {
					t.Fatalf("a message whose attributes are past the limits: %v", err)
				}
				if len(fr.RequestID) > MaxRequestID {
					t.Fatalf("a RequestId of %d bytes", len(fr.RequestID))
				}
			case "EVENT":
				carried = true
			case "ERROR":
				if errors.As(checkErr, &inv) && fr.ErrorCode != inv.Code {
					t.Fatalf("refused with %d, want %d (%v)", fr.ErrorCode, inv.Code, checkErr)
				}
			default:
				t.Fatalf("a frame of unknown type %q", fr.Type)
			}
		}
		if carried != (parsed && checkErr == nil) {
			t.Fatalf("carried out: %v; parsed: %v, Check: %v", carried, parsed, checkErr)
		}
	})
}
