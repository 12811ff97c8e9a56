package api

import (
	"log/slog"
	"net/http"
	"time"
)

// Timeouts bound each part of an HTTP exchange, so that a connection that
// sends nothing, or reads nothing, is closed rather than held. A zero field
// takes its value from [DefaultTimeouts].
type Timeouts struct {
	// ReadHeader is how long a client may take to send a request's headers.
	ReadHeader time.Duration
	// Read is how long it may take to send the whole request. net/http also
	// cancels a request still being answered when it passes, so it bounds
	// every ordinary answer too.
	Read time.Duration
	// Write is how long an answer may take, from the end of the request's
	// headers. The alert stream, the export and the verification, which may
	// last longer, lift both deadlines and allow Write for each write instead.
	Write time.Duration
	// Idle is how long a kept-alive connection may wait for its next request.
	Idle time.Duration
}

// DefaultTimeouts are the timeouts of a zero [Timeouts].
var DefaultTimeouts = Timeouts{ReadHeader: 10 * time.Second, Read: time.Minute, Write: 2 * time.Minute, Idle: time.Minute}

func (t Timeouts) withDefaults() Timeouts {
	for _, f := range []struct{ v, def *time.Duration }{
		{&t.ReadHeader, &DefaultTimeouts.ReadHeader}, {&t.Read, &DefaultTimeouts.Read},
		{&t.Write, &DefaultTimeouts.Write}, {&t.Idle, &DefaultTimeouts.Idle},
	} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	return t
}

// HTTPServer returns an http.Server for the API, with its timeouts.
func (s *Server) HTTPServer() *http.Server { return s.httpServer(s) }

// MetricsServer returns an http.Server that answers GET /metrics, and
// nothing else, without a token: for a listener that only a Prometheus on a
// private network can reach (serve --metrics-listen).
func (s *Server) MetricsServer() *http.Server {
	mux := http.NewServeMux()
	s.metricsRoutes(mux)
	return s.httpServer(mux)
}

func (s *Server) httpServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: s.timeouts.ReadHeader,
		ReadTimeout:       s.timeouts.Read,
		WriteTimeout:      s.timeouts.Write,
		IdleTimeout:       s.timeouts.Idle,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}

// longAnswer is an answer that may outlast the server's Read and Write
// timeouts: an event stream, an export, a verification. It lifts the read
// deadline (when it passes, net/http cancels the request even though its
// body was read long ago) and moves the write deadline forward as the
// answer goes, so that a client that stops reading is still cut off after
// Timeouts.Write.
type longAnswer struct {
	rc       *http.ResponseController
	write    time.Duration
	extended time.Time
}

func (s *Server) longAnswer(w http.ResponseWriter) *longAnswer {
	a := &longAnswer{rc: http.NewResponseController(w), write: s.timeouts.Write}
	_ = a.rc.SetReadDeadline(time.Time{})
	a.extend()
	return a
}

// extend allows the next write a whole write timeout.
func (a *longAnswer) extend() {
	a.extended = time.Now()
	_ = a.rc.SetWriteDeadline(a.extended.Add(a.write))
}

// tick extends the write deadline when a quarter of it has gone by: cheap
// enough to call for every line of an export.
func (a *longAnswer) tick() {
	if time.Since(a.extended) > a.write/4 {
		a.extend()
	}
}
