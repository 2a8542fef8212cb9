package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/livehouse/livehouse/internal/streams"
)

// openSession records a stream session of the user's channel, created at the time.
func (e *env) openSession(u user, id string, at time.Time) string {
	e.t.Helper()
	ctx := context.Background()
	ch, err := e.store.ChannelByUser(ctx, u.id)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.store.OpenStreamSession(ctx, id, ch.ID, "", at); err != nil {
		e.t.Fatal(err)
	}
	if err := e.store.AddStreamEvent(ctx, &streams.Event{SessionID: id, At: at, Name: streams.EventSessionCreated, Type: "IVS Stream State Change"}); err != nil {
		e.t.Fatal(err)
	}
	return id
}

type sessionList struct {
	Sessions []struct {
		ID            string
		IsLive        bool
		HasErrorEvent bool
		IsHealthy     bool
		EndTime       *time.Time
	}
	NextToken string
}

// TestSessionList: newest first, paged by nextToken, the LIVE flag, and only the caller's.
func TestSessionList(t *testing.T) {
	e := newEnv(t, autoVerify(true))
	alice := e.signUp("alice")
	bob := e.signUp("bobby")
	now := e.clock.Now()
	ctx := context.Background()
	for i := range 3 {
		e.openSession(alice, fmt.Sprint("st-a", i), now.Add(time.Duration(i)*time.Minute))
		if i < 2 { // one open session per channel: a0 and a1 end before the next opens
			if err := e.store.EndStreamSession(ctx, fmt.Sprint("st-a", i), now.Add(time.Duration(i+1)*time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
	}
	e.openSession(bob, "st-b", now)
	if err := e.store.StartStreamSession(ctx, "st-a2", now.Add(3*time.Minute)); err != nil {
		t.Fatal(err)
	}

	var ids []string
	live := map[string]bool{}
	token := ""
	for range 3 {
		var page sessionList
		res := e.want(e.call("GET", "/api/me/sessions?limit=2&nextToken="+token, alice.token, nil), 200)
		if err := json.Unmarshal(res.body, &page); err != nil {
			t.Fatal(err)
		}
		for _, s := range page.Sessions {
			ids = append(ids, s.ID)
			live[s.ID] = s.IsLive
		}
		if token = page.NextToken; token == "" {
			break
		}
	}
	if diff := cmp.Diff([]string{"st-a2", "st-a1", "st-a0"}, ids); diff != "" {
		t.Errorf("alice's sessions (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]bool{"st-a2": true, "st-a1": false, "st-a0": false}, live); diff != "" {
		t.Errorf("isLive (-want +got):\n%s", diff)
	}
}

// TestSessionDetail: events with their labels, the declared configuration, warnings and
// metrics aggregated to the asked period.
func TestSessionDetail(t *testing.T) {
	e := newEnv(t, autoVerify(true))
	alice := e.signUp("alice")
	start := e.clock.Now()
	id := e.openSession(alice, "st-1", start)
	ctx := context.Background()
	cfg := `{"encoder":"obs","videoCodec":"avc1.64001F","avcProfile":"High","avcLevel":"3.1","width":1280,"height":720,"targetFramerate":30,"targetBitrate":2500000,"audioCodec":"mp4a.40.2","audioBitrate":128000,"audioSampleRate":48000,"audioChannels":2}`
	if err := e.store.SetIngestConfig(ctx, id, cfg); err != nil {
		t.Fatal(err)
	}
	var points []streams.Point
	for i := range 10 {
		points = append(points, streams.Point{At: start.Add(time.Duration(i) * time.Second), VideoBitrate: 2_500_000, AudioBitrate: 128_000, Framerate: 30, KeyframeInterval: 4, Views: 2})
	}
	if err := e.store.PutStreamMetrics(ctx, id, start.Unix()/60, streams.EncodeMinute(points)); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(10 * time.Second)
	if err := e.store.EndStreamSession(ctx, id, e.clock.Now()); err != nil {
		t.Fatal(err)
	}

	res := e.want(e.call("GET", "/api/me/sessions/"+id+"?period=5", alice.token, nil), 200)
	var got struct {
		Events              []struct{ Name, Label string }
		IngestConfiguration struct {
			Video struct {
				Codec, Encoder, Profile string
				TargetBitrate           int
				VideoWidth              int
			}
			Audio struct{ SampleRate, Channels int }
		}
		Warnings []struct{ Field string }
		Metrics  struct {
			Period       int
			VideoBitrate []*float64
			Averages     struct{ Framerate, KeyframeInterval, ConcurrentViews float64 }
		}
	}
	if err := json.Unmarshal(res.body, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Events) != 1 || got.Events[0].Label != "Session created" {
		t.Errorf("events %+v", got.Events)
	}
	v := got.IngestConfiguration.Video
	if v.Codec != "avc1.64001F" || v.Encoder != "obs" || v.Profile != "High" || v.TargetBitrate != 2_500_000 || v.VideoWidth != 1280 || got.IngestConfiguration.Audio.SampleRate != 48000 {
		t.Errorf("ingest configuration %+v", got.IngestConfiguration)
	}
	if len(got.Warnings) != 1 || got.Warnings[0].Field != "keyframeInterval" {
		t.Errorf("warnings %+v, want the 4 s keyframe interval", got.Warnings)
	}
	m := got.Metrics
	if m.Period != 5 || len(m.VideoBitrate) != 3 || m.VideoBitrate[0] == nil || *m.VideoBitrate[0] != 2_500_000 || m.VideoBitrate[2] != nil {
		t.Errorf("metrics %+v", m)
	}
	if m.Averages.Framerate != 30 || m.Averages.KeyframeInterval != 4 || m.Averages.ConcurrentViews != 2 {
		t.Errorf("averages %+v", m.Averages)
	}
}

func TestSessionBadInput(t *testing.T) {
	e := newEnv(t, autoVerify(true))
	alice := e.signUp("alice")
	id := e.openSession(alice, "st-1", e.clock.Now())
	for _, tt := range []struct{ path, code string }{
		{"/api/me/sessions?limit=0", "InvalidLimit"},
		{"/api/me/sessions?limit=101", "InvalidLimit"},
		{"/api/me/sessions?limit=x", "InvalidLimit"},
		{"/api/me/sessions?nextToken=%21%21", "InvalidNextToken"},
		{"/api/me/sessions?nextToken=bm9wZQ", "InvalidNextToken"},
		{"/api/me/sessions/" + id + "?period=7", "InvalidPeriod"},
		{"/api/me/sessions/" + id + "?startTime=yesterday", "InvalidTime"},
		{"/api/me/sessions/" + id + "?startTime=2026-12-01T10:00:00Z&endTime=2026-12-01T09:00:00Z", "InvalidTimeRange"},
		{"/api/me/sessions/" + id + "?period=1&startTime=1970-01-01T00:00:00Z", ""}, // clamped to the session: fine
	} {
		res := e.call("GET", tt.path, alice.token, nil)
		if tt.code == "" {
			if res.status != 200 {
				t.Errorf("GET %s = %d %s, want 200", tt.path, res.status, res.body)
			}
			continue
		}
		if res.status != 400 || res.errorCode(t) != tt.code {
			t.Errorf("GET %s = %d %s, want 400 %s", tt.path, res.status, res.body, tt.code)
		}
	}
	// A session live for 14 hours has more seconds than one request may ask for.
	e.clock.Add(14 * time.Hour)
	if res := e.call("GET", "/api/me/sessions/"+id+"?period=1", alice.token, nil); res.status != 400 || res.errorCode(t) != "TooManyValues" {
		t.Errorf("14 h at 1 s = %d %s, want 400 TooManyValues", res.status, res.body)
	}
	e.want(e.call("GET", "/api/me/sessions/"+id+"?period=5", alice.token, nil), 200)
	if res := e.call("GET", "/api/me/sessions/st-nope", alice.token, nil); res.status != 404 {
		t.Errorf("unknown session = %d, want 404", res.status)
	}
}
