package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/livehouse/livehouse/internal/stages"
)

// testStages: one open stage per channel across nodes; reads see only stages of leased nodes;
// a stale one gives way to a new one; a restarted node ends its own.
func testStages(t *testing.T, s Store) {
	ctx := context.Background()
	hana, hanaCh := mustCreate(t, s, "Hana", "hana@example.com", true)
	kai, kaiCh := mustCreate(t, s, "kai", "kai@example.com", true)
	for node, expires := range map[string]time.Time{"node-a": t0.Add(15 * time.Second), "node-b": t0.Add(15 * time.Second)} {
		if err := s.RenewNodeLease(ctx, node, t0, expires); err != nil {
			t.Fatal(err)
		}
	}
	a := stages.Record{ID: "stage-1", ChannelID: hanaCh.ID, HostID: hana.ID, Node: "node-a", StartedAt: t0}
	if err := s.OpenStage(ctx, a, t0); err != nil {
		t.Fatal(err)
	}
	if err := s.OpenStage(ctx, stages.Record{ID: "stage-2", ChannelID: hanaCh.ID, HostID: hana.ID, Node: "node-b", StartedAt: t0}, t0); !errors.Is(err, stages.ErrStageElsewhere) {
		t.Fatalf("a second stage of the channel on another node: %v, want ErrStageElsewhere", err)
	}
	if err := s.OpenStage(ctx, stages.Record{ID: "stage-3", ChannelID: kaiCh.ID, HostID: kai.ID, Node: "node-b", StartedAt: t0.Add(time.Second)}, t0); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		by   stages.Lookup
		want string
	}{
		{stages.Lookup{StageID: "stage-1"}, "node-a"},
		{stages.Lookup{HostID: hana.ID}, "node-a"},
		{stages.Lookup{HostUsername: "HANA"}, "node-a"},
		{stages.Lookup{HostUsername: "kai"}, "node-b"},
		{stages.Lookup{StageID: "stage-2"}, ""},
		{stages.Lookup{HostUsername: "nobody"}, ""},
		{stages.Lookup{}, ""},
	} {
		node, ok, err := s.StageNode(ctx, tt.by, t0)
		if err != nil || node != tt.want || ok != (tt.want != "") {
			t.Errorf("StageNode(%+v) = %q, %v, %v; want %q", tt.by, node, ok, err, tt.want)
		}
	}
	open, err := s.OpenStageChannels(ctx, []string{hanaCh.ID, kaiCh.ID, "ch-none"}, t0)
	if err != nil || !cmp.Equal(open, map[string]bool{hanaCh.ID: true, kaiCh.ID: true}) {
		t.Errorf("OpenStageChannels = %v, %v", open, err)
	}
	if hosts, err := s.StageHosts(ctx, t0, 10); err != nil || !cmp.Equal(hosts, []string{"Hana", "kai"}) {
		t.Errorf("StageHosts = %v, %v; want the oldest first", hosts, err)
	}
	if hosts, err := s.StageHosts(ctx, t0, 1); err != nil || !cmp.Equal(hosts, []string{"Hana"}) {
		t.Errorf("StageHosts(limit 1) = %v, %v", hosts, err)
	}

	// node-a's lease expires: its stage is no one's, and a new one of the channel may open.
	later := t0.Add(time.Minute)
	if err := s.RenewNodeLease(ctx, "node-b", later, later.Add(15*time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.StageNode(ctx, stages.Lookup{StageID: "stage-1"}, later); ok || err != nil {
		t.Errorf("the stage of a node whose lease expired is still found: %v, %v", ok, err)
	}
	if open, err := s.OpenStageChannels(ctx, []string{hanaCh.ID, kaiCh.ID}, later); err != nil || !cmp.Equal(open, map[string]bool{kaiCh.ID: true}) {
		t.Errorf("OpenStageChannels after node-a's lease = %v, %v", open, err)
	}
	if err := s.OpenStage(ctx, stages.Record{ID: "stage-4", ChannelID: hanaCh.ID, HostID: hana.ID, Node: "node-b", StartedAt: later}, later); err != nil {
		t.Fatalf("a stage after the stale one: %v", err)
	}
	if node, _, _ := s.StageNode(ctx, stages.Lookup{HostID: hana.ID}, later); node != "node-b" {
		t.Errorf("hana's stage is on %q, want node-b", node)
	}

	// EndNodeStage ends the channel's stage only on the node named.
	if err := s.EndNodeStage(ctx, hanaCh.ID, "node-a", later); err != nil {
		t.Fatal(err)
	}
	if node, _, _ := s.StageNode(ctx, stages.Lookup{HostID: hana.ID}, later); node != "node-b" {
		t.Errorf("EndNodeStage of another node ended hana's stage on %q", node)
	}
	if err := s.EndNodeStage(ctx, hanaCh.ID, "node-b", later); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.StageNode(ctx, stages.Lookup{HostID: hana.ID}, later); ok {
		t.Error("EndNodeStage of its node left hana's stage open")
	}
	if err := s.OpenStage(ctx, stages.Record{ID: "stage-5", ChannelID: hanaCh.ID, HostID: hana.ID, Node: "node-b", StartedAt: later}, later); err != nil {
		t.Fatal(err)
	}
	// An ended stage is gone; ending it again changes nothing.
	for range 2 {
		if err := s.EndStage(ctx, "stage-5", later); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok, _ := s.StageNode(ctx, stages.Lookup{HostID: hana.ID}, later); ok {
		t.Error("an ended stage is still found")
	}
	// node-b restarts: it ends what it left open (kai's stage), and only that.
	left, err := s.EndNodeStages(ctx, "node-b", later)
	if err != nil || len(left) != 1 || left[0].ID != "stage-3" || left[0].ChannelID != kaiCh.ID || left[0].HostID != kai.ID {
		t.Errorf("EndNodeStages = %+v, %v; want stage-3 alone", left, err)
	}
	if hosts, err := s.StageHosts(ctx, later, 10); err != nil || len(hosts) != 0 {
		t.Errorf("StageHosts after the restart = %v, %v", hosts, err)
	}
}
