package httpapi_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/livehouse/livehouse/internal/channels"
	"github.com/livehouse/livehouse/internal/media/sfu"
	"github.com/livehouse/livehouse/internal/media/whep/wheptest"
	"github.com/livehouse/livehouse/internal/media/whip"
	"github.com/livehouse/livehouse/internal/media/whip/whiptest"
	"github.com/livehouse/livehouse/internal/stages"
	"github.com/livehouse/livehouse/internal/viewers"
)

// startStages runs an SFU on a loopback UDP port (the WHIP server's mux, as serve does) and
// the stages service over it, until the test ends.
func startStages(t testing.TB, chs *channels.Service, views *viewers.Service, events stages.Announcer, now func() time.Time, log *slog.Logger) *stages.Service {
	t.Helper()
	w, err := whip.Listen(whip.Config{UDPAddr: "127.0.0.1:0"}, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	var svc *stages.Service
	media := sfu.New(sfu.Config{Engine: w.SettingEngine(),
		Gone:         func(stageID, participantID string) { svc.MediaGone(stageID, participantID) },
		Unsubscribed: func(stageID, id, owner string) { svc.SubscriptionEnded(stageID, id, owner) },
	}, log)
	svc = stages.New(stages.Deps{Channels: chs, Tokens: views, Audience: views, Media: media, Events: events, Log: log, Now: now, BaseURL: "http://livehouse.test"})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = media.Run(ctx) }()
	go func() { defer wg.Done(); _ = w.Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	return svc
}

// eventLog records the chat room events sent, and passes them on.
type eventLog struct {
	next stages.Announcer
	mu   sync.Mutex
	all  []stages.Event
}

func (l *eventLog) SendEvent(ctx context.Context, roomID, name string, attrs map[string]string) error {
	if name == stages.EventName {
		var ev stages.Event
		if err := json.Unmarshal([]byte(attrs["stage"]), &ev); err == nil {
			l.mu.Lock()
			l.all = append(l.all, ev)
			l.mu.Unlock()
		}
	}
	return l.next.SendEvent(ctx, roomID, name, attrs)
}

// find returns the first recorded event of the type for the participant ("" any).
func (l *eventLog) find(typ, participantID string) *stages.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ev := range l.all {
		if ev.Type == typ && (participantID == "" || ev.ParticipantID == participantID) {
			return &ev
		}
	}
	return nil
}

// poll waits for cond; the deadline only keeps a broken build from hanging.
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type grant struct {
	StageID, ParticipantID, Token, Role string
}

func (e *env) join(u user, host string, body any) grant {
	e.t.Helper()
	var g grant
	if err := json.Unmarshal(e.want(e.call("POST", "/api/channels/"+host+"/stage/participants", u.token, body), 201).body, &g); err != nil || g.Token == "" {
		e.t.Fatalf("join response %v: %+v", err, g)
	}
	return g
}

type stageView struct {
	ID           string
	HostPresent  bool
	Request      string
	Kicked       bool
	InviteCode   string
	Participants []struct{ ID, Username, Role string }
	Requests     []struct{ Username string }
}

func (e *env) stage(path, token string) *stageView {
	e.t.Helper()
	var b struct{ Stage *stageView }
	if err := json.Unmarshal(e.want(e.call("GET", path, token, nil), 200).body, &b); err != nil {
		e.t.Fatal(err)
	}
	return b.Stage
}

func keyframes(v *wheptest.Viewer) bool {
	for _, f := range v.Frames() {
		if f.Keyframe {
			return true
		}
	}
	return false
}

func down(s webrtc.PeerConnectionState) bool {
	return s == webrtc.PeerConnectionStateDisconnected || s == webrtc.PeerConnectionStateFailed || s == webrtc.PeerConnectionStateClosed
}

// TestStageMedia runs a stage with Pion clients: two guests join (one by the invite link,
// one by a request the host accepts), each receives the other's video, a spectator receives
// both; the kicked guest's media ends and it is told why; the stage ends 3 minutes (on the
// fake clock) after the host left.
func TestStageMedia(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ffmpeg publishers")
	}
	e := newEnvWithStages(t)
	host, ivan, jade := e.signUp("Hana"), e.signUp("Ivan"), e.signUp("Jade")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var mine struct{ Stage stageView }
	if err := json.Unmarshal(e.want(e.call("POST", "/api/me/stage", host.token, nil), 200).body, &mine); err != nil || mine.Stage.InviteCode == "" {
		t.Fatalf("start: %v %+v", err, mine)
	}
	opts := whiptest.Options{Width: 320, Height: 180, FPS: 15}
	publish := func(g grant) *whiptest.Publisher {
		t.Helper()
		p, err := whiptest.Publish(ctx, e.srv.URL+"/api/stages/"+g.StageID+"/participants/"+g.ParticipantID+"/media", g.Token, opts)
		if err != nil {
			t.Fatalf("publish: %v", err)
		}
		t.Cleanup(p.Close)
		return p
	}
	subscribe := func(g grant, publisher, token string) *wheptest.Viewer {
		t.Helper()
		v, err := wheptest.Play(ctx, e.srv.URL+"/api/stages/"+g.StageID+"/participants/"+publisher+"/subscriptions", token, wheptest.Options{})
		if err != nil {
			t.Fatalf("subscribe to %s: %v", publisher, err)
		}
		t.Cleanup(v.Close)
		return v
	}

	hostGrant := e.join(host, "hana", map[string]string{})
	if hostGrant.Role != "host" || hostGrant.StageID != mine.Stage.ID {
		t.Fatalf("host grant %+v, stage %s", hostGrant, mine.Stage.ID)
	}
	hostPub := publish(hostGrant)

	ivanGrant := e.join(ivan, "hana", map[string]string{"invite": mine.Stage.InviteCode})
	if ivanGrant.Role != "invited" {
		t.Errorf("ivan's role = %q, want invited", ivanGrant.Role)
	}
	ivanPub := publish(ivanGrant)

	e.want(e.call("POST", "/api/channels/hana/stage/requests", jade.token, nil), 204)
	if code := e.want(e.call("POST", "/api/channels/hana/stage/participants", jade.token, map[string]string{}), 403).errorCode(t); code != "NotAdmitted" {
		t.Errorf("joining before the host accepts: %s", code)
	}
	if s := e.stage("/api/me/stage", host.token); len(s.Requests) != 1 || s.Requests[0].Username != "Jade" {
		t.Fatalf("host sees requests %+v", s.Requests)
	}
	if e.events.find(stages.EventRequested, "") == nil {
		t.Error("no request-to-join event")
	}
	e.want(e.call("PUT", "/api/me/stage/requests/jade", host.token, nil), 204)
	if s := e.stage("/api/channels/hana/stage", jade.token); s.Request != "accepted" {
		t.Errorf("jade's standing = %q, want accepted", s.Request)
	}
	jadeGrant := e.join(jade, "hana", map[string]string{})
	if jadeGrant.Role != "requested" {
		t.Errorf("jade's role = %q, want requested", jadeGrant.Role)
	}
	jadePub := publish(jadeGrant)

	ivanSeesJade := subscribe(ivanGrant, jadeGrant.ParticipantID, ivanGrant.Token)
	jadeSeesIvan := subscribe(jadeGrant, ivanGrant.ParticipantID, jadeGrant.Token)
	type channelPage struct {
		ChannelID, PlaybackToken string
		ViewerCount              int
	}
	readChannel := func() channelPage {
		t.Helper()
		var page channelPage
		if err := json.Unmarshal(e.want(e.call("GET", "/api/channels/hana", "", nil), 200).body, &page); err != nil || page.PlaybackToken == "" {
			t.Fatalf("no playback token for the spectator: %v", err)
		}
		return page
	}
	page := readChannel()
	if page.ViewerCount != 0 {
		t.Errorf("viewers before any spectator: %d (participants are not viewers)", page.ViewerCount)
	}
	specIvan := subscribe(ivanGrant, ivanGrant.ParticipantID, page.PlaybackToken)
	specJade := subscribe(ivanGrant, jadeGrant.ParticipantID, page.PlaybackToken)
	for name, v := range map[string]*wheptest.Viewer{"ivan sees jade": ivanSeesJade, "jade sees ivan": jadeSeesIvan, "spectator sees ivan": specIvan, "spectator sees jade": specJade} {
		poll(t, name+" (a keyframe)", func() bool { return keyframes(v) })
	}
	// Spectators count among the channel's viewers: one for two subscriptions of one
	// playback session. Each reading of the channel is another session: a second spectator
	// watches Jade only, a third Ivan, who leaves.
	if got := readChannel().ViewerCount; got != 1 {
		t.Errorf("viewers with one spectator: %d, want 1", got)
	}
	second := subscribe(ivanGrant, jadeGrant.ParticipantID, readChannel().PlaybackToken)
	third := subscribe(ivanGrant, ivanGrant.ParticipantID, readChannel().PlaybackToken)
	if got := readChannel().ViewerCount; got != 3 {
		t.Errorf("viewers with three spectators: %d, want 3", got)
	}
	if status, err := third.Leave(ctx); err != nil || status != 204 {
		t.Fatalf("the third spectator leaving: %d %v", status, err)
	}
	if got := readChannel().ViewerCount; got != 2 {
		t.Errorf("viewers after the third spectator left: %d, want 2", got)
	}
	if s := e.stage("/api/channels/hana/stage", ""); len(s.Participants) != 3 || !s.HostPresent {
		t.Errorf("stage %+v, want 3 participants and the host present", s)
	}

	// A guest may not kick; the host kicks Jade: her media ends and she is told.
	e.want(e.call("DELETE", "/api/me/stage/participants/"+jadeGrant.ParticipantID, ivan.token, nil), 404)
	e.want(e.call("DELETE", "/api/me/stage/participants/"+jadeGrant.ParticipantID, host.token, nil), 204)
	ev := e.events.find(stages.EventKicked, jadeGrant.ParticipantID)
	if ev == nil || ev.Reason != "You have been kicked by the host." || ev.Username != "Jade" {
		t.Errorf("kick event %+v", ev)
	}
	poll(t, "jade's publication to end", func() bool { return down(jadePub.State()) })
	poll(t, "jade's subscription to end", func() bool { return down(jadeSeesIvan.State()) })
	poll(t, "the subscriptions to jade to end", func() bool { return down(ivanSeesJade.State()) && down(specJade.State()) && down(second.State()) })
	// The SFU ended the subscriptions to Jade: the second spectator, who watched only her,
	// no longer counts; the first still watches Ivan.
	if got := readChannel().ViewerCount; got != 1 {
		t.Errorf("viewers once the subscriptions to jade ended with her: %d, want 1", got)
	}
	if ivanPub.State() != webrtc.PeerConnectionStateConnected || specIvan.State() != webrtc.PeerConnectionStateConnected {
		t.Errorf("ivan's media went down with jade's: %s, %s", ivanPub.State(), specIvan.State())
	}
	if s := e.stage("/api/channels/hana/stage", jade.token); !s.Kicked || len(s.Participants) != 2 {
		t.Errorf("the kicked guest's view of the stage: %+v", s)
	}
	if s := e.stage("/api/channels/hana/stage", ivan.token); s.Kicked {
		t.Error("another guest's view says kicked")
	}
	if code := e.want(e.call("POST", "/api/channels/hana/stage/participants", jade.token, map[string]string{"invite": mine.Stage.InviteCode}), 403).errorCode(t); code != "NotAdmitted" {
		t.Errorf("kicked guest rejoining with the invite: %s", code)
	}

	// The host leaves: the stage waits 3 minutes for them, then ends.
	if status, err := hostPub.End(ctx); err != nil || status != 204 {
		t.Fatalf("host leaving: %d %v", status, err)
	}
	if s := e.stage("/api/channels/hana/stage", ""); s == nil || s.HostPresent {
		t.Fatalf("after the host left: %+v", s)
	}
	e.clock.Add(stages.HostGrace - time.Second)
	e.stages.Sweep(ctx)
	if e.stage("/api/channels/hana/stage", "") == nil {
		t.Fatal("the stage ended before 3 minutes were up")
	}
	if ivanPub.State() != webrtc.PeerConnectionStateConnected {
		t.Errorf("ivan's publication ended early: %s", ivanPub.State())
	}
	e.clock.Add(time.Second)
	e.stages.Sweep(ctx)
	if s := e.stage("/api/channels/hana/stage", ""); s != nil {
		t.Fatalf("stage still open 3 minutes after the host left: %+v", s)
	}
	if e.events.find(stages.EventEnded, "") == nil {
		t.Error("no stage-ended event")
	}
	poll(t, "ivan's media to end with the stage", func() bool { return down(ivanPub.State()) && down(specIvan.State()) })
	if got := e.views.Viewers(page.ChannelID); got != 0 {
		t.Errorf("viewers after the stage ended: %d, want 0", got)
	}
}

// TestStageRefusals checks who may do what: no one acts on another's stage, banned users
// neither ask nor join, tokens are checked, offers are bounded, and a stage takes 12.
func TestStageRefusals(t *testing.T) {
	e := newEnvWithStages(t)
	host, guest, other, banned := e.signUp("Hana"), e.signUp("Gustav"), e.signUp("Mallory"), e.signUp("Bobby")

	for _, r := range []struct{ method, path string }{
		{"GET", "/api/me/stage"}, {"POST", "/api/me/stage"}, {"DELETE", "/api/me/stage"},
		{"PUT", "/api/me/stage/requests/gustav"}, {"DELETE", "/api/me/stage/requests/gustav"},
		{"DELETE", "/api/me/stage/participants/p-x"},
		{"POST", "/api/channels/hana/stage/requests"}, {"DELETE", "/api/channels/hana/stage/requests"},
		{"POST", "/api/channels/hana/stage/participants"},
	} {
		e.want(e.call(r.method, r.path, "", nil), 401)
	}
	if s := e.stage("/api/channels/hana/stage", ""); s != nil {
		t.Fatalf("stage before start: %+v", s)
	}
	e.want(e.call("POST", "/api/channels/hana/stage/requests", guest.token, nil), 404)

	var mine struct{ Stage stageView }
	if err := json.Unmarshal(e.want(e.call("POST", "/api/me/stage", host.token, nil), 200).body, &mine); err != nil {
		t.Fatal(err)
	}
	var again struct{ Stage stageView }
	_ = json.Unmarshal(e.want(e.call("POST", "/api/me/stage", host.token, nil), 200).body, &again)
	if again.Stage.ID != mine.Stage.ID {
		t.Errorf("starting twice opened a second stage")
	}
	hostGrant := e.join(host, "hana", map[string]string{})
	e.want(e.call("POST", "/api/channels/hana/stage/requests", host.token, nil), 400)
	var dir struct {
		Channels []struct {
			Username string
			HasStage bool
		}
	}
	_ = json.Unmarshal(e.want(e.call("GET", "/api/channels?live=true", "", nil), 200).body, &dir)
	if len(dir.Channels) != 1 || dir.Channels[0].Username != "Hana" || !dir.Channels[0].HasStage {
		t.Errorf("directory with an open stage: %+v", dir.Channels)
	}
	if page := e.want(e.call("GET", "/api/channels/hana", "", nil), 200).json(t); page["hasStage"] != true {
		t.Errorf("channel page hasStage = %v", page["hasStage"])
	}

	// Another user's calls reach only their own (absent) stage.
	e.want(e.call("POST", "/api/channels/hana/stage/requests", guest.token, nil), 204)
	if code := e.want(e.call("PUT", "/api/me/stage/requests/gustav", other.token, nil), 404).errorCode(t); code != "NoActiveStage" {
		t.Errorf("accepting on someone else's stage: %s", code)
	}
	e.want(e.call("DELETE", "/api/me/stage/requests/gustav", other.token, nil), 404)
	e.want(e.call("DELETE", "/api/me/stage/participants/"+hostGrant.ParticipantID, other.token, nil), 404)
	e.want(e.call("DELETE", "/api/me/stage", other.token, nil), 404)
	if s := e.stage("/api/me/stage", host.token); s == nil || len(s.Requests) != 1 || len(s.Participants) != 1 {
		t.Fatalf("someone else changed the stage: %+v", s)
	}
	if s := e.stage("/api/me/stage", other.token); s != nil {
		t.Errorf("another user sees a stage: %+v", s)
	}
	e.want(e.call("DELETE", "/api/me/stage/participants/"+hostGrant.ParticipantID, host.token, nil), 400)
	e.want(e.call("DELETE", "/api/me/stage/requests/gustav", host.token, nil), 204)
	e.want(e.call("POST", "/api/channels/hana/stage/participants", guest.token, map[string]string{}), 403)
	e.want(e.call("POST", "/api/channels/hana/stage/participants", guest.token, map[string]string{"invite": "wrong"}), 403)
	e.want(e.call("POST", "/api/channels/hana/stage/participants", guest.token, map[string]string{"invite": strings.Repeat("x", 200)}), 400)

	// Banned users neither ask nor join, even with the invite.
	e.want(e.call("PUT", "/api/channels/hana/bans/bobby", host.token, nil), 204)
	for _, body := range []any{nil, map[string]string{"invite": mine.Stage.InviteCode}} {
		path := "/api/channels/hana/stage/requests"
		if body != nil {
			path = "/api/channels/hana/stage/participants"
		}
		if code := e.want(e.call("POST", path, banned.token, body), 403).errorCode(t); code != "BannedFromChannel" {
			t.Errorf("banned user %s: %s", path, code)
		}
	}

	// Media routes check the participant token, the offer and its size.
	media := "/api/stages/" + hostGrant.StageID + "/participants/" + hostGrant.ParticipantID
	sdp := []string{"Content-Type", "application/sdp"}
	e.want(e.call("POST", media+"/media", "", "v=0", sdp...), 401)
	if code := e.want(e.call("POST", media+"/media", "wrong-token", "v=0", sdp...), 401).errorCode(t); code != "InvalidParticipantToken" {
		t.Errorf("wrong participant token: %s", code)
	}
	e.want(e.call("POST", media+"/media", hostGrant.Token, "v=0"), 415)
	e.want(e.call("POST", media+"/media", hostGrant.Token, "not sdp", sdp...), 400)
	e.want(e.call("POST", media+"/media", hostGrant.Token, strings.Repeat("a", 70<<10), sdp...), 413)
	e.want(e.call("POST", "/api/stages/stage-nope/participants/"+hostGrant.ParticipantID+"/media", hostGrant.Token, "v=0", sdp...), 404)
	if code := e.want(e.call("POST", media+"/subscriptions", "not-a-playback-token", "v=0", sdp...), 403).errorCode(t); code != "InvalidPlaybackToken" {
		t.Errorf("spectator without a valid token: %s", code)
	}
	e.want(e.call("DELETE", media, "wrong-token", nil), 401)
	e.want(e.call("DELETE", "/api/stages/"+hostGrant.StageID+"/subscriptions/sub-nope", "", nil), 404)

	// Twelve publishers: the host and eleven guests; the twelfth guest is refused.
	for i := range 11 {
		u := e.signUp("Guest" + string(rune('A'+i)))
		e.join(u, "hana", map[string]string{"invite": mine.Stage.InviteCode})
	}
	last := e.signUp("Zedd")
	if code := e.want(e.call("POST", "/api/channels/hana/stage/participants", last.token, map[string]string{"invite": mine.Stage.InviteCode}), 409).errorCode(t); code != "StageFull" {
		t.Errorf("13th publisher: %s", code)
	}
	// The host ends the stage; every route then says so.
	e.want(e.call("DELETE", "/api/me/stage", host.token, nil), 204)
	e.want(e.call("POST", "/api/channels/hana/stage/participants", host.token, map[string]string{}), 404)
	e.want(e.call("DELETE", "/api/me/stage", host.token, nil), 404)
	dir.Channels = nil
	_ = json.Unmarshal(e.want(e.call("GET", "/api/channels?live=true", "", nil), 200).body, &dir)
	if len(dir.Channels) != 0 {
		t.Errorf("directory after the stage ended: %+v", dir.Channels)
	}
}
