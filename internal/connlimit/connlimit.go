// Package connlimit caps the connections a listener holds open: in total,
// and from any one remote address, so that one client opening thousands of
// idle connections cannot take every file descriptor of the process and,
// with them, the service for everyone else. Over a cap, a new connection is
// answered with [Config.Refusal] (if any) and closed at once; refusals are
// counted ([Listener.Stats]) and logged, at most one line per address per
// [Config.LogEvery].
//
// It knows nothing of HTTP beyond the refusal it may be given to write
// ([HTTPRefusal]).
package connlimit

import (
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"
)

// HTTPRefusal is a minimal HTTP/1.1 answer for a refused connection.
var HTTPRefusal = []byte("HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 21\r\nRetry-After: 1\r\nConnection: close\r\n\r\ntoo many connections\n")

// Config says how many connections a [Listener] holds open.
type Config struct {
	Max        int // connections open at once in all; 0: no cap
	MaxPerAddr int // connections open at once from one address (an IPv6 /64 counts as one); 0: no cap
	// Refusal is written to a refused connection before it is closed; nil:
	// closed without a word.
	Refusal []byte
	Log     *slog.Logger
	// LogEvery is how often refusals are logged, per address and for the
	// total cap: the first at once, then how many more followed, at most
	// once per LogEvery (default 1 minute).
	LogEvery time.Duration
}

// Stats are a listener's counters.
type Stats struct {
	Open           int    // connections open now
	RefusedPerAddr uint64 // connections refused because their address had MaxPerAddr open
	RefusedTotal   uint64 // connections refused because Max were open
}

// Listener is a net.Listener that holds at most the configured number of
// connections open. A connection's slot is freed when it is closed.
type Listener struct {
	net.Listener
	cfg Config

	mu      sync.Mutex
	open    int
	perAddr map[string]int
	stats   Stats
	logs    map[string]*refusalLog // by address; "" for the total cap
	closed  bool
}

// refusalLog is what was refused from one address (or in total) since the
// last line logged about it.
type refusalLog struct {
	pending int
	timer   *time.Timer
}

// New caps the connections of ln.
func New(ln net.Listener, cfg Config) *Listener {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.LogEvery <= 0 {
		cfg.LogEvery = time.Minute
	}
	return &Listener{Listener: ln, cfg: cfg, perAddr: map[string]int{}, logs: map[string]*refusalLog{}}
}

var _ net.Listener = (*Listener)(nil)

// Accept returns the next connection within the caps; those over them are
// refused and closed meanwhile.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		key := addrKey(c.RemoteAddr())
		l.mu.Lock()
		n := l.perAddr[key]
		switch {
		case l.cfg.MaxPerAddr > 0 && n >= l.cfg.MaxPerAddr:
			l.stats.RefusedPerAddr++
			l.noteRefusal(key, "connection refused: too many from one address", "addr", key, "open_from_addr", n, "max_per_addr", l.cfg.MaxPerAddr)
		case l.cfg.Max > 0 && l.open >= l.cfg.Max:
			l.stats.RefusedTotal++
			l.noteRefusal("", "connection refused: too many in all", "addr", key, "open", l.open, "max", l.cfg.Max)
		default:
			l.open++
			l.perAddr[key] = n + 1
			l.mu.Unlock()
			return &conn{Conn: c, l: l, key: key}, nil
		}
		l.mu.Unlock()
		l.refuse(c)
	}
}

// refuse writes the refusal, if any, and closes the connection. A new
// connection's send buffer is empty, so the write does not wait; the
// deadline is only in case.
func (l *Listener) refuse(c net.Conn) {
	if len(l.cfg.Refusal) > 0 {
		_ = c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
		_, _ = c.Write(l.cfg.Refusal)
	}
	_ = c.Close()
}

// noteRefusal logs the first refusal under key at once and counts the
// others until LogEvery has passed; then one line says how many there were.
// l.mu is held.
func (l *Listener) noteRefusal(key, msg string, attrs ...any) {
	if r := l.logs[key]; r != nil {
		r.pending++
		return
	}
	l.cfg.Log.Warn(msg, append(attrs, "refused", 1)...)
	if l.closed {
		return
	}
	r := &refusalLog{}
	l.logs[key] = r
	var summarise func()
	summarise = func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.logs[key] != r {
			return // flushed by Close
		}
		if r.pending == 0 {
			delete(l.logs, key)
			return
		}
		l.logSummary(key, msg, r.pending)
		r.pending = 0
		r.timer = time.AfterFunc(l.cfg.LogEvery, summarise)
	}
	r.timer = time.AfterFunc(l.cfg.LogEvery, summarise)
}

func (l *Listener) logSummary(key, msg string, n int) {
	attrs := []any{"refused", n, "within", l.cfg.LogEvery.String()}
	if key != "" {
		attrs = append([]any{"addr", key}, attrs...)
	}
	l.cfg.Log.Warn(msg, attrs...)
}

// Close stops the listener and logs the refusals not yet logged.
func (l *Listener) Close() error {
	err := l.Listener.Close()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	for key, r := range l.logs {
		r.timer.Stop()
		if r.pending > 0 {
			msg := "connection refused: too many from one address"
			if key == "" {
				msg = "connection refused: too many in all"
			}
			l.logSummary(key, msg, r.pending)
		}
		delete(l.logs, key)
	}
	return err
}

// Stats returns the listener's counters.
func (l *Listener) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.stats
	s.Open = l.open
	return s
}

func (l *Listener) release(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if l.perAddr[key]--; l.perAddr[key] <= 0 {
		delete(l.perAddr, key)
	}
}

// addrKey is what the per-address cap counts by: the IP address, or for
// IPv6 its /64, which one client usually has whole.
func addrKey(a net.Addr) string {
	var ip netip.Addr
	switch a := a.(type) {
	case *net.TCPAddr:
		ip = a.AddrPort().Addr().Unmap()
	default:
		ap, err := netip.ParseAddrPort(a.String())
		if err != nil {
			return a.String()
		}
		ip = ap.Addr().Unmap()
	}
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// conn frees its slot when it is closed, once.
type conn struct {
	net.Conn
	l    *Listener
	key  string
	once sync.Once
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.key) })
	return err
}

// CloseWrite lets net/http half-close the connection after its last answer,
// as it does with a bare *net.TCPConn.
func (c *conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
