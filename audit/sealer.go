package audit

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"promiseledger/events"
	"promiseledger/internal/seqwait"
)

// SealStore is the ledger's stream as the sealer sees it: raw records, and
// seals appended with optimistic concurrency on the seal subject.
type SealStore interface {
	FollowRecords(ctx context.Context, after uint64, fn func(Record) error) error
	// AppendSeal appends a seal if the stream's last message is at
	// expectedLast; otherwise it returns an error matching events.ErrConflict.
	AppendSeal(ctx context.Context, s Seal, expectedLast uint64) (uint64, error)
	LastSequence(ctx context.Context) (uint64, error)
}

// SealedSeal is a seal and where it stands in the stream.
type SealedSeal struct {
	Seal
	At uint64 `json:"at"` // the seal's own stream sequence
}

// Sealer keeps the Merkle tree of every event hash, appends signed seals
// every Every events or Interval (when there is something new), and on
// shutdown, and answers inclusion and consistency proofs.
type Sealer struct {
	store    SealStore
	key      ed25519.PrivateKey
	every    uint64
	interval time.Duration
	now      func() time.Time
	log      *slog.Logger

	mu      sync.RWMutex
	tree    Tree
	leafOf  map[string]uint64 // event id → leaf index
	heads   map[string]string // commitment id → hash of its last event: the next one's prev_hash
	lastSeq seqwait.Position  // last record applied; advanced under mu
	seals   []SealedSeal
	sealAt  time.Time         // when this sealer last sealed, or started
	signer  ed25519.PublicKey // the key the next seal must be signed with, once known
	ready   bool
	fault   error         // damage found: no seal is made over it, and the sealer is never ready
	faulted chan struct{} // closed when fault is set
}

// NewSealer returns a sealer; every and interval default to 1,000 events and 10 minutes.
func NewSealer(store SealStore, key ed25519.PrivateKey, every uint64, interval time.Duration, now func() time.Time, log *slog.Logger) *Sealer {
	if every == 0 {
		every = 1000
	}
	if interval == 0 {
		interval = 10 * time.Minute
	}
	if log == nil {
		log = slog.Default()
	}
	return &Sealer{store: store, key: key, every: every, interval: interval, now: now, log: log, leafOf: map[string]uint64{}, heads: map[string]string{}, faulted: make(chan struct{})}
}

// PublicKey is the key that verifies the seals.
func (s *Sealer) PublicKey() ed25519.PublicKey { return s.key.Public().(ed25519.PublicKey) }

// apply adds one record: an event to the tree, after checking that it links
// to its commitment's last event; a seal, after checking that it covers
// exactly the events before it, that its tree head is theirs and that it is
// signed by the key in force; a key rotation, signed by the key it replaces.
// A record that fails a check is damage (an error matching
// events.ErrDamaged), and nothing is applied.
func (s *Sealer) apply(r Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Sequence <= s.lastSeq.Seq() {
		return nil
	}
	damage := func(format string, args ...any) error {
		return &events.DamageError{Sequence: r.Sequence, Problem: fmt.Sprintf(format, args...)}
	}
	if r.IsSeal() {
		var head struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(r.Data, &head); err != nil {
			return damage("the message on the seal subject is not JSON: %v", err)
		}
		switch head.Type {
		case SealType:
			var seal Seal
			if err := json.Unmarshal(r.Data, &seal); err != nil {
				return damage("the seal cannot be read: %v", err)
			}
			if err := s.checkSeal(seal); err != nil {
				return damage("%v", err)
			}
			s.seals = append(s.seals, SealedSeal{Seal: seal, At: r.Sequence})
		case KeyRotationType:
			var rot KeyRotation
			if err := json.Unmarshal(r.Data, &rot); err != nil {
				return damage("the key rotation cannot be read: %v", err)
			}
			next, err := rot.Check(s.signer)
			if err != nil {
				return damage("%v", err)
			}
			s.signer = next
		default:
			return damage("the message on the seal subject is of type %q, neither a seal nor a key rotation", head.Type)
		}
	} else {
		var f [4]string
		if err := topStrings(r.Data, sealerFields[:], f[:]); err != nil || f[0] == "" {
			return damage("the message on %s is not an event (%v)", r.Subject, err)
		}
		e := struct{ ID, CommitmentID, PrevHash, Hash string }{f[0], f[1], f[2], f[3]}
		if last := s.heads[e.CommitmentID]; e.PrevHash != last {
			return damage("event %s of commitment %s names %q as its predecessor's hash, but the commitment's last event has %q: the hash chain is broken", e.ID, e.CommitmentID, short(e.PrevHash), short(last))
		}
		s.heads[e.CommitmentID] = e.Hash
		leaf, err := hex.DecodeString(e.Hash)
		if err != nil || len(leaf) != 32 {
			leaf = []byte(e.Hash)
		}
		s.leafOf[e.ID] = s.tree.Size()
		s.tree.Append(leaf)
	}
	s.lastSeq.Advance(r.Sequence)
	return nil
}

// sealerFields are the members of an event the sealer reads.
var sealerFields = [4]string{"id", "commitment_id", "prev_hash", "hash"}

// checkSeal checks a seal read from the stream against the events before it.
func (s *Sealer) checkSeal(seal Seal) error {
	if seal.Events != s.tree.Size() {
		return fmt.Errorf("the seal covers %d events, but %d precede it", seal.Events, s.tree.Size())
	}
	head, err := seal.Head()
	if err != nil {
		return err
	}
	if root, _ := s.tree.Root(seal.Events); root != head {
		return fmt.Errorf("the seal's tree head %s does not match the %d events before it", short(seal.TreeHead), seal.Events)
	}
	if s.signer == nil {
		// The first seal: the key is known only if it is this ledger's own.
		if own := s.PublicKey(); seal.KeyID == KeyID(own) {
			s.signer = own
		} else {
			return nil
		}
	}
	if err := seal.Verify(s.signer); err != nil {
		return fmt.Errorf("the seal is %v", err)
	}
	return nil
}

// Run follows the stream and seals until ctx ends, then seals what is left.
// Damage found in the stream ends it without sealing: a seal over damaged
// data would vouch for it. The sealer is then never ready, and Err says why.
func (s *Sealer) Run(ctx context.Context) error {
	target, err := s.store.LastSequence(ctx)
	if err != nil {
		return err
	}
	followErr := make(chan error, 1)
	go func() {
		err := s.store.FollowRecords(ctx, 0, func(r Record) error {
			if err := s.apply(r); err != nil {
				return err
			}
			if r.Sequence >= target {
				s.mu.Lock()
				s.ready = true
				s.mu.Unlock()
			}
			return nil
		})
		if errors.Is(err, events.ErrDamaged) {
			s.mu.Lock()
			s.fault = err
			close(s.faulted)
			s.mu.Unlock()
			s.log.Error("sealer stopped: the ledger's data is damaged; nothing more is sealed", "err", err)
		}
		followErr <- err
	}()
	if target == 0 {
		s.mu.Lock()
		s.ready = true
		s.mu.Unlock()
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	s.mu.Lock()
	s.sealAt = s.now()
	s.mu.Unlock()
	wrongKeyLogged := false
	for {
		select {
		case err := <-followErr:
			if errors.Is(err, events.ErrDamaged) {
				return err
			}
			if ctx.Err() == nil {
				return err
			}
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			if _, err := s.seal(sctx, false); err != nil && !errors.Is(err, errNothingToSeal) {
				s.log.Error("final seal failed", "err", err)
			}
			return ctx.Err()
		case <-tick.C:
		}
		s.mu.RLock()
		ready, unsealed, lastSeal := s.ready && s.fault == nil, s.tree.Size()-s.sealedEvents(), s.sealAt
		s.mu.RUnlock()
		if !ready || unsealed == 0 || (unsealed < s.every && s.now().Sub(lastSeal) < s.interval) {
			continue
		}
		if _, err := s.seal(ctx, true); err != nil && !errors.Is(err, errNothingToSeal) && ctx.Err() == nil {
			if !errors.Is(err, ErrWrongKey) || !wrongKeyLogged {
				s.log.Error("seal failed", "err", err)
			}
			wrongKeyLogged = wrongKeyLogged || errors.Is(err, ErrWrongKey)
		}
		s.mu.Lock()
		s.sealAt = s.now()
		s.mu.Unlock()
	}
}

// NextSealIn is about how long until the sealer seals what it has read:
// what a reader told "not sealed yet" should wait.
func (s *Sealer) NextSealIn() time.Duration {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.tree.Size()-s.sealedEvents() >= s.every {
		return time.Second
	}
	return max(s.interval-s.now().Sub(s.sealAt), time.Second)
}

// Err is the damage that stopped the sealer, or nil.
func (s *Sealer) Err() error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.fault
}

func (s *Sealer) sealedEvents() uint64 {
	if n := len(s.seals); n > 0 {
		return s.seals[n-1].Events
	}
	return 0
}

var errNothingToSeal = errors.New("nothing to seal")

// Ready reports whether the sealer has read the stream as it was at start,
// finding no damage.
func (s *Sealer) Ready() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.ready && s.fault == nil
}

// SealNow appends a seal over every event stored when it is called (it waits
// until the sealer has read them), unless the last seal already covers them,
// and waits until it reads the seal back. When another instance sealed first,
// its seal stands.
func (s *Sealer) SealNow(ctx context.Context) (SealedSeal, error) {
	if s.Ready() {
		last, err := s.store.LastSequence(ctx)
		if err != nil {
			return SealedSeal{}, err
		}
		if err := s.waitFor(ctx, last); err != nil {
			return SealedSeal{}, err
		}
	}
	return s.seal(ctx, true)
}

func (s *Sealer) seal(ctx context.Context, wait bool) (SealedSeal, error) {
	for attempt := 0; attempt < 20; attempt++ {
		s.mu.RLock()
		if s.fault != nil {
			s.mu.RUnlock()
			return SealedSeal{}, s.fault
		}
		if !s.ready {
			s.mu.RUnlock()
			return SealedSeal{}, fmt.Errorf("sealer is still reading the stream: %w", events.ErrNotReady)
		}
		if own := s.PublicKey(); s.signer != nil && !s.signer.Equal(own) {
			s.mu.RUnlock()
			return SealedSeal{}, fmt.Errorf("%w: the key in force is %s (a key rotation is in the stream), but this ledger holds key %s; restart it with the new key (--seal-key)", ErrWrongKey, KeyID(s.signer), KeyID(own))
		}
		size, seq := s.tree.Size(), s.lastSeq.Seq()
		head, _ := s.tree.Root(size)
		if n := len(s.seals); size == 0 || (n > 0 && s.seals[n-1].Events == size) {
			var last SealedSeal
			if n > 0 {
				last = s.seals[n-1]
			}
			s.mu.RUnlock()
			return last, errNothingToSeal
		}
		s.mu.RUnlock()
		seal := Seal{Type: SealType, Schema: 1, Sequence: seq, Events: size, TreeHead: hex.EncodeToString(head[:]), SealedAt: s.now().UTC()}
		if err := seal.Sign(s.key); err != nil {
			return SealedSeal{}, err
		}
		at, err := s.store.AppendSeal(ctx, seal, seq)
		if errors.Is(err, events.ErrConflict) && wait {
			// Events (or another instance's seal) came meanwhile: read them and seal again.
			last, err := s.store.LastSequence(ctx)
			if err != nil {
				return SealedSeal{}, err
			}
			if err := s.waitFor(ctx, last); err != nil {
				return SealedSeal{}, err
			}
			continue
		}
		if err != nil {
			return SealedSeal{}, fmt.Errorf("seal: %w", err)
		}
		if wait {
			if err := s.waitFor(ctx, at); err != nil {
				return SealedSeal{}, err
			}
		}
		s.log.Info("sealed", "sequence", seq, "events", size, "tree_head", seal.TreeHead[:16])
		return SealedSeal{Seal: seal, At: at}, nil
	}
	return SealedSeal{}, fmt.Errorf("seal: the stream kept moving: %w", events.ErrConflict)
}

// waitFor waits until the record at seq is applied; damage found meanwhile
// ends the wait with it, since that record will never be applied.
func (s *Sealer) waitFor(ctx context.Context, seq uint64) error {
	return s.lastSeq.WaitUnless(ctx, seq, s.faulted, s.Err)
}

// ErrWrongKey is a seal this ledger will not make: the key it holds is not
// the key in force.
var ErrWrongKey = errors.New("not the seal key in force")

// InclusionProof proves that the event with the id is among those the
// latest seal covers. seq is the event's stream sequence, so that the
// sealer first reads up to it. An event not sealed yet is an error matching
// events.ErrNotReady: a read never makes the ledger append a seal.
func (s *Sealer) InclusionProof(ctx context.Context, eventID string, seq uint64) (leaf uint64, proof []Hash, seal SealedSeal, err error) {
	if err := s.waitFor(ctx, seq); err != nil {
		return 0, nil, SealedSeal{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	leaf, ok := s.leafOf[eventID]
	if !ok {
		return 0, nil, SealedSeal{}, fmt.Errorf("event %s: %w", eventID, events.ErrNotFound)
	}
	if len(s.seals) == 0 || s.seals[len(s.seals)-1].Events <= leaf {
		return 0, nil, SealedSeal{}, fmt.Errorf("event %s is not sealed yet: seals are made every %d events or %s: %w", eventID, s.every, s.interval, events.ErrNotReady)
	}
	seal = s.seals[len(s.seals)-1]
	proof, err = s.tree.InclusionProof(leaf, seal.Events)
	return leaf, proof, seal, err
}

// Seals lists every seal read so far.
func (s *Sealer) Seals() []SealedSeal {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return append([]SealedSeal(nil), s.seals...)
}

// ConsistencyProof proves that the seal at stream sequence to extends the
// seal at from.
func (s *Sealer) ConsistencyProof(from, to uint64) (SealedSeal, SealedSeal, []Hash, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var a, b *SealedSeal
	for i := range s.seals {
		if s.seals[i].At == from {
			a = &s.seals[i]
		}
		if s.seals[i].At == to {
			b = &s.seals[i]
		}
	}
	if a == nil || b == nil {
		return SealedSeal{}, SealedSeal{}, nil, fmt.Errorf("no seal at sequence %d or %d: %w", from, to, events.ErrNotFound)
	}
	if a.Events > b.Events {
		return SealedSeal{}, SealedSeal{}, nil, &events.FieldError{Field: "from", Rule: "must be an earlier seal than to"}
	}
	if a.Events == 0 || a.Events == b.Events {
		return *a, *b, []Hash{}, nil
	}
	proof, err := s.tree.ConsistencyProof(a.Events, b.Events)
	return *a, *b, proof, err
}
