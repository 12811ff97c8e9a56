package api

import (
	"errors"
	"log/slog"
	"net/http"
	"promiseledger/events"
	"runtime"
	"strings"
	"sync"
	"time"

	"promiseledger/access"
	"promiseledger/alerts"
	"promiseledger/audit"
	"promiseledger/internal/connlimit"
	"promiseledger/ledger"
	"promiseledger/projections"
)

// MaxBodyBytes is the largest request body accepted.
const MaxBodyBytes = 64 << 10

// Config is what the API needs besides the ledger.
type Config struct {
	Tokens access.Registry // who the bearer tokens stand for
	Alerts *alerts.View    // the supervision alerts
	Sealer *audit.Sealer   // seals and proofs; nil: no audit endpoints
	// Records reads the stream as stored, for verification and export.
	Records Records
	// Attachments keeps evidence files; nil: none are kept.
	Attachments Attachments
	// Health is the damage found in the ledger's stored data, or nil; while
	// it is not nil the API serves nothing but /healthz, /readyz and
	// /metrics. Default: the projection's.
	Health func() error
	Log    *slog.Logger
	// RatePerSecond and Burst limit the requests of each token (default 20/s, burst 40).
	RatePerSecond float64
	Burst         int
	// AuthFailureDelay is the first delay of a failed authentication; it
	// doubles with each further failure from the same address, up to
	// 32 times (default 250 ms, up to 8 s).
	AuthFailureDelay time.Duration
	// Timeouts bound each HTTP exchange on [Server.HTTPServer].
	Timeouts Timeouts
	// Conns, when set, is the HTTP listener's connection caps, reported in /metrics.
	Conns ConnStats
	// Users and Sessions are the web pages' accounts and sign-ins; nil:
	// no web pages, the API only.
	Users    access.Users
	Sessions Sessions
	// DemoAccounts lets the demo's accounts, whose passwords are public,
	// sign in: only while serving with --demo.
	DemoAccounts bool
	// SecureCookies marks the sign-in cookies Secure (sent over TLS only)
	// even on plain HTTP: for a ledger behind a TLS proxy.
	SecureCookies bool
}

// ConnStats tells how many connections a listener holds and has refused;
// a *connlimit.Listener does.
type ConnStats interface{ Stats() connlimit.Stats }

// Server is the HTTP API.
type Server struct {
	ledger        *ledger.Ledger     // the write side: commands
	reads         *projections.Reads // the read side: every view
	tokens        access.Registry
	alerts        *alerts.View
	sealer        *audit.Sealer
	records       Records
	health        func() error
	attachments   Attachments
	log           *slog.Logger
	metrics       *metrics
	limits        *limiter
	failures      *failures
	timeouts      Timeouts
	handler       http.Handler
	mux           *http.ServeMux // the routes, for the pages' requests of the API
	users         access.Users
	sessions      Sessions
	demoAccounts  bool
	secureCookies bool
	hashing       chan struct{} // one slot per password check that may run at once
	closing       chan struct{} // closed by Close: long-lived answers end
	close         sync.Once
}

// Close ends the long-lived answers (event streams), so that the HTTP
// server's Shutdown, which waits for every request, can finish.
func (s *Server) Close() { s.close.Do(func() { close(s.closing) }) }

// New returns the API: writes go to the ledger, reads to the projections.
func New(l *ledger.Ledger, reads *projections.Reads, cfg Config) *Server {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.RatePerSecond == 0 {
		cfg.RatePerSecond, cfg.Burst = 20, 40
	}
	if cfg.AuthFailureDelay == 0 {
		cfg.AuthFailureDelay = 250 * time.Millisecond
	}
	if cfg.Alerts == nil {
		cfg.Alerts = alerts.NewView()
	}
	if cfg.Health == nil {
		cfg.Health = reads.Live().Err
	}
	s := &Server{ledger: l, reads: reads, tokens: cfg.Tokens, alerts: cfg.Alerts, sealer: cfg.Sealer, records: cfg.Records, health: cfg.Health, attachments: cfg.Attachments, log: cfg.Log,
		limits: newLimiter(cfg.RatePerSecond, cfg.Burst), failures: newFailures(cfg.AuthFailureDelay), timeouts: cfg.Timeouts.withDefaults(),
		users: cfg.Users, sessions: cfg.Sessions, demoAccounts: cfg.DemoAccounts, secureCookies: cfg.SecureCookies,
		hashing: make(chan struct{}, runtime.NumCPU()), closing: make(chan struct{})}
	s.metrics = s.newMetrics(cfg.Conns)
	s.mux = http.NewServeMux()
	s.routes(s.mux)
	s.handler = s.instrument(s.mux)
	return s
}

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

// Unwrap lets http.ResponseController reach the connection (to flush events).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		s.metrics.observe(r, sw.status, time.Since(start))
		s.log.Debug("http", "method", r.Method, "path", r.URL.Path, "status", sw.status, "duration", time.Since(start))
	})
}

// readiness says whether the ledger may answer and, when it may not, why.
// Anyone may ask (/readyz), so the answer shows no counts: damage is told in
// full — where, how many, which events — only to a principal that may
// monitor the ledger (supervisor, auditor, admin) and in the log; others
// learn that the data is damaged, and in which stream.
func (s *Server) readiness(r *http.Request) (ready bool, problem string) {
	if err := s.health(); err != nil {
		if s.mayMonitor(r) {
			return false, err.Error()
		}
		return false, damageSummary(err)
	}
	if !s.reads.Live().Ready() {
		return false, "the ledger is still reading its events"
	}
	return true, ""
}

// mayMonitor reports whether the request carries a valid token of a role
// that may monitor the ledger.
func (s *Server) mayMonitor(r *http.Request) bool {
	scheme, bearer, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	p, err := access.Authenticate(s.tokens, strings.TrimSpace(bearer), s.reads.Today())
	return err == nil && p.May(access.Monitor)
}

// damageSummary says that the data is damaged, and in which stream, with
// no counts or ids.
func damageSummary(err error) string {
	where := ""
	var de *events.DamageError
	if errors.As(err, &de) && de.Stream != "" {
		where = " (stream " + de.Stream + ")"
	}
	return "the ledger's stored data is damaged" + where + ": it serves nothing until this is mended; the log says exactly what is wrong, and so does /readyz to a supervisor, auditor or admin token"
}

// ready answers 503 not_ready until the projections have caught up with the
// stream: before that, a read could show an older state than exists, and a
// write could be decided on one. Once damage is found in the stored data it
// answers 503 damaged, saying what is wrong: nothing is served from it.
func (s *Server) ready(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.health(); err != nil {
			writeError(w, &apiError{status: http.StatusServiceUnavailable, Code: "damaged", Message: damageSummary(err)})
			return
		}
		if ok, problem := s.readiness(r); !ok {
			w.Header().Set("Retry-After", "1")
			writeError(w, &apiError{status: http.StatusServiceUnavailable, Code: "not_ready", Message: problem + "; retry shortly"})
			return
		}
		next.ServeHTTP(w, r)
	})
}
