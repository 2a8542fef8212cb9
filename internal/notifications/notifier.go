package notifications

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// EventSubjectPrefix starts the bus subject on which the live-stream service publishes every
// session event, "streams.events.{channelId}".
const EventSubjectPrefix = "streams.events."

// goLiveEvent is the session event that sends notices: the stream's first part is playable.
// A reconnect within the grace period continues the session and writes no second one.
const goLiveEvent = "Stream Start"

// ThrottleWindow is how long after a channel's notices no new session of it sends more: a
// streamer whose encoder comes back after the grace period (a new session) does not notify
// twice.
const ThrottleWindow = 10 * time.Minute

// pageSize is how many recipients are read at a time, so a channel with many followers
// costs bounded memory.
const pageSize = 500

// pushWorkers bounds the Web Push requests in flight for one notice.
const pushWorkers = 4

// sendTimeout bounds one mail or one push request.
const sendTimeout = 30 * time.Second

// Mail is a notice by email.
type Mail struct {
	To, Subject, Text, Link string
}

// Mailer sends a notice by email (the mail sender: SMTP or the outbox).
type Mailer interface {
	Send(ctx context.Context, m Mail) error
}

// ErrGone is a Pusher's answer for a subscription its push service no longer has (404, 410).
var ErrGone = errors.New("push subscription is gone")

// Pusher delivers an encrypted Web Push message to a subscription.
type Pusher interface {
	Push(ctx context.Context, sub Subscription, payload []byte) error
}

// Push is the message a browser's service worker shows.
type Push struct {
	Title string `json:"title"`
	Body  string `json:"body"`
	URL   string `json:"url"`
	Tag   string `json:"tag"`
}

// NotifierDeps are what a notifier is built from.
type NotifierDeps struct {
	Store     Store
	Mail      Mailer // nil: no email
	Push      Pusher // nil: no Web Push
	Node      string // this node, on its claims
	PublicURL string // base of the channel links
	Log       *slog.Logger
	Now       func() time.Time // nil: time.Now
}

// Notifier sends the notices of channels that go live. Deliver takes the live-stream
// service's events off the bus; Run sends, one go-live at a time.
type Notifier struct {
	d     NotifierDeps
	queue chan goLive
}

type goLive struct{ sessionID, channelID string }

// NewNotifier builds a notifier.
func NewNotifier(d NotifierDeps) *Notifier {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	d.PublicURL = strings.TrimRight(d.PublicURL, "/")
	return &Notifier{d: d, queue: make(chan goLive, 256)}
}

// Deliver is the bus handler of EventSubjectPrefix+">": a session's Stream Start is queued
// for Run. It never blocks the bus: with the queue full the go-live is dropped and logged.
func (n *Notifier) Deliver(subject string, data []byte) {
	channelID, ok := strings.CutPrefix(subject, EventSubjectPrefix)
	if !ok {
		return
	}
	var e struct {
		SessionID string `json:"sessionId"`
		Name      string `json:"name"`
	}
	if json.Unmarshal(data, &e) != nil || e.Name != goLiveEvent || e.SessionID == "" || channelID == "" {
		return
	}
	select {
	case n.queue <- goLive{sessionID: e.SessionID, channelID: channelID}:
	default:
		n.d.Log.Warn("go-live notices dropped: the queue is full", "session", e.SessionID, "channel", channelID)
	}
}

// Run sends the queued go-lives' notices until ctx ends.
func (n *Notifier) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case g := <-n.queue:
			if _, err := n.Notify(ctx, g.sessionID, g.channelID); err != nil && ctx.Err() == nil {
				n.d.Log.Error("sending go-live notices", "session", g.sessionID, "channel", g.channelID, "err", err)
			}
		}
	}
}

// Sent counts what one go-live sent.
type Sent struct {
	Mails, Pushes, Gone int
}

// Notify sends a session's notices if this node claims them: not when another node (or an
// earlier delivery) did, nor when the channel notified within ThrottleWindow. A failed mail
// or push is logged and the others still go.
func (n *Notifier) Notify(ctx context.Context, sessionID, channelID string) (Sent, error) {
	var sent Sent
	now := n.d.Now().UTC()
	ch, err := n.d.Store.NoticeChannel(ctx, channelID)
	if errors.Is(err, ErrNotFound) {
		return sent, nil // deleted meanwhile
	}
	if err != nil {
		return sent, fmt.Errorf("reading the channel: %w", err)
	}
	if ch.Suspended {
		return sent, nil
	}
	claimed, err := n.d.Store.ClaimGoLive(ctx, sessionID, channelID, n.d.Node, now, now.Add(-ThrottleWindow))
	if err != nil {
		return sent, fmt.Errorf("claiming the notices: %w", err)
	}
	if !claimed {
		return sent, nil
	}
	link := n.d.PublicURL + "/" + ch.Username
	payload, _ := json.Marshal(Push{Title: ch.Username + " is live", Body: "Watch " + ch.Username + " on Livehouse now.", URL: "/" + ch.Username, Tag: "live-" + ch.ID})
	after := ""
	for {
		page, err := n.d.Store.GoLiveRecipients(ctx, channelID, after, pageSize)
		if err != nil {
			return sent, fmt.Errorf("listing followers: %w", err)
		}
		if len(page) == 0 {
			break
		}
		after = page[len(page)-1].UserID
		var pushTo []string
		for _, r := range page {
			if r.Email != "" && r.Verified && r.Settings.Email && n.d.Mail != nil {
				if n.mail(ctx, r, ch, link) {
					sent.Mails++
				}
			}
			if r.Settings.Push && n.d.Push != nil {
				pushTo = append(pushTo, r.UserID)
			}
		}
		if len(pushTo) > 0 {
			subs, err := n.d.Store.PushSubscriptions(ctx, pushTo)
			if err != nil {
				return sent, fmt.Errorf("reading push subscriptions: %w", err)
			}
			p, gone := n.push(ctx, subs, payload)
			sent.Pushes += p
			sent.Gone += gone
		}
		if len(page) < pageSize {
			break
		}
	}
	n.d.Log.Info("go-live notices sent", "session", sessionID, "channel", channelID, "mails", sent.Mails, "pushes", sent.Pushes, "gone", sent.Gone)
	return sent, nil
}

func (n *Notifier) mail(ctx context.Context, r Recipient, ch Channel, link string) bool {
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	m := Mail{
		To:      r.Email,
		Subject: ch.Username + " is live on Livehouse",
		Text: ch.Username + " just went live.\n\nWatch: " + link + "\n\n" +
			"You get this because you turned on notifications for " + ch.Username + ". Turn them off with the bell on the channel page, " +
			"or all go-live email in Settings: " + n.d.PublicURL + "/settings\n",
		Link: link,
	}
	if err := n.d.Mail.Send(ctx, m); err != nil {
		n.d.Log.Warn("go-live mail failed", "user", r.UserID, "channel", ch.ID, "err", err)
		return false
	}
	return true
}

// push sends payload to every subscription, a few at a time; subscriptions the push service
// no longer has are deleted.
func (n *Notifier) push(ctx context.Context, subs map[string][]Subscription, payload []byte) (sent, gone int) {
	work := make(chan Subscription)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range pushWorkers {
		wg.Go(func() {
			for sub := range work {
				pctx, cancel := context.WithTimeout(ctx, sendTimeout)
				err := n.d.Push.Push(pctx, sub, payload)
				cancel()
				mu.Lock()
				switch {
				case err == nil:
					sent++
				case errors.Is(err, ErrGone):
					gone++
				}
				mu.Unlock()
				if errors.Is(err, ErrGone) {
					if err := n.d.Store.DropPushSubscription(ctx, sub.Endpoint); err != nil {
						n.d.Log.Warn("deleting a gone push subscription", "err", err)
					}
				} else if err != nil {
					n.d.Log.Warn("web push failed", "err", err)
				}
			}
		})
	}
	for _, list := range subs {
		for _, s := range list {
			select {
			case work <- s:
			case <-ctx.Done():
			}
		}
	}
	close(work)
	wg.Wait()
	return sent, gone
}
