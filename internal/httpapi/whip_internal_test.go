package httpapi

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/livehouse/livehouse/internal/streams"
)

// TestWHIPRefusals: each refusal of a stream key reaches the WHIP client as its status and code.
func TestWHIPRefusals(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tt := range []struct {
		err    error
		status int
		code   string
	}{
		{streams.ErrUnknownKey, 401, "InvalidStreamKey"},
		{streams.ErrSuspended, 403, "AccountSuspended"},
		{streams.ErrNotVerified, 403, "AccountNotVerified"},
		{streams.ErrAlreadyLive, 409, "ChannelAlreadyLive"},
	} {
		rec := httptest.NewRecorder()
		writeError(rec, httptest.NewRequest("POST", "/api/whip", nil), log, whipProblem(tt.err))
		var body errorBody
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		if rec.Code != tt.status || body.Error.Code != tt.code {
			t.Errorf("%v: %d %s, want %d %s", tt.err, rec.Code, body.Error.Code, tt.status, tt.code)
		}
	}
}
