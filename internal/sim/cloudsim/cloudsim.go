package cloudsim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/logshipper/logshipper/internal/sim/awssim"
	"github.com/logshipper/logshipper/internal/sim/imds"
	"github.com/logshipper/logshipper/internal/sim/netskope"
	"github.com/logshipper/logshipper/internal/sim/sts"
)

// Sim is a running cloudsim.
type Sim struct {
	// Endpoints are the base URLs served, by name: aws, imds, netskope, admin.
	Endpoints map[string]string
	Keys      *awssim.Keyring
	Netskope  *netskope.Tenant
	Logs      *LogsService
	Lake      *LakeService
	S3        *S3Service
	SQS       *SQSService
	cfg       *Config
	s3run     *s3Runner

	servers []*http.Server
	done    chan error
}

// Start starts every configured server and returns once they listen. Use port 0 in the
// listen addresses to have free ports picked (tests); Endpoints tells which.
func Start(cfg *Config) (*Sim, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Sim{Endpoints: map[string]string{}, cfg: cfg, done: make(chan error, 8)}
	s.Keys = awssim.NewKeyring()
	for _, a := range cfg.AWS.Accounts {
		user := a.User
		if user == "" {
			user = "cloudsim"
		}
		s.Keys.Add(awssim.Credential{
			AccessKeyID: a.AccessKeyID, SecretAccessKey: a.SecretAccessKey, AccountID: a.ID,
			ARN: "arn:aws:iam::" + a.ID + ":user/" + user, UserID: awssim.StableID("AIDA", a.ID+user),
		})
	}
	if err := s.startAWS(); err != nil {
		s.Close()
		return nil, err
	}
	if cfg.IMDS.Listen != "" {
		h := imds.New(imds.Config{Keys: s.Keys, RoleName: cfg.IMDS.Role, AccountID: cfg.IMDS.Account, Region: cfg.IMDS.Region})
		if err := s.serve("imds", cfg.IMDS.Listen, h); err != nil {
			s.Close()
			return nil, err
		}
	}
	if cfg.Netskope.Listen != "" {
		t, err := newTenant(cfg)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.Netskope = t
		if err := s.serve("netskope", cfg.Netskope.Listen, t); err != nil {
			s.Close()
			return nil, err
		}
	}
	if cfg.Admin.Listen != "" {
		if err := s.serve("admin", cfg.Admin.Listen, s.adminHandler()); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

func (s *Sim) startAWS() error {
	if s.cfg.AWS.Listen == "" {
		return nil
	}
	rt := awssim.NewRouter(awssim.NewVerifier(s.Keys))
	sts.New(sts.Config{Keys: s.Keys}).Register(rt)
	logs, err := newLogs(s.cfg.AWS.Logs, s.cfg.Seed, s.cfg.AWS.Accounts[0].ID, s.cfg.Logger)
	if err != nil {
		return err
	}
	s.Logs = logs
	rt.Handle("logs", logs)
	lake, err := newLake(s.cfg.AWS.Lake, s.cfg.Seed)
	if err != nil {
		return err
	}
	s.Lake = lake
	lake.register(rt)
	account := s.cfg.AWS.Accounts[0].ID
	if s.SQS, err = newSQS(s.cfg.AWS.SQS, s.cfg.Seed, account, s.cfg.Logger); err != nil {
		return err
	}
	if s.s3run, err = newS3(s.cfg.AWS.S3, s.cfg.Seed, account, s.SQS, s.cfg.Logger); err != nil {
		return err
	}
	s.S3 = s.s3run.svc
	registerS3SQS(rt, s.S3, s.SQS)
	return s.serve("aws", s.cfg.AWS.Listen, rt)
}

func newTenant(cfg *Config) (*netskope.Tenant, error) {
	n := cfg.Netskope
	o := netskope.Options{Seed: cfg.Seed, RateLimit: n.RateLimit}
	for _, t := range n.Tokens {
		o.Tokens = append(o.Tokens, netskope.Token{Value: t.Value, Endpoints: t.Endpoints})
	}
	if n.NewIndexFromHead {
		o.NewIndexStart = netskope.StartAtHead
	}
	g := netskope.Generator{Rate: n.Generate.Rate, Backlog: n.Generate.Backlog, BacklogSpan: n.Generate.BacklogSpan, DuplicateRate: n.Generate.DuplicateRate}
	o.Generators = map[string]netskope.Generator{}
	if len(n.Generate.Endpoints) == 0 {
		o.Generators["*"] = g
	}
	for _, ep := range n.Generate.Endpoints {
		o.Generators[ep] = g
	}
	o.Faults = netskope.Faults{ThrottleRate: n.Faults.ThrottleRate, ServerErrorRate: n.Faults.ServerErrorRate, CutBodyRate: n.Faults.CutBodyRate,
		SlowRate: n.Faults.SlowRate, SlowDelay: n.Faults.SlowDelay, OKZeroRate: n.Faults.OKZeroRate}
	t := netskope.New(o)
	for _, l := range n.Load {
		kind, typ, ok := strings.Cut(l.Endpoint, "/")
		if !ok {
			return nil, fmt.Errorf("cloudsim config: netskope.load: endpoint %q is not kind/type (alerts/dlp)", l.Endpoint)
		}
		f, err := os.Open(l.File)
		if err != nil {
			return nil, fmt.Errorf("cloudsim config: netskope.load: %w", err)
		}
		_, err = t.LoadFile(netskope.Kind(kind), typ, f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("cloudsim config: netskope.load %s: %w", l.File, err)
		}
	}
	return t, nil
}

// serve listens on addr and serves h in the background.
func (s *Sim) serve(name, addr string, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("cloudsim: %s: listen on %s: %w", name, addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	s.servers = append(s.servers, srv)
	s.Endpoints[name] = "http://" + ln.Addr().String()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.done <- fmt.Errorf("cloudsim: %s: %w", name, err)
		}
	}()
	return nil
}

// Done reports a server that stopped on its own.
func (s *Sim) Done() <-chan error { return s.done }

// Close stops every server.
func (s *Sim) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, srv := range s.servers {
		_ = srv.Shutdown(ctx)
	}
	if s.Lake != nil {
		_ = s.Lake.Close()
	}
	if s.s3run != nil {
		s.s3run.close()
	}
}

// PrintEndpoints writes what is served, and how a client reaches it.
func (s *Sim) PrintEndpoints(w io.Writer) {
	order := []string{"netskope", "aws", "imds", "admin"}
	for _, name := range order {
		u, ok := s.Endpoints[name]
		if !ok {
			continue
		}
		switch name {
		case "netskope":
			tok := "(any token)"
			if len(s.cfg.Netskope.Tokens) > 0 {
				tok = "token " + s.cfg.Netskope.Tokens[0].Value
			}
			fmt.Fprintf(w, "cloudsim: netskope  %s  GET /api/v2/events/dataexport/{events,alerts}/<type>, %s\n", u, tok)
		case "aws":
			a := s.cfg.AWS.Accounts[0]
			fmt.Fprintf(w, "cloudsim: aws       %s  logs, cloudtrail-data, cloudtrail, sts, s3 (path style), sqs; account %s, AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s\n", u, a.ID, a.AccessKeyID, a.SecretAccessKey)
		case "imds":
			fmt.Fprintf(w, "cloudsim: imds      %s  AWS_EC2_METADATA_SERVICE_ENDPOINT=%s/ (role %s)\n", u, u, s.cfg.IMDS.Role)
		case "admin":
			fmt.Fprintf(w, "cloudsim: admin     %s  /lake/events /lake/stats /netskope/stats /s3/{stats,cloudtrail,objects,notifications} /sqs/stats /healthz\n", u)
		}
	}
}

func (s *Sim) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	if s.Lake != nil {
		s.Lake.registerAdmin(mux)
	}
	s.registerS3SQSAdmin(mux)
	if s.Netskope != nil {
		mux.HandleFunc("GET /netskope/stats", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(s.Netskope.Stats())
		})
	}
	return mux
}
