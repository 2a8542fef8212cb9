package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/livehouse/livehouse/internal/accounts"
	"github.com/livehouse/livehouse/internal/channels"
	"github.com/livehouse/livehouse/internal/chat"
	"github.com/livehouse/livehouse/internal/config"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `Livehouse: self-hosted live video.

Usage:
  livehouse [serve] [flags]          run the server (the default)
  livehouse migrate [flags]          apply database migrations and exit
  livehouse config [flags]           print the effective configuration (secrets masked)
  livehouse user [flags] list        list accounts
  livehouse user [flags] create USERNAME EMAIL   create a verified account; password from stdin
  livehouse user [flags] verify USERNAME|EMAIL   mark an account verified
  livehouse user [flags] delete USERNAME|EMAIL   delete an account and all it owns
  livehouse user [flags] suspend USERNAME [--reason TEXT]   suspend an account: its stream ends,
                                     it cannot sign in or go live, its channel is unavailable
  livehouse user [flags] unsuspend USERNAME      lift a suspension
  livehouse channel [flags] set-type USERNAME BASIC|STANDARD   BASIC passes the source through,
                                     STANDARD transcodes a ladder; from the channel's next go-live
  livehouse category [flags] list    list the categories channels choose from (slug, position, name)
  livehouse category [flags] set SLUG NAME [POSITION]   add a category or rename/move one
  livehouse category [flags] remove SLUG   remove a category; its channels are left without one
  livehouse seed [flags] PREFIX COUNT LIVE   create COUNT demo channels PREFIX_1…, the last LIVE of them live
  livehouse version                  print the version

Every command takes --config FILE and one flag per setting (see livehouse config --help);
settings are also read from LIVEHOUSE_* environment variables.
`

// errUsage marks a command line that cannot run; main exits with status 2.
var errUsage = errors.New("usage")

func exitCode(err error) int {
	if errors.Is(err, errUsage) || errors.Is(err, config.ErrInvalid) || errors.Is(err, flag.ErrHelp) {
		return 2
	}
	return 1
}

// run is the whole program, testable: the arguments, environment and standard streams are
// parameters, and cancelling ctx shuts it down.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd, rest := "serve", args[1:]
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		cmd, rest = rest[0], rest[1:]
	}
	switch cmd {
	case "version":
		fmt.Fprintln(stdout, "livehouse", version)
		return nil
	case "help":
		fmt.Fprint(stdout, usage)
		return nil
	case "serve", "migrate", "config", "user", "seed", "channel", "category":
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w: unknown command %q", errUsage, cmd)
	}

	cfg, rest, err := config.Load("livehouse "+cmd, rest, getenv, stderr)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)

	switch cmd {
	case "config":
		cfg.Print(stdout)
		return nil
	case "serve":
		if len(rest) > 0 {
			return fmt.Errorf("%w: serve takes no arguments, got %q", errUsage, rest)
		}
		return serve(ctx, cfg, log, stdout)
	case "migrate":
		a, err := openApp(ctx, cfg, log, nil)
		if err != nil {
			return err
		}
		defer a.Close()
		fmt.Fprintf(stdout, "%s database is up to date\n", a.store.Dialect())
		return nil
	case "seed":
		return seedCommand(ctx, cfg, log, rest, stdout)
	case "channel":
		return channelCommand(ctx, cfg, log, rest, stdout)
	case "category":
		return categoryCommand(ctx, cfg, log, rest, stdout)
	default: // user
		return userCommand(ctx, cfg, log, rest, stdin, stdout)
	}
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func channelCommand(ctx context.Context, cfg config.Config, log *slog.Logger, args []string, stdout io.Writer) error {
	if len(args) != 3 || args[0] != "set-type" {
		return fmt.Errorf("%w: channel takes set-type USERNAME BASIC|STANDARD; see livehouse help", errUsage)
	}
	if t := args[2]; t != channels.TypeBasic && t != channels.TypeStandard {
		return fmt.Errorf("%w: channel type %q is not BASIC or STANDARD", errUsage, t)
	}
	a, err := openApp(ctx, cfg, log, nil)
	if err != nil {
		return err
	}
	defer a.Close()
	p, err := a.channels.SetType(ctx, args[1], args[2])
	if err != nil {
		return fmt.Errorf("setting the type of %s: %w", args[1], err)
	}
	fmt.Fprintf(stdout, "%s (%s) is %s from its next go-live\n", p.Username, p.ChannelID, args[2])
	return nil
}

// categoryCommand lists and edits the categories, in the database every node reads.
func categoryCommand(ctx context.Context, cfg config.Config, log *slog.Logger, args []string, stdout io.Writer) error {
	ok := len(args) >= 1 && (args[0] == "list" && len(args) == 1 || args[0] == "set" && (len(args) == 3 || len(args) == 4) || args[0] == "remove" && len(args) == 2)
	if !ok {
		return fmt.Errorf("%w: category takes list, set SLUG NAME [POSITION] or remove SLUG; see livehouse help", errUsage)
	}
	position := 0
	if args[0] == "set" && len(args) == 4 {
		n, err := strconv.Atoi(args[3])
		if err != nil {
			return fmt.Errorf("%w: position %q is not a whole number", errUsage, args[3])
		}
		position = n
	}
	a, err := openApp(ctx, cfg, log, nil)
	if err != nil {
		return err
	}
	defer a.Close()
	switch args[0] {
	case "set":
		if len(args) == 3 { // a new category goes last; an existing one keeps its place
			list, err := a.channels.Categories(ctx)
			if err != nil {
				return err
			}
			for _, c := range list {
				position = max(position, c.Position+10)
				if c.Slug == args[1] {
					position = c.Position
					break
				}
			}
		}
		if err := a.channels.PutCategory(ctx, args[1], args[2], position); err != nil {
			return fmt.Errorf("setting category %s: %w", args[1], err)
		}
	case "remove":
		if err := a.channels.DeleteCategory(ctx, args[1]); err != nil {
			return fmt.Errorf("removing category %s: %w", args[1], err)
		}
	}
	list, err := a.channels.Categories(ctx)
	if err != nil {
		return err
	}
	for _, c := range list {
		fmt.Fprintf(stdout, "%-16s %4d  %s\n", c.Slug, c.Position, c.Name)
	}
	return nil
}

func userCommand(ctx context.Context, cfg config.Config, log *slog.Logger, args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: user needs an action: list, create, verify, delete, suspend or unsuspend", errUsage)
	}
	var reason string
	if args[0] == "suspend" {
		login, r, err := suspendArgs(args[1:])
		if err != nil {
			return err
		}
		args, reason = []string{"suspend", login}, r
	}
	want := map[string]int{"list": 0, "create": 2, "verify": 1, "delete": 1, "suspend": 1, "unsuspend": 1}
	n, ok := want[args[0]]
	if !ok || len(args)-1 != n {
		return fmt.Errorf("%w: user %s takes %d argument(s); see livehouse help", errUsage, args[0], n)
	}
	a, err := openApp(ctx, cfg, log, nil)
	if err != nil {
		return err
	}
	defer a.Close()
	if (args[0] == "suspend" || args[0] == "delete") && cfg.NATSURL != "" {
		// The stream, if live, runs in a server: ask it over the cluster's bus. An embedded
		// bus is the server's own; the server then finds the suspension at its next lease
		// renewal (every third of node_lease_seconds), and the chat its next send (within
		// ten seconds of a message).
		b, err := openBus(ctx, cfg, log)
		if err != nil {
			return err
		}
		defer b.Close()
		a.streams.SetBus(b)
		a.endChat = func(ctx context.Context, userID, reason string) {
			if err := chat.EndUser(ctx, b.Publish, userID, reason, time.Now()); err != nil {
				log.Error("ending a user's chat", "user", userID, "err", err)
			}
		}
	}
	switch args[0] {
	case "list":
		users, err := a.accounts.List(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tUSERNAME\tEMAIL\tVERIFIED\tCREATED\tSUSPENDED")
		for _, u := range users {
			suspended := "-"
			if u.Suspended() {
				suspended = u.SuspendedAt.Format(time.RFC3339)
				if u.SuspendedReason != "" {
					suspended += " (" + u.SuspendedReason + ")"
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%t\t%s\t%s\n", u.ID, u.Username, u.Email, u.Verified(), u.CreatedAt.Format(time.RFC3339), suspended)
		}
		return tw.Flush()
	case "suspend":
		u, err := a.accounts.Suspend(ctx, args[1], reason)
		if err != nil {
			return fmt.Errorf("suspending %s: %w", args[1], err)
		}
		fmt.Fprintf(stdout, "suspended %s\n", u.Username)
	case "unsuspend":
		u, err := a.accounts.Unsuspend(ctx, args[1])
		if err != nil {
			return fmt.Errorf("unsuspending %s: %w", args[1], err)
		}
		fmt.Fprintf(stdout, "unsuspended %s\n", u.Username)
	case "create":
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("reading the password from stdin: %w", err)
		}
		u, err := a.accounts.CreateVerified(ctx, accounts.RegisterInput{Username: args[1], Email: args[2], Password: strings.TrimRight(line, "\r\n")})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created %s (%s)\n", u.Username, u.ID)
	case "verify":
		u, err := a.accounts.MarkVerified(ctx, args[1])
		if err != nil {
			return fmt.Errorf("verifying %s: %w", args[1], err)
		}
		fmt.Fprintf(stdout, "verified %s\n", u.Username)
	case "delete":
		u, err := a.accounts.DeleteByLogin(ctx, args[1])
		if err != nil {
			return fmt.Errorf("deleting %s: %w", args[1], err)
		}
		fmt.Fprintf(stdout, "deleted %s\n", u.Username)
	}
	return nil
}

// suspendArgs reads "USERNAME [--reason TEXT]", the flag before or after the name.
func suspendArgs(args []string) (login, reason string, err error) {
	fs := flag.NewFlagSet("livehouse user suspend", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	r := fs.String("reason", "", "a note for operators")
	var names []string
	for {
		if err := fs.Parse(args); err != nil {
			return "", "", fmt.Errorf("%w: user suspend: %v", errUsage, err)
		}
		if args = fs.Args(); len(args) == 0 {
			break
		}
		names, args = append(names, args[0]), args[1:]
	}
	if len(names) != 1 {
		return "", "", fmt.Errorf("%w: user suspend takes USERNAME [--reason TEXT]; see livehouse help", errUsage)
	}
	return names[0], *r, nil
}
