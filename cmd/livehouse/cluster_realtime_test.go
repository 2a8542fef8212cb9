package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/livehouse/livehouse/internal/media/whep/wheptest"
	"github.com/livehouse/livehouse/internal/media/whip/whiptest"
)

// TestClusterWHEPFromAnyNode publishes over RTMP to node A and watches over WHEP through
// node B: B forwards the offer to A over the bus, A's answer (its ICE candidates) comes back,
// the media flows from A, and the DELETE through B ends the session on A.
func TestClusterWHEPFromAnyNode(t *testing.T) {
	t.Parallel()
	needTool(t, "ffmpeg")
	c := newCluster(t)
	va := c.vars(t, "node-a")
	a, stopA := startServer(t, va)
	defer stopA()
	b, stopB := startServer(t, c.vars(t, "node-b"))
	defer stopB()
	_, key, channelID, _ := signUpStreamer(t, a)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	pub := publish(ctx, "rtmp://"+va["LIVEHOUSE_RTMP_ADDR"]+"/live/"+key)
	if err := pub.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = pub.Process.Kill(); _ = pub.Wait() }()
	var page map[string]any
	waitFor(t, 30*time.Second, "the channel to be live, seen from B", func() bool {
		getJSON(t, b+"/api/channels/streamer", &page)
		return page["isLive"] == true
	})
	token, _ := page["playbackToken"].(string) // minted by B
	endpoint := b + "/api/whep/" + channelID
	// Refusals are answered as on A: a forged token through B is refused there.
	if _, err := wheptest.Play(ctx, endpoint, token+"x", wheptest.Options{NoAudio: true}); !isWHEPStatus(err, 403) {
		t.Errorf("a forged token through B: %v, want a 403", err)
	}
	v, err := wheptest.Play(ctx, endpoint, token, wheptest.Options{})
	if err != nil {
		t.Fatalf("WHEP through B: %v", err)
	}
	defer v.Close()
	if !strings.HasPrefix(v.Location, endpoint+"/") {
		t.Errorf("Location = %q, want one on B", v.Location)
	}
	waitFor(t, 30*time.Second, "a keyframe over WHEP through B", func() bool { return len(v.Frames()) > 0 })
	first := v.Frames()[0]
	types := map[byte]bool{}
	for _, n := range first.NALUs {
		types[n[0]&0x1f] = true
	}
	if !first.Keyframe || !types[5] || !types[7] || !types[8] {
		t.Errorf("the first frame through B has NAL unit types %v, want an IDR with SPS and PPS", types)
	}
	if status, err := v.Leave(ctx); err != nil || status != 200 {
		t.Errorf("DELETE through B: %d %v", status, err)
	}
	req, _ := http.NewRequestWithContext(ctx, "DELETE", v.Location, nil)
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 404 {
		t.Errorf("a second DELETE through B: %v %v, want 404", res.StatusCode, err)
	}
	waitFor(t, 30*time.Second, "the viewer's peer connection to end", func() bool { return down(v.State()) })
}

func down(s webrtc.PeerConnectionState) bool {
	return s == webrtc.PeerConnectionStateClosed || s == webrtc.PeerConnectionStateFailed || s == webrtc.PeerConnectionStateDisconnected
}

type clusterStage struct {
	ID           string
	InviteCode   string
	Participants []struct{ ID, Username, Role string }
}

type clusterGrant struct{ StageID, ParticipantID, Token, Role string }

// stageAt is the stage GET path answers on base (nil when none) and the status.
func stageAt(t *testing.T, base, path, session string) (*clusterStage, int) {
	t.Helper()
	var out struct{ Stage *clusterStage }
	status := getAuthJSON(t, base+path, session, &out)
	return out.Stage, status
}

// hasStageAt is the channel page's stage mark, as base shows it.
func hasStageAt(t *testing.T, base, username string) bool {
	t.Helper()
	var page map[string]any
	getJSON(t, base+"/api/channels/"+username, &page)
	return page["hasStage"] == true
}

func login(t *testing.T, base, name string) string {
	t.Helper()
	if status, _ := post(t, base+"/api/auth/register", "", map[string]string{"username": name, "email": name + "@example.com", "password": "Passw0rd!"}); status != 201 {
		t.Fatalf("register %s: %d", name, status)
	}
	_, l := post(t, base+"/api/auth/login", "", map[string]string{"username": name, "password": "Passw0rd!"})
	return l["token"].(string)
}

func joinAt(t *testing.T, base, session, host string, body map[string]string) clusterGrant {
	t.Helper()
	status, m := post(t, base+"/api/channels/"+host+"/stage/participants", session, body)
	if status != 201 {
		t.Fatalf("join %s's stage on %s: %d %v", host, base, status, m)
	}
	raw, _ := json.Marshal(m)
	var g clusterGrant
	_ = json.Unmarshal(raw, &g)
	return g
}

// TestClusterStageFromAnyNode: a stage started on node A is seen from node B (the stage, the
// channel page's mark, the directory); a guest joins and publishes through B, a subscriber
// through B gets the guest's keyframe; kick and end through B act on A, and nobody acts on
// another's stage through B.
func TestClusterStageFromAnyNode(t *testing.T) {
	t.Parallel()
	needTool(t, "ffmpeg")
	c := newCluster(t)
	a, stopA := startServer(t, c.vars(t, "node-a"))
	defer stopA()
	b, stopB := startServer(t, c.vars(t, "node-b"))
	defer stopB()
	host, ivan := login(t, a, "hana"), login(t, b, "ivan")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	if s, _ := stageAt(t, b, "/api/channels/hana/stage", ""); s != nil || hasStageAt(t, b, "hana") {
		t.Fatalf("a stage before any started: %+v", s)
	}
	status, started := post(t, a+"/api/me/stage", host, nil)
	if status != 200 {
		t.Fatalf("start on A: %d %v", status, started)
	}
	stageID := started["stage"].(map[string]any)["id"].(string)
	invite := started["stage"].(map[string]any)["inviteCode"].(string)

	// Seen from B: the stage, the mark, the directory, and the host's own view (forwarded).
	if s, status := stageAt(t, b, "/api/channels/hana/stage", ivan); status != 200 || s == nil || s.ID != stageID {
		t.Fatalf("the stage from B: %d %+v, want %s", status, s, stageID)
	}
	if !hasStageAt(t, b, "hana") {
		t.Error("B's channel page does not mark the stage")
	}
	var dir struct {
		Channels []struct {
			Username string
			HasStage bool
		}
	}
	getJSON(t, b+"/api/channels?live=true", &dir)
	if len(dir.Channels) != 1 || dir.Channels[0].Username != "hana" || !dir.Channels[0].HasStage {
		t.Errorf("B's directory: %+v, want hana with her stage", dir.Channels)
	}
	if s, _ := stageAt(t, b, "/api/me/stage", host); s == nil || s.ID != stageID || s.InviteCode != invite {
		t.Errorf("the host's own stage through B: %+v", s)
	}
	// Starting again through B returns the open stage on A, not a second one on B.
	if status, again := post(t, b+"/api/me/stage", host, nil); status != 200 || again["stage"].(map[string]any)["id"] != stageID {
		t.Errorf("start again through B: %d %v", status, again)
	}
	// Nobody acts on another's stage through B; credentials are checked (on B and on A).
	if status, _ := send(t, "DELETE", b+"/api/me/stage", ivan, nil); status != 404 {
		t.Errorf("ivan ending a stage through B: %d, want 404 (he has none)", status)
	}
	if status, _ := send(t, "DELETE", b+"/api/me/stage", "forged-session", nil); status != 401 {
		t.Errorf("a forged session through B: %d, want 401", status)
	}
	if status, _ := post(t, b+"/api/channels/hana/stage/participants", ivan, map[string]string{"invite": "wrong"}); status != 403 {
		t.Errorf("joining through B with a wrong invite: %d, want 403", status)
	}

	hostGrant := joinAt(t, a, host, "hana", map[string]string{})
	opts := whiptest.Options{Width: 320, Height: 180, FPS: 15}
	hostPub, err := whiptest.Publish(ctx, a+"/api/stages/"+stageID+"/participants/"+hostGrant.ParticipantID+"/media", hostGrant.Token, opts)
	if err != nil {
		t.Fatalf("host publishing on A: %v", err)
	}
	defer hostPub.Close()

	// The guest joins with the invite and publishes, both through B.
	ivanGrant := joinAt(t, b, ivan, "hana", map[string]string{"invite": invite})
	if ivanGrant.Role != "invited" || ivanGrant.StageID != stageID {
		t.Fatalf("ivan's grant through B: %+v", ivanGrant)
	}
	if _, err := whiptest.Publish(ctx, b+"/api/stages/"+stageID+"/participants/"+ivanGrant.ParticipantID+"/media", "wrong-token", opts); !isStatus(err, 401) {
		t.Errorf("publishing through B with a wrong participant token: %v, want a 401", err)
	}
	ivanPub, err := whiptest.Publish(ctx, b+"/api/stages/"+stageID+"/participants/"+ivanGrant.ParticipantID+"/media", ivanGrant.Token, opts)
	if err != nil {
		t.Fatalf("ivan publishing through B: %v", err)
	}
	defer ivanPub.Close()

	// A spectator subscribes to ivan through B.
	var page map[string]any
	getJSON(t, b+"/api/channels/hana", &page)
	spec, err := wheptest.Play(ctx, b+"/api/stages/"+stageID+"/participants/"+ivanGrant.ParticipantID+"/subscriptions", page["playbackToken"].(string), wheptest.Options{})
	if err != nil {
		t.Fatalf("subscribing through B: %v", err)
	}
	defer spec.Close()
	if !strings.HasPrefix(spec.Location, b+"/api/stages/"+stageID+"/subscriptions/") {
		t.Errorf("subscription Location = %q", spec.Location)
	}
	waitFor(t, 60*time.Second, "ivan's keyframe through B", func() bool {
		for _, f := range spec.Frames() {
			if f.Keyframe {
				return true
			}
		}
		return false
	})
	if s, _ := stageAt(t, b, "/api/channels/hana/stage", ""); s == nil || len(s.Participants) != 2 {
		t.Errorf("the stage from B with two publishers: %+v", s)
	}

	// The guest may not kick; the host kicks him through B: his media ends on A.
	if status, _ := send(t, "DELETE", b+"/api/me/stage/participants/"+hostGrant.ParticipantID, ivan, nil); status != 404 {
		t.Errorf("ivan kicking the host through B: %d, want 404", status)
	}
	if status, m := send(t, "DELETE", b+"/api/me/stage/participants/"+ivanGrant.ParticipantID, host, nil); status != 204 {
		t.Fatalf("kick through B: %d %v", status, m)
	}
	waitFor(t, 30*time.Second, "ivan's publication and the subscription to him to end", func() bool {
		return down(ivanPub.State()) && down(spec.State())
	})
	if hostPub.State() != webrtc.PeerConnectionStateConnected {
		t.Errorf("the host's publication went down with ivan's: %s", hostPub.State())
	}
	if s, _ := stageAt(t, a, "/api/channels/hana/stage", ivan); s == nil || len(s.Participants) != 1 {
		t.Errorf("the stage on A after the kick: %+v", s)
	}

	// Ended through B: gone on both nodes.
	if status, _ := send(t, "DELETE", b+"/api/me/stage", host, nil); status != 204 {
		t.Fatalf("end through B: %d", status)
	}
	for _, base := range []string{a, b} {
		if s, _ := stageAt(t, base, "/api/channels/hana/stage", ""); s != nil || hasStageAt(t, base, "hana") {
			t.Errorf("%s still shows the ended stage: %+v", base, s)
		}
	}
	waitFor(t, 30*time.Second, "the host's publication to end with the stage", func() bool { return down(hostPub.State()) })
}

// TestClusterStageHomeRestart: a stage ends with its home node. Killed and restarted, the
// home node ends on record the stages it left open (their participants and media died with
// it), so every node stops showing them at once; a home node that does not come back loses
// them when its lease expires. The host then starts a new stage, anywhere.
func TestClusterStageHomeRestart(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	b, stopB := startServer(t, c.vars(t, "node-b"))
	defer stopB()
	host := login(t, b, "hana")

	va := c.vars(t, "node-a")
	va["LIVEHOUSE_NODE_LEASE_SECONDS"] = "600" // so that only the restart can end the stage
	a, proc := startProcess(t, va)
	status, started := post(t, a+"/api/me/stage", host, nil)
	if status != 200 {
		t.Fatalf("start on A: %d %v", status, started)
	}
	first := started["stage"].(map[string]any)["id"].(string)
	if !hasStageAt(t, b, "hana") {
		t.Fatal("B does not see the stage on A")
	}
	kill(t, a, proc) // no clean shutdown: the stage is still open on record
	if !hasStageAt(t, b, "hana") {
		t.Fatal("the stage was ended without A's restart or lease expiry")
	}
	// Meanwhile a request for it through B finds A gone and is answered by B: no stage.
	if s, status := stageAt(t, b, "/api/channels/hana/stage", ""); status != 200 || s != nil {
		t.Errorf("the stage of a dead node through B: %d %+v, want none", status, s)
	}

	a, proc = startProcess(t, va) // the same node name
	if hasStageAt(t, b, "hana") || hasStageAt(t, a, "hana") {
		t.Error("the restarted node's stage is still marked")
	}
	status, again := post(t, b+"/api/me/stage", host, nil)
	if status != 200 || again["stage"].(map[string]any)["id"] == first {
		t.Fatalf("a new stage through B after the restart: %d %v", status, again)
	}
	if !hasStageAt(t, a, "hana") {
		t.Error("A does not see the new stage on B")
	}
	if status, _ := send(t, "DELETE", a+"/api/me/stage", host, nil); status != 204 { // forwarded to B
		t.Fatalf("ending B's stage through A: %d", status)
	}

	// A node that does not come back: its stage ends with its lease.
	vc := c.vars(t, "node-c")
	vc["LIVEHOUSE_NODE_LEASE_SECONDS"] = "2"
	cBase, cProc := startProcess(t, vc)
	if status, _ := post(t, cBase+"/api/me/stage", host, nil); status != 200 {
		t.Fatalf("start on C: %d", status)
	}
	if !hasStageAt(t, b, "hana") {
		t.Fatal("B does not see the stage on C")
	}
	kill(t, cBase, cProc)
	waitFor(t, 30*time.Second, "C's stage to end with its lease", func() bool { return !hasStageAt(t, b, "hana") })
	if status, _ := post(t, b+"/api/me/stage", host, nil); status != 200 {
		t.Errorf("a new stage through B after C's lease expired: %d", status)
	}
}

// kill ends a child node without a clean shutdown and waits until it answers no more.
func kill(t *testing.T, base string, proc *exec.Cmd) {
	t.Helper()
	_ = proc.Process.Kill()
	waitFor(t, 30*time.Second, "the killed node to stop answering", func() bool {
		_, err := getStatus(base + "/healthz")
		return err != nil
	})
}
