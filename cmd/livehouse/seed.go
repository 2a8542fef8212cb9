package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"time"

	"github.com/livehouse/livehouse/internal/accounts"
	"github.com/livehouse/livehouse/internal/channels"
	"github.com/livehouse/livehouse/internal/config"
)

// seedCommand creates demo channels, as the reference's seeder does: verified accounts
// PREFIX_1 … PREFIX_COUNT, of which the last LIVE have an open, started stream session, the
// later ones started more recently. Their password is printed; it is the same for all.
// The sessions belong to the pseudo-node seedNode, whose lease does not expire.
func seedCommand(ctx context.Context, cfg config.Config, log *slog.Logger, args []string, stdout io.Writer) error {
	if len(args) != 3 {
		return fmt.Errorf("%w: seed takes PREFIX COUNT LIVE", errUsage)
	}
	prefix := args[0]
	count, err1 := strconv.Atoi(args[1])
	live, err2 := strconv.Atoi(args[2])
	if err1 != nil || err2 != nil || count < 1 || live < 0 || live > count {
		return fmt.Errorf("%w: COUNT must be ≥ 1 and 0 ≤ LIVE ≤ COUNT", errUsage)
	}
	a, err := openApp(ctx, cfg, log, nil)
	if err != nil {
		return err
	}
	defer a.Close()
	password := "Seed-" + channels.RandomID(12) + "1!"
	if live > 0 {
		// The demo sessions have no encoder; their pseudo-node's lease never runs out, so
		// running nodes do not end them as left behind by a node that is gone.
		now := time.Now()
		if err := a.store.RenewNodeLease(ctx, seedNode, now, now.AddDate(100, 0, 0)); err != nil {
			return err
		}
	}
	start := time.Now().Add(-time.Duration(live) * time.Minute)
	for i := 1; i <= count; i++ {
		name := fmt.Sprintf("%s_%d", prefix, i)
		u, err := a.accounts.CreateVerified(ctx, accounts.RegisterInput{Username: name, Email: name + "@seed.example", Password: password})
		if err != nil {
			return fmt.Errorf("creating %s: %w", name, err)
		}
		if i <= count-live {
			continue
		}
		ch, err := a.channels.ForOwner(ctx, u.ID)
		if err != nil {
			return err
		}
		id := "st-" + channels.RandomID(23)
		at := start.Add(time.Duration(i) * time.Minute)
		if err := a.store.OpenStreamSession(ctx, id, ch.ID, seedNode, at); err != nil {
			return err
		}
		if err := a.store.StartStreamSession(ctx, id, at); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "created %s_1 … %s_%d (%d live), password %s\n", prefix, prefix, count, live, password)
	return nil
}

// seedNode runs the demo channels' sessions.
const seedNode = "livehouse-seed"
