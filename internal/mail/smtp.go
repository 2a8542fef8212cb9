package mail

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// SMTPConfig is the mail package's part of the configuration.
type SMTPConfig struct {
	Host     string
	Port     int // 0 picks the usual port for TLS: 587, 465, or 25 for "none"
	Username string
	Password string
	From     string // the From header and envelope sender, e.g. "Livehouse <noreply@example.com>"
	// TLS is "starttls" (the default: plain connection upgraded, and refused if the server
	// cannot), "tls" (TLS from the first byte, usually port 465), or "none" (no encryption,
	// only for a relay on the same host or network).
	TLS string
	// InsecureSkipVerify accepts any server certificate. It is for a relay with a self-signed
	// certificate on a trusted network; RootCAs is the better fix.
	InsecureSkipVerify bool
	// RootCAs, when set, replaces the system roots for verifying the server, e.g. with a
	// private CA's certificate.
	RootCAs *x509.CertPool
}

// TLS modes of SMTPConfig.
const (
	TLSStartTLS = "starttls"
	TLSImplicit = "tls"
	TLSNone     = "none"
)

// defaultSendTimeout bounds a Send whose ctx has no deadline: a mail server that accepts the
// connection and then says nothing would otherwise hold the request forever.
const defaultSendTimeout = time.Minute

// SMTP sends mail through an SMTP server (a submission server or relay), one connection per
// message: Livehouse sends a few mails an hour, not enough to keep a connection open for.
type SMTP struct {
	cfg SMTPConfig
	now func() time.Time
}

// NewSMTP returns a Sender for cfg. The configuration is checked on each Send, where an
// error can be reported.
func NewSMTP(cfg SMTPConfig) *SMTP {
	if cfg.TLS == "" {
		cfg.TLS = TLSStartTLS
	}
	if cfg.Port == 0 {
		switch cfg.TLS {
		case TLSImplicit:
			cfg.Port = 465
		case TLSNone:
			cfg.Port = 25
		default:
			cfg.Port = 587
		}
	}
	return &SMTP{cfg: cfg, now: time.Now}
}

// Send delivers m in one SMTP transaction. ctx bounds the whole exchange, dial included;
// without a deadline it is limited to a minute. A server's refusal comes back wrapped with
// its reply (a *textproto.Error, e.g. "535 5.7.8 Authentication failed").
func (s *SMTP) Send(ctx context.Context, m Message) error {
	env, err := build(m, s.cfg.From, s.now())
	if err != nil {
		return fmt.Errorf("build mail: %w", err)
	}
	if err := s.send(ctx, env); err != nil {
		return fmt.Errorf("send mail to %s via %s: %w", env.to, s.addr(), err)
	}
	return nil
}

func (s *SMTP) addr() string { return net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port)) }

func (s *SMTP) send(ctx context.Context, env envelope) (err error) {
	switch s.cfg.TLS {
	case TLSStartTLS, TLSImplicit, TLSNone:
	default:
		return fmt.Errorf("unknown TLS mode %q: want %q, %q or %q", s.cfg.TLS, TLSStartTLS, TLSImplicit, TLSNone)
	}
	if s.cfg.Host == "" {
		return errors.New("no SMTP host configured")
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(defaultSendTimeout)
	}
	// Report a timeout as the ctx's, so a caller can tell "too slow" from "refused".
	defer func() {
		if err == nil {
			return
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			err = fmt.Errorf("%w: %w", ctxErr, err)
		} else if !time.Now().Before(deadline) {
			err = fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
		}
	}()

	conn, err := s.dial(ctx)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer conn.Close()
	// net/smtp knows nothing of contexts: the deadline bounds every read and write, and
	// cancelling ctx pulls the deadline in so a blocked read returns at once.
	if err := conn.SetDeadline(deadline); err != nil {
		return fmt.Errorf("set deadline: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	c, err := smtp.NewClient(conn, s.cfg.Host)
	if err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	defer c.Close()
	if err := c.Hello(heloName(env.from)); err != nil {
		return fmt.Errorf("EHLO: %w", err)
	}
	if s.cfg.TLS == TLSStartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return errors.New("server does not offer STARTTLS; set TLS to \"none\" to send unencrypted")
		}
		if err := c.StartTLS(s.tlsConfig()); err != nil {
			return fmt.Errorf("STARTTLS: %w", err)
		}
	}
	if s.cfg.Username != "" {
		if err := s.auth(c); err != nil {
			return err
		}
	}
	if err := c.Mail(env.from); err != nil {
		return fmt.Errorf("MAIL FROM: %w", err)
	}
	if err := c.Rcpt(env.to); err != nil {
		return fmt.Errorf("RCPT TO: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if _, err := w.Write(env.data); err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	// The server has taken the message once DATA is acknowledged; a failed QUIT loses
	// nothing, so it is not reported.
	_ = c.Quit()
	return nil
}

func (s *SMTP) dial(ctx context.Context) (net.Conn, error) {
	d := &net.Dialer{}
	if s.cfg.TLS == TLSImplicit {
		td := &tls.Dialer{NetDialer: d, Config: s.tlsConfig()}
		return td.DialContext(ctx, "tcp", s.addr())
	}
	return d.DialContext(ctx, "tcp", s.addr())
}

func (s *SMTP) tlsConfig() *tls.Config {
	return &tls.Config{
		ServerName:         s.cfg.Host,
		RootCAs:            s.cfg.RootCAs,
		InsecureSkipVerify: s.cfg.InsecureSkipVerify,
		MinVersion:         tls.VersionTLS12,
	}
}

// auth logs in with PLAIN, or LOGIN for the servers (older Exchange, some hosted relays) that
// offer only that. Both send the password as it is, so both refuse an unencrypted connection
// to anything but localhost.
func (s *SMTP) auth(c *smtp.Client) error {
	ok, params := c.Extension("AUTH")
	if !ok {
		return errors.New("server does not offer AUTH, but a username is configured")
	}
	mechs := strings.Fields(strings.ToUpper(params))
	var a smtp.Auth
	switch {
	case slices.Contains(mechs, "PLAIN"):
		a = smtp.PlainAuth("", s.cfg.Username, s.cfg.Password, s.cfg.Host)
	case slices.Contains(mechs, "LOGIN"):
		a = &loginAuth{username: s.cfg.Username, password: s.cfg.Password, host: s.cfg.Host}
	default:
		return fmt.Errorf("server offers AUTH %s, none of PLAIN or LOGIN", params)
	}
	if err := c.Auth(a); err != nil {
		return fmt.Errorf("AUTH: %w", err)
	}
	return nil
}

// loginAuth is the LOGIN mechanism, which net/smtp lacks: the server prompts for the user
// name and then the password, each base64-encoded on the wire (net/smtp does the encoding).
type loginAuth struct {
	username, password, host string
}

func (a *loginAuth) Start(server *smtp.ServerInfo) (string, []byte, error) {
	if !server.TLS && !isLocalhost(server.Name) {
		return "", nil, errors.New("refusing AUTH LOGIN over an unencrypted connection")
	}
	if server.Name != a.host {
		return "", nil, errors.New("wrong host name")
	}
	return "LOGIN", nil, nil
}

func (a *loginAuth) Next(fromServer []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	switch prompt := strings.ToLower(strings.TrimSpace(string(fromServer))); {
	case strings.HasPrefix(prompt, "username"):
		return []byte(a.username), nil
	case strings.HasPrefix(prompt, "password"):
		return []byte(a.password), nil
	default:
		return nil, fmt.Errorf("unexpected AUTH LOGIN prompt %q", fromServer)
	}
}

// isLocalhost matches net/smtp's own test for where cleartext credentials are acceptable.
func isLocalhost(name string) bool {
	return name == "localhost" || name == "127.0.0.1" || name == "::1"
}

// heloName is the name we greet the server with. The sender's domain is used because it is a
// real domain the operator controls, whereas the host name of a container is usually a
// random string that strict servers reject as not fully qualified.
func heloName(from string) string {
	if at := strings.LastIndexByte(from, '@'); at >= 0 && at < len(from)-1 {
		return from[at+1:]
	}
	return "localhost"
}
