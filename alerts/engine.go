package alerts

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"promiseledger/events"
)

// Commitments is what the engine reads of the ledger's current state.
type Commitments interface {
	Commitment(id string) (*events.Commitment, bool)
	Each(fn func(*events.Commitment))
}

// Engine evaluates the rules: for one commitment after each of its events,
// and for all of them on a timer, since time alone makes promises late.
type Engine struct {
	cfg         Config
	juris       *events.Jurisdiction
	commitments Commitments
	store       Store
	view        *View
	now         func() time.Time
	log         *slog.Logger

	health func() error // when it returns an error, nothing is evaluated

	mu      sync.Mutex
	pending map[string]bool
	wake    chan struct{}
}

// PauseWhile makes the engine evaluate nothing while health returns an
// error (damage found in the ledger's data): alerts judged on a view that
// stopped would be wrong. Call it before Run.
func (e *Engine) PauseWhile(health func() error) { e.health = health }

func (e *Engine) paused() bool { return e.health != nil && e.health() != nil }

// NewEngine returns an engine; now is its clock.
func NewEngine(cfg Config, j *events.Jurisdiction, cs Commitments, s Store, v *View, now func() time.Time, log *slog.Logger) *Engine {
	if log == nil {
		log = slog.Default()
	}
	return &Engine{cfg: cfg, juris: j, commitments: cs, store: s, view: v, now: now, log: log,
		pending: map[string]bool{}, wake: make(chan struct{}, 1)}
}

// Changed asks for a commitment to be evaluated soon. It never blocks, so
// the projection may call it as it applies an event.
func (e *Engine) Changed(commitmentID string) {
	e.mu.Lock()
	e.pending[commitmentID] = true
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Run evaluates every commitment at start and every interval, and each
// changed commitment as soon as it is told, until ctx ends.
func (e *Engine) Run(ctx context.Context, interval time.Duration) error {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	if err := e.EvaluateAll(ctx); err != nil && ctx.Err() == nil {
		e.log.Error("alert evaluation failed", "err", err)
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
			if err := e.EvaluateAll(ctx); err != nil && ctx.Err() == nil {
				e.log.Error("alert evaluation failed", "err", err)
			}
		case <-e.wake:
			e.mu.Lock()
			ids := e.pending
			e.pending = map[string]bool{}
			e.mu.Unlock()
			for id := range ids {
				if c, ok := e.commitments.Commitment(id); ok {
					if err := e.Evaluate(ctx, c); err != nil && ctx.Err() == nil {
						e.log.Error("alert evaluation failed", "commitment", id, "err", err)
					}
				}
			}
		}
	}
}

// EvaluateAll evaluates every commitment on the clock's date.
func (e *Engine) EvaluateAll(ctx context.Context) error {
	if e.paused() {
		return nil
	}
	var all []*events.Commitment
	e.commitments.Each(func(c *events.Commitment) { all = append(all, c) })
	var errs []error
	for _, c := range all {
		if err := e.Evaluate(ctx, c); err != nil {
			errs = append(errs, err)
			if ctx.Err() != nil {
				break
			}
		}
	}
	return errors.Join(errs...)
}

// Evaluate raises the alerts that now hold for c and were never raised, and
// resolves the open ones that no longer hold. When another instance got
// there first, its message stands and this one is dropped.
func (e *Engine) Evaluate(ctx context.Context, c *events.Commitment) error {
	if e.paused() {
		return nil
	}
	now := e.now().UTC()
	today := e.juris.Today(now)
	conds := conditions(c, today, e.cfg)
	holds := map[string]bool{}
	for _, cond := range conds {
		holds[cond.key] = true
	}
	// Resolutions first, so that a due_soon gives way before the overdue
	// that follows it is raised.
	for _, open := range e.view.OpenFor(c.ID) {
		if holds[open.Key] {
			continue
		}
		a := e.alert(c, open.Rule, open.Key, open.Generation, today, now)
		a.State, a.Due, a.Deadline, a.OrderID, a.DisputeID = Resolved, open.Due, open.Deadline, open.OrderID, open.DisputeID
		a.Reason = reason(open, c)
		if err := e.append(ctx, a, open.Sequence); err != nil {
			return err
		}
	}
	for _, cond := range conds {
		gen, expected := 1, uint64(0)
		if last, seen := e.view.LastOf(cond.key); seen {
			if last.State == Raised {
				continue // open already
			}
			gen, expected = last.Generation+1, last.Sequence // true again after it was resolved
		}
		a := e.alert(c, cond.rule, cond.key, gen, today, now)
		a.Deadline, a.OrderID, a.DisputeID = cond.deadline, cond.orderID, cond.disputeID
		if err := e.append(ctx, a, expected); err != nil {
			return err
		}
	}
	return nil
}

func (e *Engine) alert(c *events.Commitment, rule Rule, key string, generation int, today events.Date, now time.Time) Alert {
	county, _ := e.juris.County(c.County)
	return Alert{
		ID: idFor(key, generation), Key: key, Generation: generation, State: Raised, Rule: rule, Audience: rule.Audience(),
		CommitmentID: c.ID, County: c.County, CountyName: county.Name, Department: c.Department,
		Project: c.Project, Investor: c.Investor, Kind: c.Kind, Due: c.Due,
		DaysOverdue: c.DaysOverdue(today), Outstanding: c.Outstanding(), On: today, At: now,
	}
}

func (e *Engine) append(ctx context.Context, a Alert, expected uint64) error {
	seq, err := e.store.Append(ctx, a, expected)
	if errors.Is(err, events.ErrConflict) {
		// Another instance raised or resolved it first: catch up with it.
		last, lerr := e.store.LastSequence(ctx)
		if lerr != nil {
			return lerr
		}
		return e.view.WaitFor(ctx, last)
	}
	if err != nil {
		return err
	}
	e.log.Info("alert", "id", a.ID, "state", a.State, "rule", a.Rule, "county", a.County)
	return e.view.WaitFor(ctx, seq)
}
