package jsstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nuid"

	"promiseledger/events"
)

// MaxBatch is the most events one atomic batch carries (JetStream's limit).
const MaxBatch = 1000

// batchesInFlight is how many batches may be written at once: two measured
// best on the development machine (BENCHMARKS.md), fuller batches than four.
const batchesInFlight = 2

// Group commit: appends that arrive while a write is in flight are gathered
// and written together as one JetStream atomic batch (ADR-50), which the
// server stores all or nothing with one fsync. Every acknowledgement still
// means "stored and synced", but one write serves many commands. A lone
// append does not wait for company: it is written at once, alone, as
// before; company comes from the appends that queue while a write is in
// flight.
//
// A batch holds at most one event per commitment (a second one waits for
// the next batch: it was decided on the state before the first anyway). A
// batch is all or nothing, so when the server refuses it — an expectation
// that fails (another writer came first), a key it has seen (a retry) —
// its events are written again one by one, and each gets its own answer,
// exactly as without batches. When the answer to a batch is lost (a
// timeout), every event of it gets that error, as a lone append would:
// the batch may have been stored, and writing it again could store it
// twice.
type groupCommit struct {
	s      *Store
	nc     *nats.Conn
	mu     sync.Mutex
	queue  []*pending
	active bool          // a flusher is writing the queue
	slots  chan struct{} // batches in flight

	// stats, for the benchmarks and the tests
	batches, batched, fallbacks int64
}

type pending struct {
	msg  *nats.Msg
	exp  uint64
	done chan appended
}

type appended struct {
	res events.AppendResult
	err error
}

// append queues one message and waits for its answer.
func (g *groupCommit) append(ctx context.Context, msg *nats.Msg, expectedLast uint64) (events.AppendResult, error) {
	p := &pending{msg: msg, exp: expectedLast, done: make(chan appended, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, p)
	lead := !g.active
	g.active = true
	g.mu.Unlock()
	if lead {
		go g.flush()
	}
	select {
	case a := <-p.done:
		return a.res, a.err
	case <-ctx.Done():
		// It may still be written: the caller learns the outcome as after
		// any lost answer, by retrying with its idempotency key.
		return events.AppendResult{}, ctx.Err()
	}
}

// flush writes the queue, batch by batch, until it is empty. It waits for
// a free slot before it takes the queue, so that the appends arriving while
// every slot is busy all go into the next batch: fuller batches, each
// paying a batch's fixed cost once.
func (g *groupCommit) flush() {
	for {
		g.slots <- struct{}{}
		g.mu.Lock()
		if len(g.queue) == 0 {
			g.active = false
			g.mu.Unlock()
			<-g.slots
			return
		}
		var batch, later []*pending
		subjects := map[string]bool{}
		for _, p := range g.queue {
			if len(batch) == MaxBatch || subjects[p.msg.Subject] {
				later = append(later, p)
				continue
			}
			subjects[p.msg.Subject] = true
			batch = append(batch, p)
		}
		g.queue = later
		g.mu.Unlock()
		// A few batches in flight at once: while one is being synced the
		// next is sent, so that a batch's fixed cost overlaps another's.
		go func() {
			defer func() { <-g.slots }()
			g.write(batch)
		}()
	}
}

// write writes a batch: one event alone as before, several as an atomic
// batch, falling back to one by one when the server refuses the batch.
func (g *groupCommit) write(batch []*pending) {
	ctx, cancel := context.WithTimeout(context.Background(), publishTimeout)
	defer cancel()
	if len(batch) == 1 {
		res, err := g.s.publish(ctx, batch[0].msg, batch[0].exp)
		batch[0].done <- appended{res, err}
		return
	}
	first, err := g.atomic(ctx, batch)
	var refused *batchRefused
	switch {
	case errors.As(err, &refused):
		g.mu.Lock()
		g.fallbacks++
		g.mu.Unlock()
		for _, p := range batch {
			res, err := g.s.publish(ctx, p.msg, p.exp)
			p.done <- appended{res, err}
		}
	case err != nil:
		for _, p := range batch {
			p.done <- appended{err: fmt.Errorf("append %s in a batch: %w", p.msg.Subject, unavailable(err))}
		}
	default:
		g.mu.Lock()
		g.batches++
		g.batched += int64(len(batch))
		g.mu.Unlock()
		for i, p := range batch {
			p.done <- appended{res: events.AppendResult{Sequence: first + uint64(i)}}
		}
	}
}

// publishTimeout bounds one write.
const publishTimeout = 10 * time.Second

// batchRefused is the server's refusal of a whole batch (an expectation
// that failed, a duplicate key, …): nothing of it was stored.
type batchRefused struct {
	code int
	desc string
}

func (e *batchRefused) Error() string {
	return fmt.Sprintf("batch refused: %s (%d)", e.desc, e.code)
}

// atomic writes the batch as one atomic batch and returns the sequence of
// its first message (they are stored one after another).
func (g *groupCommit) atomic(ctx context.Context, batch []*pending) (uint64, error) {
	id := nuid.Next()
	for i, p := range batch {
		m := &nats.Msg{Subject: p.msg.Subject, Data: p.msg.Data, Header: nats.Header{}}
		for k, v := range p.msg.Header {
			m.Header[k] = v
		}
		m.Header.Set("Nats-Expected-Last-Subject-Sequence", strconv.FormatUint(p.exp, 10))
		m.Header.Set("Nats-Batch-Id", id)
		m.Header.Set("Nats-Batch-Sequence", strconv.Itoa(i+1))
		if i < len(batch)-1 {
			if err := g.nc.PublishMsg(m); err != nil {
				return 0, err
			}
			continue
		}
		m.Header.Set("Nats-Batch-Commit", "1")
		resp, err := g.nc.RequestMsgWithContext(ctx, m)
		if err != nil {
			return 0, err
		}
		var ack struct {
			Seq   uint64 `json:"seq"`
			Batch string `json:"batch"`
			Count int    `json:"count"`
			Error *struct {
				Code        int    `json:"code"`
				ErrCode     int    `json:"err_code"`
				Description string `json:"description"`
			} `json:"error"`
		}
		if err := json.Unmarshal(resp.Data, &ack); err != nil {
			return 0, fmt.Errorf("batch acknowledgement %q: %w", resp.Data, err)
		}
		if ack.Error != nil {
			return 0, &batchRefused{code: ack.Error.ErrCode, desc: ack.Error.Description}
		}
		if ack.Batch != id || ack.Count != len(batch) || ack.Seq < uint64(len(batch)) {
			return 0, fmt.Errorf("batch acknowledgement %q does not answer batch %s of %d", resp.Data, id, len(batch))
		}
		return ack.Seq - uint64(len(batch)) + 1, nil
	}
	return 0, errors.New("empty batch")
}

// GroupCommitStats are how many atomic batches were written, how many
// events they held, and how many batches the server refused (then written
// one by one).
func (s *Store) GroupCommitStats() (batches, events, fallbacks int64) {
	if s.group == nil {
		return 0, 0, 0
	}
	s.group.mu.Lock()
	defer s.group.mu.Unlock()
	return s.group.batches, s.group.batched, s.group.fallbacks
}
