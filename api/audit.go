package api

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"promiseledger/audit"
	"promiseledger/events"
	"promiseledger/internal/sheet"
)

// Records is the ledger's stream as stored, for verification and export.
type Records interface {
	Records(ctx context.Context, fn func(audit.Record) error) error
}

func (s *Server) auditReady(w http.ResponseWriter) bool {
	if s.sealer == nil || s.records == nil {
		writeError(w, &apiError{status: http.StatusServiceUnavailable, Code: "not_ready", Message: "this ledger has no seal key configured"})
		return false
	}
	return true
}

func (s *Server) handlePubkey() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.auditReady(w) {
			return
		}
		pub := s.sealer.PublicKey()
		encode(w, http.StatusOK, map[string]string{"algorithm": "Ed25519", "public_key": audit.PublicKeyText(pub), "key_id": audit.KeyID(pub)})
	})
}

func (s *Server) handleVerify() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.auditReady(w) {
			return
		}
		// Reading a large ledger may take longer than the server's timeouts.
		long := s.longAnswer(w)
		rep, _, err := audit.Verify(s.sealer.PublicKey(), false, 1, func(add func(audit.Record)) error {
			return s.records.Records(r.Context(), func(rec audit.Record) error { add(rec); return nil })
		})
		long.extend()
		if err != nil {
			writeError(w, err)
			return
		}
		encode(w, http.StatusOK, struct {
			OK bool `json:"ok"`
			audit.Report
		}{rep.OK(), rep})
	})
}

func hexes(hs []audit.Hash) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = hex.EncodeToString(h[:])
	}
	return out
}

func (s *Server) handleProof() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.auditReady(w) {
			return
		}
		id := r.PathValue("id")
		if !s.visible(r, id) {
			writeError(w, notFound(id))
			return
		}
		eventID := r.URL.Query().Get("event")
		evs, err := s.reads.History(r.Context(), id)
		if err != nil {
			writeError(w, err)
			return
		}
		if eventID == "" && len(evs) > 0 {
			eventID = evs[0].ID // the promise being made
		}
		var ev *events.Event
		for i := range evs {
			if evs[i].ID == eventID {
				ev = &evs[i]
			}
		}
		if ev == nil {
			writeError(w, &apiError{status: http.StatusNotFound, Code: "not_found", Field: "event", Message: "event: no event " + strconv.Quote(eventID) + " in this commitment's history"})
			return
		}
		leaf, path, seal, err := s.sealer.InclusionProof(r.Context(), ev.ID, ev.Sequence)
		if errors.Is(err, events.ErrNotReady) {
			// Say when the next seal is due, not "retry in a second".
			wait := s.sealer.NextSealIn()
			w.Header().Set("Retry-After", strconv.Itoa(int(wait.Round(time.Second).Seconds())))
			writeError(w, &apiError{status: http.StatusServiceUnavailable, Code: "not_ready", Field: "event",
				Message: fmt.Sprintf("event %s is not sealed yet; the next seal is due in about %s (see Retry-After)", ev.ID, wait.Round(time.Second))})
			return
		}
		if err != nil {
			writeError(w, err)
			return
		}
		event, err := json.Marshal(ev)
		if err != nil {
			writeError(w, err)
			return
		}
		encode(w, http.StatusOK, audit.Proof{
			Event: event, LeafIndex: leaf, TreeSize: seal.Events, AuditPath: hexes(path), Seal: seal.Seal, SealSequence: seal.At,
			PublicKey: audit.PublicKeyText(s.sealer.PublicKey()),
			Check:     "ledger audit check-proof FILE --pubkey " + audit.PublicKeyText(s.sealer.PublicKey()),
		})
	})
}

func (s *Server) handleSeals() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.auditReady(w) {
			return
		}
		seals := s.sealer.Seals()
		if seals == nil {
			seals = []audit.SealedSeal{}
		}
		encode(w, http.StatusOK, map[string]any{"seals": seals})
	})
}

func (s *Server) handleConsistency() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.auditReady(w) {
			return
		}
		var seqs [2]uint64
		for i, name := range []string{"from", "to"} {
			n, err := strconv.ParseUint(r.URL.Query().Get(name), 10, 64)
			if err != nil {
				writeError(w, badRequest("validation_failed", name, "%s: must be the stream sequence of a seal (GET /api/v1/audit/seals lists them)", name))
				return
			}
			seqs[i] = n
		}
		from, to, proof, err := s.sealer.ConsistencyProof(seqs[0], seqs[1])
		if err != nil {
			writeError(w, err)
			return
		}
		encode(w, http.StatusOK, map[string]any{"from": from, "to": to, "proof": hexes(proof)})
	})
}

// exportFilter reads ?county=&from=&to= (dates recorded, in the
// jurisdiction's calendar, inclusive).
type exportFilter struct {
	county   string
	from, to events.Date
}

func (f exportFilter) partial() bool { return f.county != "" || !f.from.IsZero() || !f.to.IsZero() }

func (s *Server) handleExport() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.auditReady(w) {
			return
		}
		q := r.URL.Query()
		f := exportFilter{county: q.Get("county")}
		if f.county != "" {
			if _, ok := s.reads.Jurisdiction().County(f.county); !ok {
				writeError(w, badRequest("validation_failed", "county", "county: %q is not a county of the jurisdiction", f.county))
				return
			}
		}
		for _, p := range []struct {
			name string
			to   *events.Date
		}{{"from", &f.from}, {"to", &f.to}} {
			if v := q.Get(p.name); v != "" {
				d, err := events.ParseDate(v)
				if err != nil {
					writeError(w, badRequest("validation_failed", p.name, "%s: must be a date YYYY-MM-DD (the day an event was recorded)", p.name))
					return
				}
				*p.to = d
			}
		}
		format := q.Get("format")
		if format == "" {
			format = "jsonl"
		}
		if format != "jsonl" && format != "csv" {
			writeError(w, badRequest("validation_failed", "format", "format: must be jsonl or csv"))
			return
		}
		loc := s.reads.Jurisdiction().Location
		keep := func(rec audit.Record) bool {
			if rec.IsSeal() {
				return !f.partial()
			}
			var e struct {
				County     string    `json:"county"`
				RecordedAt time.Time `json:"recorded_at"`
			}
			if json.Unmarshal(rec.Data, &e) != nil {
				return !f.partial()
			}
			day := events.DateOf(e.RecordedAt, loc)
			return (f.county == "" || e.County == f.county) && (f.from.IsZero() || !day.Before(f.from)) && (f.to.IsZero() || !day.After(f.to))
		}
		// A CSV's cells are made safe to open in a spreadsheet (package
		// sheet). The data column, the record as stored and hashed, begins
		// with "{" and so is never changed: its hash can still be checked.
		var cw *sheet.Writer
		if format == "csv" {
			w.Header().Set("Content-Type", csvType)
			_, _ = io.WriteString(w, sheet.BOM) // so that Excel reads the Chinese in it as UTF-8
			cw = sheet.NewWriter(w)
			_ = cw.Write(strings.Split("sequence,subject,id,type,commitment_id,county,effective_on,recorded_at,actor_name,actor_role,prev_hash,hash,data", ","))
		} else {
			w.Header().Set("Content-Type", "application/jsonl; charset=utf-8")
		}
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		// A whole ledger may take longer than the server's timeouts to send.
		long := s.longAnswer(w)
		err := s.records.Records(r.Context(), func(rec audit.Record) error {
			if !keep(rec) {
				return nil
			}
			long.tick()
			if cw == nil {
				return enc.Encode(rec)
			}
			var e events.Event
			_ = json.Unmarshal(rec.Data, &e)
			row := []string{strconv.FormatUint(rec.Sequence, 10), rec.Subject, e.ID, string(e.Type), e.CommitmentID, e.County, e.EffectiveOn.String(),
				e.RecordedAt.Format(time.RFC3339Nano), e.Actor.Name, e.Actor.Role, e.PrevHash, e.Hash, string(rec.Data)}
			if rec.IsSeal() {
				row = []string{strconv.FormatUint(rec.Sequence, 10), rec.Subject, "", audit.SealType, "", "", "", "", "", "", "", "", string(rec.Data)}
			}
			return cw.Write(row)
		})
		long.extend()
		if cw != nil {
			cw.Flush()
		}
		if err != nil {
			// The answer has begun; break the connection rather than let a
			// cut-off export pass for a whole one.
			s.log.Error("export interrupted", "err", err)
			panic(http.ErrAbortHandler)
		}
	})
}
