package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"promiseledger/access"
	"promiseledger/alerts"
	"promiseledger/events"
)

// alertFilter reads ?county=&rule=&state= and limits a county office to its
// own county and the rules that go to it.
func (s *Server) alertFilter(r *http.Request) (alerts.Filter, error) {
	q := r.URL.Query()
	f := alerts.Filter{County: q.Get("county"), Rule: alerts.Rule(q.Get("rule")), State: alerts.State(q.Get("state"))}
	if f.County != "" {
		if _, ok := s.reads.Jurisdiction().County(f.County); !ok {
			return f, badRequest("validation_failed", "county", "county: %q is not a county of the jurisdiction", f.County)
		}
	}
	if f.Rule != "" && !f.Rule.Valid() {
		return f, badRequest("validation_failed", "rule", "rule: must be %s", events.OneOf(alerts.Rules))
	}
	switch {
	case f.State == "open":
		f.State = alerts.Raised
	case f.State != "" && !f.State.Valid():
		return f, badRequest("validation_failed", "state", "state: must be open (the same as raised) or %s", events.OneOf(alerts.States))
	}
	p := principal(r)
	f.County, f.Nothing = p.Scope(f.County) // another county's alerts are not there
	f.CountyOnly = p.Role == access.County  // and a county office gets only the rules that go to it
	return f, nil
}

func (s *Server) handleAlerts() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := s.alertFilter(r)
		if err != nil {
			writeError(w, err)
			return
		}
		encode(w, http.StatusOK, map[string]any{"alerts": s.alerts.Current(f)})
	})
}

// heartbeat keeps idle event streams open through proxies.
const heartbeat = 15 * time.Second

// handleAlertStream serves alerts as Server-Sent Events. Each event's id is
// its stream sequence; a client that reconnects with Last-Event-ID (or
// ?since=) gets exactly what it missed, then new alerts as they come.
func (s *Server) handleAlertStream() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := s.alertFilter(r)
		if err != nil {
			writeError(w, err)
			return
		}
		var after uint64
		for _, v := range []string{r.Header.Get("Last-Event-ID"), r.URL.Query().Get("since")} {
			if v == "" {
				continue
			}
			if after, err = strconv.ParseUint(v, 10, 64); err != nil {
				writeError(w, badRequest("validation_failed", "Last-Event-ID", "Last-Event-ID: must be the id of an event of this stream"))
				return
			}
		}
		// The stream lasts as long as the client listens: past the server's
		// timeouts, each write allowed the write timeout.
		long := s.longAnswer(w)
		rc := long.rc
		w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("X-Accel-Buffering", "no")
		w.WriteHeader(http.StatusOK)
		_, _ = fmt.Fprint(w, "retry: 3000\n\n")
		_ = rc.Flush()
		beat := time.NewTicker(heartbeat)
		defer beat.Stop()
		for {
			items, upTo, more := s.alerts.Since(after, f)
			long.extend()
			for _, a := range items {
				b, _ := json.Marshal(a)
				if _, err := fmt.Fprintf(w, "id: %d\nevent: alert\ndata: %s\n\n", a.Sequence, b); err != nil {
					return
				}
			}
			after = upTo
			if err := rc.Flush(); err != nil {
				return
			}
			select {
			case <-r.Context().Done():
				return
			case <-s.closing:
				return
			case <-more:
			case <-beat.C:
				long.extend()
				if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
					return
				}
			}
		}
	})
}
