package mail

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/google/go-cmp/cmp"
)

const (
	testUser     = "livehouse"
	testPassword = "s3cret"
)

// delivery is what the test server saw of one mail.
type delivery struct {
	User string // who authenticated, "" if nobody
	TLS  bool   // whether the connection was encrypted when the mail was sent
	From string
	To   []string
	Data []byte
}

// backend is a go-smtp backend that records every delivered mail. mechs lists the AUTH
// mechanisms it offers; nil offers none.
type backend struct {
	mechs []string

	mu         sync.Mutex
	deliveries []delivery
}

func (be *backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{be: be, conn: c}, nil
}

func (be *backend) delivered() []delivery {
	be.mu.Lock()
	defer be.mu.Unlock()
	return append([]delivery(nil), be.deliveries...)
}

type session struct {
	be   *backend
	conn *smtp.Conn
	d    delivery
}

func (s *session) AuthMechanisms() []string { return s.be.mechs }

func (s *session) Auth(mech string) (sasl.Server, error) {
	check := func(user, pass string) error {
		if user != testUser || pass != testPassword {
			return smtp.ErrAuthFailed
		}
		s.d.User = user
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, user, pass string) error { return check(user, pass) }), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.be.mechs != nil && s.d.User == "" {
		return smtp.ErrAuthRequired
	}
	s.d.From = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.d.To = append(s.d.To, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, s.d.TLS = s.conn.TLSConnectionState()
	s.d.Data = data
	s.be.mu.Lock()
	s.be.deliveries = append(s.be.deliveries, s.d)
	s.be.mu.Unlock()
	return nil
}

func (s *session) Reset()        { s.d = delivery{User: s.d.User} }
func (s *session) Logout() error { return nil }

// loginServer is the server side of AUTH LOGIN, which go-sasl provides only as a client.
type loginServer struct {
	check    func(user, pass string) error
	step     int
	username string
}

func (l *loginServer) Next(response []byte) ([]byte, bool, error) {
	l.step++
	switch l.step {
	case 1:
		return []byte("Username:"), false, nil
	case 2:
		l.username = string(response)
		return []byte("Password:"), false, nil
	default:
		return nil, true, l.check(l.username, string(response))
	}
}

// serverOptions shapes a test server.
type serverOptions struct {
	mechs    []string    // AUTH mechanisms to offer
	starttls *tls.Config // offer STARTTLS with this config
	implicit *tls.Config // speak TLS from the first byte with this config
}

// startServer runs a real SMTP server on a free loopback port for the length of the test.
func startServer(t *testing.T, opts serverOptions) (*backend, string, int) {
	t.Helper()
	be := &backend{mechs: opts.mechs}
	srv := smtp.NewServer(be)
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = opts.starttls == nil
	srv.TLSConfig = opts.starttls
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0)

	var l net.Listener
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	if opts.implicit != nil {
		l = tls.NewListener(l, opts.implicit)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(l)
	}()
	t.Cleanup(func() {
		srv.Close()
		// Serve may not have registered l yet when a test ends early, and then
		// srv.Close cannot reach it.
		l.Close()
		<-done
	})
	host, port, _ := net.SplitHostPort(l.Addr().String())
	p, _ := strconv.Atoi(port)
	return be, host, p
}

// selfSigned returns a server TLS config with a fresh certificate for 127.0.0.1, and a pool
// that trusts it.
func selfSigned(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "livehouse test smtp"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, pool
}

func TestSMTPSend(t *testing.T) {
	serverTLS, pool := selfSigned(t)
	m := Message{
		To: "Ada <ada@example.com>", Subject: "Verify your email",
		Text: "Open this link:\n" + testLink, HTML: `<a href="` + testLink + `">Verify</a>`, Link: testLink,
	}
	tests := []struct {
		name     string
		server   serverOptions
		cfg      SMTPConfig // Host and Port are filled in
		wantUser string
		wantTLS  bool
	}{
		{
			name:   "plain",
			server: serverOptions{},
			cfg:    SMTPConfig{TLS: TLSNone},
		},
		{
			name:     "auth plain",
			server:   serverOptions{mechs: []string{sasl.Plain, sasl.Login}},
			cfg:      SMTPConfig{TLS: TLSNone, Username: testUser, Password: testPassword},
			wantUser: testUser,
		},
		{
			name:     "auth login",
			server:   serverOptions{mechs: []string{sasl.Login}},
			cfg:      SMTPConfig{TLS: TLSNone, Username: testUser, Password: testPassword},
			wantUser: testUser,
		},
		{
			name:    "starttls with root pool",
			server:  serverOptions{starttls: serverTLS},
			cfg:     SMTPConfig{TLS: TLSStartTLS, RootCAs: pool},
			wantTLS: true,
		},
		{
			name:    "starttls skipping verification",
			server:  serverOptions{starttls: serverTLS},
			cfg:     SMTPConfig{InsecureSkipVerify: true}, // TLS defaults to starttls
			wantTLS: true,
		},
		{
			name:     "starttls then auth",
			server:   serverOptions{starttls: serverTLS, mechs: []string{sasl.Plain}},
			cfg:      SMTPConfig{TLS: TLSStartTLS, RootCAs: pool, Username: testUser, Password: testPassword},
			wantUser: testUser,
			wantTLS:  true,
		},
		{
			name:     "implicit tls",
			server:   serverOptions{implicit: serverTLS, mechs: []string{sasl.Plain}},
			cfg:      SMTPConfig{TLS: TLSImplicit, RootCAs: pool, Username: testUser, Password: testPassword},
			wantUser: testUser,
			wantTLS:  true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			be, host, port := startServer(t, tt.server)
			cfg := tt.cfg
			cfg.Host, cfg.Port, cfg.From = host, port, "Livehouse <noreply@live.example>"
			s := NewSMTP(cfg)
			s.now = func() time.Time { return testTime }
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			if err := s.Send(ctx, m); err != nil {
				t.Fatalf("Send: %v", err)
			}

			got := be.delivered()
			if len(got) != 1 {
				t.Fatalf("server got %d mails, want 1", len(got))
			}
			d := got[0]
			want := delivery{User: tt.wantUser, TLS: tt.wantTLS, From: "noreply@live.example", To: []string{"ada@example.com"}}
			if diff := cmp.Diff(want, d, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Data" }, cmp.Ignore())); diff != "" {
				t.Errorf("delivery (-want +got):\n%s", diff)
			}
			wantMsg := parsed{
				From: `"Livehouse" <noreply@live.example>`, To: `"Ada" <ada@example.com>`, Subject: "Verify your email",
				Date: testTime.Format(time.RFC1123Z), MIMEVersion: "1.0", ContentType: "multipart/alternative",
				Parts: []part{
					{"text/plain; charset=utf-8", "8bit", "Open this link:\r\n" + testLink + "\r\n"},
					{"text/html; charset=utf-8", "8bit", `<a href="` + testLink + `">Verify</a>` + "\r\n"},
				},
			}
			if diff := cmp.Diff(wantMsg, parse(t, d.Data)); diff != "" {
				t.Errorf("message the server received (-want +got):\n%s", diff)
			}
			if !hasLine(d.Data, testLink) {
				t.Errorf("link not intact on one line in the delivered mail:\n%s", d.Data)
			}
		})
	}
}

func TestSMTPSendFails(t *testing.T) {
	serverTLS, _ := selfSigned(t)
	tests := []struct {
		name     string
		server   serverOptions
		cfg      SMTPConfig
		wantCode int    // the SMTP reply code the error must carry, 0 for none
		wantErr  string // a fragment of the error text
	}{
		{
			name:     "bad password",
			server:   serverOptions{mechs: []string{sasl.Plain}},
			cfg:      SMTPConfig{TLS: TLSNone, Username: testUser, Password: "wrong"},
			wantCode: 535,
			wantErr:  "Authentication failed",
		},
		{
			name:     "bad password over login",
			server:   serverOptions{mechs: []string{sasl.Login}},
			cfg:      SMTPConfig{TLS: TLSNone, Username: testUser, Password: "wrong"},
			wantCode: 535,
			wantErr:  "Authentication failed",
		},
		{
			name:     "auth required",
			server:   serverOptions{mechs: []string{sasl.Plain}},
			cfg:      SMTPConfig{TLS: TLSNone},
			wantCode: 502,
			wantErr:  "MAIL FROM",
		},
		{
			name:    "starttls not offered",
			server:  serverOptions{},
			cfg:     SMTPConfig{TLS: TLSStartTLS},
			wantErr: "does not offer STARTTLS",
		},
		{
			name:    "untrusted certificate",
			server:  serverOptions{starttls: serverTLS},
			cfg:     SMTPConfig{TLS: TLSStartTLS},
			wantErr: "certificate",
		},
		{
			name:    "auth not offered",
			server:  serverOptions{},
			cfg:     SMTPConfig{TLS: TLSNone, Username: testUser, Password: testPassword},
			wantErr: "does not offer AUTH",
		},
		{
			name:    "unknown tls mode",
			server:  serverOptions{},
			cfg:     SMTPConfig{TLS: "ssl"},
			wantErr: `unknown TLS mode "ssl"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			be, host, port := startServer(t, tt.server)
			cfg := tt.cfg
			cfg.Host, cfg.Port, cfg.From = host, port, "noreply@live.example"
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			err := NewSMTP(cfg).Send(ctx, Message{To: "ada@example.com", Subject: "Hi", Text: "hello"})
			if err == nil {
				t.Fatal("Send: got nil error, want one")
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Send error = %q, want it to contain %q", err, tt.wantErr)
			}
			var reply *textproto.Error
			gotCode := 0
			if errors.As(err, &reply) {
				gotCode = reply.Code
			}
			if gotCode != tt.wantCode {
				t.Errorf("Send error %q carries reply code %d, want %d", err, gotCode, tt.wantCode)
			}
			if got := be.delivered(); len(got) != 0 {
				t.Errorf("server got %d mails, want none", len(got))
			}
		})
	}
}

// TestSMTPSendTimeout points Send at a server that accepts the connection and never says a
// word: Send must give up when ctx says so, not when the operating system does.
func TestSMTPSendTimeout(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c) // held open, never written to
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	_, port, _ := net.SplitHostPort(l.Addr().String())
	p, _ := strconv.Atoi(port)

	tests := []struct {
		name   string
		ctx    func() (context.Context, context.CancelFunc)
		target error
	}{
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(t.Context(), 200*time.Millisecond)
		}, context.DeadlineExceeded},
		{"cancel", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(t.Context())
			stop := time.AfterFunc(200*time.Millisecond, cancel)
			return ctx, func() { stop.Stop(); cancel() }
		}, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewSMTP(SMTPConfig{Host: "127.0.0.1", Port: p, From: "noreply@live.example", TLS: TLSNone})
			ctx, cancel := tt.ctx()
			defer cancel()
			start := time.Now()
			err := s.Send(ctx, Message{To: "ada@example.com", Subject: "Hi", Text: "hello"})
			elapsed := time.Since(start)
			if !errors.Is(err, tt.target) {
				t.Errorf("Send: got %v, want %v", err, tt.target)
			}
			if elapsed > 2*time.Second {
				t.Errorf("Send returned after %s, want about 200ms", elapsed)
			}
		})
	}
}
