package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"promiseledger/internal/connlimit"
	"promiseledger/projections"
)

// metrics are what /metrics reports, in the Prometheus text format.
type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	refused  *prometheus.CounterVec
}

func (s *Server) newMetrics(conns ConnStats) *metrics {
	reg := prometheus.NewRegistry()
	m := &metrics{
		registry: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ledger_http_requests_total", Help: "HTTP requests by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "ledger_http_request_duration_seconds", Help: "HTTP request latency by route pattern and status.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "status"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ledger_http_refused_total", Help: "Requests refused for authentication (401), permission (403) or rate (429), by route pattern, role and status.",
		}, []string{"route", "role", "status"}),
	}
	view := s.reads.Live()
	label := prometheus.Labels{"projection": projections.Name}
	gauge := func(name, help string, f func(projections.Stats) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: label}, func() float64 { return f(view.Stats()) })
	}
	reg.MustRegister(
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.latency, m.refused,
		gauge("ledger_projection_applied_sequence", "Stream sequence of the last event the projection applied.",
			func(s projections.Stats) float64 { return float64(s.Applied) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "ledger_projection_events_applied_total", Help: "Events the projection folded since the process started (rate() gives the apply rate).", ConstLabels: label},
			func() float64 { return float64(view.Stats().EventsApplied) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ledger_projection_lag_events", Help: "Events in the stream the projection has not applied yet.", ConstLabels: label}, s.lag),
		gauge("ledger_projection_rebuild_seconds", "How long the projection took at start to restore its checkpoint and catch up with the stream.",
			func(s projections.Stats) float64 { return s.CatchUp.Seconds() }),
		gauge("ledger_projection_restored_sequence", "Sequence of the checkpoint the projection started from; 0 when it rebuilt from event one.",
			func(s projections.Stats) float64 { return float64(s.RestoredFrom) }),
		gauge("ledger_projection_checkpoint_sequence", "Sequence of the last checkpoint saved or restored.",
			func(s projections.Stats) float64 { return float64(s.LastCheckpoint) }),
		gauge("ledger_projection_checkpoint_errors", "Checkpoints that failed to save.",
			func(s projections.Stats) float64 { return float64(s.CheckpointErrors) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ledger_damaged", Help: "1 when the ledger found its stored data damaged and refuses to serve (see /readyz and the log)."},
			func() float64 {
				if s.health() != nil {
					return 1
				}
				return 0
			}),
		gauge("ledger_commitments", "Commitments in the ledger.",
			func(s projections.Stats) float64 { return float64(s.Commitments) }),
	)
	past := s.reads.Past()
	asOf := func(name, help string, f func(projections.PastStats) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(f(past.Stats())) })
	}
	reg.MustRegister(
		asOf("ledger_asof_folds_total", "Folds of the stream for views as of a past instant (as_of).",
			func(s projections.PastStats) uint64 { return s.Folds }),
		asOf("ledger_asof_shared_total", "Past views that waited for a fold another request had started for the same instant.",
			func(s projections.PastStats) uint64 { return s.Shared }),
		asOf("ledger_asof_cached_total", "Past views answered from the kept ones.",
			func(s projections.PastStats) uint64 { return s.Cached }),
		asOf("ledger_asof_refused_total", "Past views refused (429): the token had a fold of another instant pending.",
			func(s projections.PastStats) uint64 { return s.Refused }),
		asOf("ledger_asof_timed_out_total", "Folds ended by their deadline (503).",
			func(s projections.PastStats) uint64 { return s.TimedOut }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ledger_asof_waiting", Help: "Requests waiting for a fold now."},
			func() float64 { return float64(past.Stats().Waiting) }),
	)
	if conns != nil {
		refused := func(reason string, n func(connlimit.Stats) uint64) prometheus.Collector {
			return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "ledger_http_connections_refused_total",
				Help:        "HTTP connections refused at once: too many open from their address (per_address) or in all (total).",
				ConstLabels: prometheus.Labels{"reason": reason}}, func() float64 { return float64(n(conns.Stats())) })
		}
		reg.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ledger_http_connections_open", Help: "HTTP connections open now."},
				func() float64 { return float64(conns.Stats().Open) }),
			refused("per_address", func(s connlimit.Stats) uint64 { return s.RefusedPerAddr }),
			refused("total", func(s connlimit.Stats) uint64 { return s.RefusedTotal }),
		)
	}
	return m
}

// lag is how far the projection is behind the stream, read at scrape time.
func (s *Server) lag() float64 {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	last, err := s.reads.StreamLastSequence(ctx)
	if err != nil {
		return -1
	}
	applied := s.reads.Live().Applied()
	if last < applied {
		return 0
	}
	return float64(last - applied)
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// observe counts one request under the route pattern it matched.
func (m *metrics) observe(r *http.Request, status int, took time.Duration) {
	route := r.Pattern
	if route == "" || route == "/" {
		route = "unmatched"
	}
	code := strconv.Itoa(status)
	m.requests.WithLabelValues(route, r.Method, code).Inc()
	m.latency.WithLabelValues(route, code).Observe(took.Seconds())
}
