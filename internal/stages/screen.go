package stages

import (
	"context"

	"github.com/livehouse/livehouse/internal/problem"
)

// Participant kinds: a person's camera and microphone, or the screen one of them shares.
const (
	KindCamera = "camera"
	KindScreen = "screen"
)

// ShareScreen gives a participant a second participant for their screen: a publisher like
// any other (subscribed to by everyone, counted in MaxPublishers, dropped after JoinTimeout
// if it publishes nothing), named "{username} (screen)", that ends with its owner. A
// participant shares one screen at a time: sharing again replaces the earlier share.
//
// It is a participant of its own, rather than a second video track on the owner's
// publication, so that no one renegotiates: subscribers open one more connection, exactly as
// for a new guest, and a share stops without touching the owner's camera.
func (s *Service) ShareScreen(ctx context.Context, stageID, ownerID, token string) (*Grant, error) {
	st, err := s.participant(stageID, ownerID, token)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	owner := st.participants[ownerID]
	if owner == nil || s.byID[stageID] != st {
		s.mu.Unlock()
		return nil, ErrNoParticipant
	}
	if owner.Kind == KindScreen {
		s.mu.Unlock()
		return nil, errScreenOfScreen
	}
	var old *participant
	for _, p := range st.participants {
		if p.Owner == ownerID {
			old = p
		}
	}
	others := len(st.participants)
	if old != nil {
		others--
	}
	hostIn := st.participantOf(st.hostID) != nil
	// As in Join: one place is kept for the host while they are away.
	if others >= MaxPublishers || (!hostIn && others >= MaxPublishers-1) {
		s.mu.Unlock()
		return nil, ErrStageFull
	}
	if old != nil {
		delete(st.participants, old.ID)
	}
	p := &participant{Participant: Participant{
		ID: "p-" + newID(), UserID: owner.UserID, Username: owner.Username + " (screen)", Role: owner.Role,
		JoinedAt: s.now(), Kind: KindScreen, Owner: ownerID,
	}, token: newID()}
	st.participants[p.ID] = p
	s.mu.Unlock()
	if old != nil {
		s.media.Drop(st.id, old.ID)
		s.announce(ctx, Event{Type: EventLeft, StageID: st.id, ChannelID: st.channelID, ParticipantID: old.ID, UserID: old.UserID, Username: old.Username})
	}
	s.announce(ctx, Event{Type: EventJoined, StageID: st.id, ChannelID: st.channelID, ParticipantID: p.ID, UserID: p.UserID, Username: p.Username})
	return &Grant{StageID: st.id, ParticipantID: p.ID, Token: p.token, Role: p.Role}, nil
}

// dropScreensOf ends the screen shares of a participant who is off the stage.
func (s *Service) dropScreensOf(ctx context.Context, st *stage, ownerID string) {
	s.mu.Lock()
	var ids []string
	for _, p := range st.participants {
		if p.Owner == ownerID {
			ids = append(ids, p.ID)
		}
	}
	s.mu.Unlock()
	for _, id := range ids {
		s.drop(ctx, st, id, Event{Type: EventLeft, Reason: "its owner left"})
	}
}

var errScreenOfScreen = problem.Invalid("ScreenOfScreen", "", "A screen share cannot share a screen: share with the participant's own token.")
