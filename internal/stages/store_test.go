package stages_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livehouse/livehouse/internal/stages"
)

// memStore is the store's stage records in memory: one open per channel, by node.
type memStore struct {
	mu   sync.Mutex
	open map[string]stages.Record // by channel id
	fail bool                     // EndStage fails (the database is down)
}

func (m *memStore) OpenStage(_ context.Context, r stages.Record, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.open[r.ChannelID]; ok {
		return stages.ErrStageElsewhere
	}
	m.open[r.ChannelID] = r
	return nil
}

func (m *memStore) EndStage(_ context.Context, id string, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return errors.New("database down")
	}
	for ch, r := range m.open {
		if r.ID == id {
			delete(m.open, ch)
		}
	}
	return nil
}

func (m *memStore) EndNodeStage(_ context.Context, channelID, node string, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r, ok := m.open[channelID]; ok && r.Node == node {
		delete(m.open, channelID)
	}
	return nil
}

func (m *memStore) EndNodeStages(_ context.Context, node string, _ time.Time) ([]stages.Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []stages.Record
	for ch, r := range m.open {
		if r.Node == node {
			out = append(out, r)
			delete(m.open, ch)
		}
	}
	return out, nil
}

func (m *memStore) OpenStageChannels(_ context.Context, ids []string, _ time.Time) (map[string]bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]bool{}
	for _, id := range ids {
		if _, ok := m.open[id]; ok {
			out[id] = true
		}
	}
	return out, nil
}

func (m *memStore) StageHosts(context.Context, time.Time, int) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, r := range m.open {
		out = append(out, strings.TrimPrefix(r.HostID, "u-"))
	}
	slices.Sort(out)
	return out, nil
}

func (m *memStore) node(channelID string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.open[channelID].Node
}

// TestStoreRecords: a node records the stages it opens and ends, reads the cluster's from the
// store, refuses a channel whose stage another node hosts, gets past a record of its own whose
// end was lost, and ends on Recover what it left open (announcing it).
func TestStoreRecords(t *testing.T) {
	ctx := context.Background()
	store := &memStore{open: map[string]stages.Record{}}
	ev := &events{}
	newNode := func(name string) *stages.Service {
		return stages.New(stages.Deps{Channels: fakeChannels{}, Media: &fakeMedia{}, Events: ev, Store: store, Node: name})
	}
	a, b := newNode("node-a"), newNode("node-b")
	if _, err := a.Start(ctx, "u-hana", "hana"); err != nil {
		t.Fatal(err)
	}
	if store.node("ch-hana") != "node-a" {
		t.Fatalf("the stage is recorded on %q", store.node("ch-hana"))
	}
	if !b.Active(ctx, "ch-hana") || !slices.Equal(b.ActiveHosts(ctx), []string{"hana"}) {
		t.Error("node B does not see node A's stage")
	}
	if _, err := b.Start(ctx, "u-hana", "hana"); !errors.Is(err, stages.ErrStageElsewhere) {
		t.Errorf("a second stage of the channel on B: %v, want ErrStageElsewhere", err)
	}
	if err := a.End(ctx, "u-hana"); err != nil {
		t.Fatal(err)
	}
	if b.Active(ctx, "ch-hana") {
		t.Error("the ended stage is still seen")
	}

	// The end of a stage is not written (the database is down): its record outlives it, and
	// its node may still start the next one.
	if _, err := a.Start(ctx, "u-kai", "kai"); err != nil {
		t.Fatal(err)
	}
	store.fail = true
	if err := a.End(ctx, "u-kai"); err != nil {
		t.Fatal(err)
	}
	store.fail = false
	v, err := a.Start(ctx, "u-kai", "kai")
	if err != nil {
		t.Fatalf("starting after a lost end: %v", err)
	}
	if store.open["ch-kai"].ID != v.ID {
		t.Errorf("the record is of %s, the stage %s", store.open["ch-kai"].ID, v.ID)
	}

	// Node A crashes with kai's stage open; restarted, it ends it and says so.
	restarted := newNode("node-a")
	if err := restarted.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	if b.Active(ctx, "ch-kai") {
		t.Error("the stage of the crashed node is still open after its restart")
	}
	ev.mu.Lock()
	last := ev.names[len(ev.names)-1]
	ev.mu.Unlock()
	if !strings.HasPrefix(last, "ch-kai ") || !strings.Contains(last, stages.EventEnded) {
		t.Errorf("the last event is %q, want kai's stage ended", last)
	}
}
