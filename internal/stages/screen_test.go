package stages_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/livehouse/livehouse/internal/stages"
)

// publishing joins the user to hana's stage (the host, or with the invite) and publishes.
func publishing(t *testing.T, s *stages.Service, name, invite string) *stages.Grant {
	t.Helper()
	ctx := context.Background()
	g, err := s.Join(ctx, "u-"+name, name, "hana", invite)
	if err != nil {
		t.Fatalf("%s joining: %v", name, err)
	}
	if _, err := s.Publish(ctx, g.StageID, g.ParticipantID, g.Token, "offer"); err != nil {
		t.Fatalf("%s publishing: %v", name, err)
	}
	return g
}

func participants(t *testing.T, s *stages.Service) []stages.Participant {
	t.Helper()
	v, err := s.Public(context.Background(), "hana", "")
	if err != nil || v == nil {
		t.Fatalf("stage: %+v %v", v, err)
	}
	return v.Participants
}

func byID(ps []stages.Participant, id string) *stages.Participant {
	for i := range ps {
		if ps[i].ID == id {
			return &ps[i]
		}
	}
	return nil
}

// TestScreenShare: a share is a participant of kind screen named "{username} (screen)",
// counted among the 12 publishers, one per participant, and it ends with its owner (who
// leaves or is kicked); the host may stop a share without kicking its owner.
func TestScreenShare(t *testing.T) {
	ctx := context.Background()
	s, media, clk := newService(nil)
	st, err := s.Start(ctx, "u-hana", "hana")
	if err != nil {
		t.Fatal(err)
	}
	host := publishing(t, s, "hana", "")
	guests := make([]*stages.Grant, 10)
	for i := range guests {
		guests[i] = publishing(t, s, fmt.Sprintf("g%d", i), st.InviteCode)
	}
	// 11 publishers; g0 shares a screen, the twelfth.
	sh, err := s.ShareScreen(ctx, guests[0].StageID, guests[0].ParticipantID, guests[0].Token)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Publish(ctx, sh.StageID, sh.ParticipantID, sh.Token, "offer"); err != nil {
		t.Fatal(err)
	}
	ps := participants(t, s)
	screen := byID(ps, sh.ParticipantID)
	if len(ps) != stages.MaxPublishers || screen == nil {
		t.Fatalf("%d participants, the screen %+v", len(ps), screen)
	}
	want := stages.Participant{ID: sh.ParticipantID, UserID: "u-g0", Username: "g0 (screen)", Role: stages.RoleInvited,
		JoinedAt: screen.JoinedAt, Publishing: true, Kind: stages.KindScreen, Owner: guests[0].ParticipantID}
	if *screen != want {
		t.Errorf("screen participant %+v, want %+v", *screen, want)
	}
	if got := byID(ps, guests[0].ParticipantID).Kind; got != stages.KindCamera {
		t.Errorf("the owner's kind = %q, want camera", got)
	}
	// The stage is full: neither a 12th guest nor another share.
	if _, err := s.Join(ctx, "u-late", "late", "hana", st.InviteCode); code(err) != "StageFull" {
		t.Errorf("a guest past the cap (screens included): %v", err)
	}
	if _, err := s.ShareScreen(ctx, guests[1].StageID, guests[1].ParticipantID, guests[1].Token); code(err) != "StageFull" {
		t.Errorf("a share past the cap: %v", err)
	}
	// Bad credentials, and a share sharing: refused, and nothing changes.
	if _, err := s.ShareScreen(ctx, guests[1].StageID, guests[1].ParticipantID, guests[0].Token); code(err) != "InvalidParticipantToken" {
		t.Errorf("sharing with another's token: %v", err)
	}
	if _, err := s.ShareScreen(ctx, sh.StageID, sh.ParticipantID, sh.Token); code(err) != "ScreenOfScreen" {
		t.Errorf("a screen sharing a screen: %v", err)
	}
	if got := len(participants(t, s)); got != stages.MaxPublishers {
		t.Errorf("after the refusals: %d participants", got)
	}
	// Sharing again replaces the share (the cap does not stand in the way).
	sh2, err := s.ShareScreen(ctx, guests[0].StageID, guests[0].ParticipantID, guests[0].Token)
	if err != nil {
		t.Fatalf("sharing again: %v", err)
	}
	ps = participants(t, s)
	if len(ps) != stages.MaxPublishers || byID(ps, sh.ParticipantID) != nil || byID(ps, sh2.ParticipantID) == nil {
		t.Errorf("after sharing again: %+v", ps)
	}
	if !slices.Contains(media.dropped, sh.ParticipantID) {
		t.Errorf("the replaced share's media was not dropped: %v", media.dropped)
	}
	// The owner leaves: the share goes with them.
	if err := s.Leave(ctx, guests[0].StageID, guests[0].ParticipantID, guests[0].Token); err != nil {
		t.Fatal(err)
	}
	ps = participants(t, s)
	if len(ps) != 10 || byID(ps, sh2.ParticipantID) != nil {
		t.Errorf("after the owner left: %d participants, share listed %v", len(ps), byID(ps, sh2.ParticipantID) != nil)
	}
	if !slices.Contains(media.dropped, sh2.ParticipantID) {
		t.Errorf("the share's media outlived its owner: %v", media.dropped)
	}
	// The host kicks g1, who shares: the share goes too.
	sh3, err := s.ShareScreen(ctx, guests[1].StageID, guests[1].ParticipantID, guests[1].Token)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Kick(ctx, "u-hana", guests[1].ParticipantID); err != nil {
		t.Fatal(err)
	}
	if ps := participants(t, s); byID(ps, sh3.ParticipantID) != nil || len(ps) != 9 {
		t.Errorf("after the owner was kicked: %+v", ps)
	}
	// The host stops g2's share: g2 stays, and is not kicked.
	sh4, err := s.ShareScreen(ctx, guests[2].StageID, guests[2].ParticipantID, guests[2].Token)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Kick(ctx, "u-hana", sh4.ParticipantID); err != nil {
		t.Fatalf("stopping a share: %v", err)
	}
	ps = participants(t, s)
	if byID(ps, sh4.ParticipantID) != nil || byID(ps, guests[2].ParticipantID) == nil {
		t.Errorf("after the host stopped g2's share: %+v", ps)
	}
	if v, _ := s.Public(ctx, "hana", "u-g2"); v.Kicked {
		t.Error("stopping a share kicked its owner")
	}
	// The host's own share: the host rejoining (a reload) replaces the camera and ends it.
	sh5, err := s.ShareScreen(ctx, host.StageID, host.ParticipantID, host.Token)
	if err != nil {
		t.Fatal(err)
	}
	host2 := publishing(t, s, "hana", "")
	ps = participants(t, s)
	if byID(ps, sh5.ParticipantID) != nil || byID(ps, host2.ParticipantID) == nil || byID(ps, host.ParticipantID) != nil {
		t.Errorf("after the host rejoined: %+v", ps)
	}
	// The host leaves while sharing: the share is no host, and the stage ends HostGrace later.
	if _, err := s.ShareScreen(ctx, host2.StageID, host2.ParticipantID, host2.Token); err != nil {
		t.Fatal(err)
	}
	if err := s.Leave(ctx, host2.StageID, host2.ParticipantID, host2.Token); err != nil {
		t.Fatal(err)
	}
	clk.Add(stages.HostGrace)
	s.Sweep(ctx)
	if s.Active(ctx, "ch-hana") {
		t.Error("the stage outlived its host's grace: the host's share was taken for the host")
	}
}

// TestScreenShareKeepsTheHostsPlace: while the host is away, guests and their shares take 11
// places at most.
func TestScreenShareKeepsTheHostsPlace(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newService(nil)
	st, err := s.Start(ctx, "u-hana", "hana")
	if err != nil {
		t.Fatal(err)
	}
	var last *stages.Grant
	for i := range stages.MaxPublishers - 2 {
		last = publishing(t, s, fmt.Sprintf("g%d", i), st.InviteCode)
	}
	if _, err := s.ShareScreen(ctx, last.StageID, last.ParticipantID, last.Token); err != nil {
		t.Fatalf("the 11th place: %v", err)
	}
	g, err := s.Join(ctx, "u-g0", "g0", "hana", st.InviteCode) // a reload: g0 keeps its place
	if err != nil {
		t.Fatalf("a guest's reload: %v", err)
	}
	if _, err := s.ShareScreen(ctx, g.StageID, g.ParticipantID, g.Token); code(err) != "StageFull" {
		t.Errorf("a share into the host's place: %v", err)
	}
}
