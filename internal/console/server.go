// Package console is logshipper's web console: an HTTP server of server-rendered pages
// (Overview, Plugins, Business rules, SIEM mappings, Logging, Dead letters) with its templates
// and assets embedded, a login (bcrypt users or a token), roles, server-side sessions, CSRF
// tokens, rate-limited logins, TLS and an audit line for every change. It reads and changes the
// shipper only through a Backend.
package console

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/logshipper/logshipper/internal/config"
)

// Server is the console: an http.Handler, and what serves it on console.listen.
type Server struct {
	cfg     Config
	backend Backend
	log     *slog.Logger
	audit   *slog.Logger
	users   map[string]User
	token   string
	// dummyHash is what a password given with an unknown name is checked against.
	dummyHash func() []byte
	tlsConf   *tls.Config
	// hosts are the names a request's Host may give (without TLS).
	hosts map[string]bool

	sessions   *sessionStore
	clientRate *loginLimiter // by client address
	userRate   *loginLimiter // by user name and client address
	userFail   *loginLimiter // by user name, failures only
	streams    *streamLimits
	// bodyTimeout is how long a form's body may take to arrive; maxConns is how many
	// connections Start serves at once.
	bodyTimeout time.Duration
	maxConns    int
	pages       *pages
	mux         *http.ServeMux
	now         func() time.Time

	// shutdown is closed when the server started by Start shuts down: the log streams, which
	// would otherwise hold the shutdown until its timeout, end then.
	shutdown     chan struct{}
	shutdownOnce sync.Once
}

// The limits of what a client may hold of the server: how long a form's body may take to
// arrive (a slow one would hold its connection and goroutine), how large the request's header
// may be, and how many connections are served at once (the others wait to be accepted).
const (
	defaultBodyTimeout = 10 * time.Second
	maxHeaderBytes     = 64 << 10
	defaultMaxConns    = 128
)

// Option changes a Server.
type Option func(*Server)

// WithClock makes the server read the time from now (sessions' expiry, rate limits): tests.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// New builds the console from its configuration. It refuses a configuration that does not
// validate (no login; a non-loopback address without TLS; ...), each problem with its path
// below console, and reads the token file and the certificate.
func New(cfg *Config, b Backend, log *slog.Logger, opts ...Option) (*Server, error) {
	if cfg == nil {
		cfg = NewConfig()
	}
	if errs := config.ValidateTree(cfg, "console"); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "console")
	s := &Server{
		cfg:     *cfg,
		backend: b,
		log:     log,
		audit:   log.With("audit", true),
		users:   map[string]User{},
		now:     time.Now,

		shutdown: make(chan struct{}),
	}
	for _, o := range opts {
		o(s)
	}
	for _, u := range cfg.Users {
		s.users[u.Name] = u
	}
	s.dummyHash = newDummyHash(cfg.Users)
	s.hosts = map[string]bool{"localhost": true, "127.0.0.1": true, "::1": true}
	if host, _, err := net.SplitHostPort(cfg.Listen); err == nil && host != "" {
		s.hosts[strings.ToLower(host)] = true
	}
	if cfg.TokenFile != "" {
		tok, err := ReadTokenFile(cfg.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("console: token_file: %w", err)
		}
		s.token = tok
	}
	if cfg.TLS.Enabled() {
		tc, err := cfg.TLS.ServerConfig()
		if err != nil {
			return nil, fmt.Errorf("console: %w", err)
		}
		s.tlsConf = tc
	}
	s.sessions = newSessionStore(cfg.SessionTTL, s.now)
	s.clientRate = newLoginLimiter(clientLoginInterval, clientLoginBurst, s.now)
	s.userRate = newLoginLimiter(userLoginInterval, userLoginBurst, s.now)
	s.userFail = newLoginLimiter(userFailInterval, userFailBurst, s.now)
	s.bodyTimeout, s.maxConns = defaultBodyTimeout, defaultMaxConns
	s.streams = &streamLimits{bySession: map[string]int{}, perSession: maxStreamsPerSession, total: maxStreams}
	p, err := loadPages()
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	s.pages = p
	s.mux = s.routes()
	return s, nil
}

var _ http.Handler = (*Server)(nil)

// ServeHTTP implements http.Handler, with the security headers on every answer.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	if s.tlsConf != nil {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
	if !s.knownHost(r.Host) {
		http.Error(w, "misdirected request: this console answers to localhost, 127.0.0.1, [::1] and its listen address only", http.StatusMisdirectedRequest)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// knownHost reports whether a request's Host names this console. Without TLS the console
// listens on a loopback address, and a page of another site whose name an attacker points at
// 127.0.0.1 (DNS rebinding) would be same-origin with it: only localhost, 127.0.0.1, [::1] and
// the listen address's host are answered. With TLS any name is: a browser reaches the console
// only under a name its certificate holds.
func (s *Server) knownHost(hostport string) bool {
	if s.tlsConf != nil {
		return true
	}
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]")
	}
	return s.hosts[strings.ToLower(host)]
}

// Start listens on console.listen and serves until ctx ends or stop is called; it returns the
// address it listens on (the port chosen when listen ends in :0).
func (s *Server) Start(ctx context.Context) (addr net.Addr, stop func(), err error) {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return nil, nil, fmt.Errorf("console: listen on %s: %w (set console.listen to another address, or to \"\" to turn the console off)", s.cfg.Listen, err)
	}
	ln = newLimitListener(ln, s.maxConns)
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 5 * time.Second,
		MaxHeaderBytes:    maxHeaderBytes,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	srv.RegisterOnShutdown(func() { s.shutdownOnce.Do(func() { close(s.shutdown) }) })
	scheme := "http"
	if s.tlsConf != nil {
		srv.TLSConfig = s.tlsConf
		ln = tls.NewListener(ln, s.tlsConf)
		scheme = "https"
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("console server stopped", "error", err)
		}
	}()
	done := make(chan struct{})
	var once sync.Once
	stopOnce := func() {
		once.Do(func() {
			close(done)
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
		})
	}
	go func() {
		select {
		case <-ctx.Done():
			stopOnce()
		case <-done:
		}
	}()
	s.log.Info("console serving", "url", (&url.URL{Scheme: scheme, Host: ln.Addr().String()}).String())
	return ln.Addr(), stopOnce, nil
}

// limitListener accepts at most a number of connections open at once: Accept waits until one
// of them closes.
type limitListener struct {
	net.Listener
	slots     chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

func newLimitListener(ln net.Listener, n int) *limitListener {
	return &limitListener{Listener: ln, slots: make(chan struct{}, max(n, 1)), done: make(chan struct{})}
}

// Accept implements net.Listener.
func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &limitConn{Conn: c, l: l}, nil
}

// Close implements net.Listener; an Accept waiting for a slot returns.
func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// limitConn gives its slot back when it closes.
type limitConn struct {
	net.Conn
	l    *limitListener
	once sync.Once
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { <-c.l.slots })
	return err
}
