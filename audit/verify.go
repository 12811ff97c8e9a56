package audit

import (
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
)

// Record is one stored message as it was read: from the stream, or from a
// JSON Lines export.
type Record struct {
	Sequence uint64          `json:"sequence"`
	Subject  string          `json:"subject"`
	Data     json.RawMessage `json:"data"`
}

// IsSeal reports whether the record is a seal.
func (r Record) IsSeal() bool { return strings.HasSuffix(r.Subject, SealSubjectSuffix) }

// The kinds of problem verification finds.
const (
	Altered       = "altered"        // content changed after it was recorded
	Missing       = "missing"        // an event was removed
	Inserted      = "inserted"       // an event was slipped into a commitment's history
	Reordered     = "reordered"      // events of a commitment are out of order
	Unreadable    = "unreadable"     // not an event or a seal
	SealCount     = "seal_count"     // a seal covers more or fewer events than precede it
	SealMismatch  = "seal_mismatch"  // a seal's tree head does not match the events it covers
	SealSignature = "seal_signature" // a seal is not signed by the ledger's key
	BadRotation   = "key_rotation"   // a key rotation not signed by the key in force and the new key
	// AttachmentMissing and AttachmentAltered: a file an event cites is not
	// in the attachment bucket, or its bytes no longer match its digest.
	AttachmentMissing = "attachment_missing"
	AttachmentAltered = "attachment_altered"
)

// Problem is one thing verification found wrong, naming where.
type Problem struct {
	Kind         string `json:"kind"`
	Sequence     uint64 `json:"sequence"` // of the event or seal at fault, as read
	CommitmentID string `json:"commitment_id,omitempty"`
	Type         string `json:"type,omitempty"`
	EventID      string `json:"event_id,omitempty"`
	Detail       string `json:"detail"`
}

func (p Problem) String() string {
	s := fmt.Sprintf("%s at sequence %d", p.Kind, p.Sequence)
	if p.CommitmentID != "" {
		s += fmt.Sprintf(" (commitment %s, %s %s)", p.CommitmentID, p.Type, p.EventID)
	}
	return s + ": " + p.Detail
}

// Report is the outcome of a verification.
type Report struct {
	Events    uint64    `json:"events"`
	Seals     uint64    `json:"seals"`
	Rotations uint64    `json:"key_rotations,omitempty"`
	LastSeal  *Seal     `json:"last_seal,omitempty"`
	Unsealed  uint64    `json:"unsealed"` // events after the last seal: chained, not yet sealed
	Problems  []Problem `json:"problems"`
	Chains    int       `json:"commitments"`
	KeyID     string    `json:"key_id,omitempty"`
}

// OK reports whether nothing was found wrong.
func (r Report) OK() bool { return len(r.Problems) == 0 }

// eventRef names an event in findings.
type eventRef struct {
	seq              uint64
	id, typ, hash    string
	commitment, prev string
}

func (e eventRef) problem(kind, detail string) Problem {
	return Problem{Kind: kind, Sequence: e.seq, CommitmentID: e.commitment, Type: e.typ, EventID: e.id, Detail: detail}
}

// chain is one commitment's history as read so far.
type chain struct {
	last   string              // hash of the latest event
	seen   map[string]eventRef // every event by hash
	order  []eventRef
	forked bool // two events named the same predecessor
}

// breakage is an event whose prev_hash names no event read so far.
type breakage struct {
	ev         eventRef
	lastBefore string   // the chain's latest hash when it came
	before     eventRef // the chain's latest event when it came (zero when none)
}

// Verifier checks records one by one, in stream order.
type Verifier struct {
	partial bool
	pub     ed25519.PublicKey
	tree    Frontier
	chains  map[string]*chain
	pending map[string]breakage // by the prev_hash they name
	report  Report
	// screen keeps of each history only its latest hash (in last): memory
	// grows with the number of commitments, not of events, but a problem is
	// only noticed, not diagnosed. See [Verify].
	screen bool
	last   map[string]string
}

// NewVerifier checks seals against pub (nil: seals' signatures are not checked).
func NewVerifier(pub ed25519.PublicKey) *Verifier {
	v := &Verifier{pub: pub, chains: map[string]*chain{}, pending: map[string]breakage{}}
	if pub != nil {
		v.report.KeyID = KeyID(pub)
	}
	return v
}

// Partial verifies part of a ledger (an export of one county, or of a time
// range): each history may begin after its first event, and seals, whose
// tree heads cover every event, are not checked.
func (v *Verifier) Partial() *Verifier {
	v.partial = true
	return v
}

// Verify reads a ledger's records (read calls add for each, in stream order,
// and may be called twice) and verifies them in two passes at most. The
// first keeps of each commitment's history only its latest hash, and of the
// tree only its frontier, so its memory grows with the number of
// commitments, not of events. Only when it finds something wrong is the
// ledger read again by a Verifier that keeps every event's place in its
// history, to say exactly what is wrong and where. workers hash records in
// parallel (1: in the caller's goroutine).
func Verify(pub ed25519.PublicKey, partial bool, workers int, read func(add func(Record)) error) (rep Report, passes int, err error) {
	pass := func(v *Verifier) (Report, error) {
		if partial {
			v.Partial()
		}
		add, wait := v.Add, func() {}
		if workers > 1 {
			add, wait = v.Concurrent(workers)
		}
		err := read(add)
		wait()
		return v.Finish(), err
	}
	screen := NewVerifier(pub)
	screen.screen, screen.last = true, map[string]string{}
	if rep, err = pass(screen); err != nil || rep.OK() {
		return rep, 1, err
	}
	rep, err = pass(NewVerifier(pub))
	return rep, 2, err
}

// VerifyGC is the garbage collector target (GOGC) for a verification run:
// a verifier holds every event's hash and history in memory, and at a
// million events collecting at the default target costs a fifth of the run.
// A batch job may trade memory for that time.
const VerifyGC = 400

// Concurrent returns an add function that hashes records on workers
// goroutines while the checks that depend on order run in stream order, and
// a wait function that returns once every added record is checked. Hashing
// is most of the cost of verification.
func (v *Verifier) Concurrent(workers int) (add func(Record), wait func()) {
	type job struct {
		r    Record
		got  string
		f    [5]string
		err  error
		done chan struct{}
	}
	jobs, order := make(chan *job, 4096), make(chan *job, 4096)
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				if !j.r.IsSeal() {
					j.got, j.f, j.err = hashAndFields(j.r.Data)
				}
				close(j.done)
			}
		}()
	}
	sequenced := make(chan struct{})
	go func() {
		defer close(sequenced)
		for j := range order {
			<-j.done
			if j.r.IsSeal() {
				v.Add(j.r)
			} else {
				v.addHashed(j.r, j.got, j.f, j.err)
			}
		}
	}()
	add = func(r Record) {
		j := &job{r: r, done: make(chan struct{})}
		order <- j
		jobs <- j
	}
	wait = func() {
		close(jobs)
		close(order)
		wg.Wait()
		<-sequenced
	}
	return add, wait
}

// Add checks one record.
func (v *Verifier) Add(r Record) {
	if r.IsSeal() {
		if v.partial {
			return
		}
		v.addSeal(r)
		return
	}
	got, f, err := hashAndFields(r.Data)
	v.addHashed(r, got, f, err)
}

// addHashed checks one event whose hash and fields were computed.
func (v *Verifier) addHashed(r Record, got string, f [5]string, err error) {
	e := struct{ ID, Type, CommitmentID, PrevHash, Hash string }{f[0], f[1], f[2], f[3], f[4]}
	if err != nil || e.Type == "" || e.CommitmentID == "" {
		v.report.Problems = append(v.report.Problems, Problem{Kind: Unreadable, Sequence: r.Sequence, Detail: "neither an event nor a seal"})
		return
	}
	v.report.Events++
	ev := eventRef{seq: r.Sequence, id: e.ID, typ: e.Type, hash: e.Hash, commitment: e.CommitmentID, prev: e.PrevHash}
	if got != e.Hash {
		v.report.Problems = append(v.report.Problems, ev.problem(Altered, fmt.Sprintf("its content does not match its hash %s (recomputed %s): it was changed after it was recorded", short(e.Hash), short(got))))
	}
	leaf, err := hex.DecodeString(e.Hash)
	if err != nil || len(leaf) != 32 {
		leaf = []byte(e.Hash)
	}
	v.tree.Append(leaf)
	v.chain(ev)
}

func (v *Verifier) chain(ev eventRef) {
	if v.screen {
		last, ok := v.last[ev.commitment]
		if !ok {
			v.report.Chains++
			if v.partial {
				last = ev.prev // the export may begin mid-history
			}
		}
		if ev.prev != last {
			v.report.Problems = append(v.report.Problems, ev.problem(Missing, "the event before it in its commitment's history is not the one read last (screened: read again for the diagnosis)"))
		}
		v.last[ev.commitment] = ev.hash
		return
	}
	c := v.chains[ev.commitment]
	if c == nil {
		c = &chain{seen: map[string]eventRef{}}
		if v.partial {
			c.last = ev.prev // the export may begin mid-history
		}
		v.chains[ev.commitment] = c
		v.report.Chains++
	}
	defer func() {
		c.seen[ev.hash] = ev
		c.order = append(c.order, ev)
	}()
	// An event that an earlier one named as its predecessor: the two are swapped.
	if b, ok := v.pending[ev.hash]; ok && b.ev.commitment == ev.commitment {
		delete(v.pending, ev.hash)
		v.report.Problems = append(v.report.Problems, ev.problem(Reordered,
			fmt.Sprintf("it precedes the event at sequence %d (%s %s) in the commitment's history, yet comes after it: the two were swapped or moved", b.ev.seq, b.ev.typ, b.ev.id)))
		if ev.prev != b.lastBefore {
			v.pending[ev.prev] = breakage{ev: ev, lastBefore: b.lastBefore, before: b.before}
		}
		return // the chain's latest stays the later event
	}
	switch _, seen := c.seen[ev.prev]; {
	case ev.prev == c.last:
	case seen:
		c.forked = true // judged at the end, when the history's continuation is known
	default:
		var before eventRef
		if n := len(c.order); n > 0 {
			before = c.order[n-1]
		}
		v.pending[ev.prev] = breakage{ev: ev, lastBefore: c.last, before: before}
	}
	c.last = ev.hash
}

func (v *Verifier) addSeal(r Record) {
	var s Seal
	if err := json.Unmarshal(r.Data, &s); err == nil && s.Type == KeyRotationType {
		v.addRotation(r)
		return
	}
	if err := json.Unmarshal(r.Data, &s); err != nil || s.Type != SealType {
		v.report.Problems = append(v.report.Problems, Problem{Kind: Unreadable, Sequence: r.Sequence, Detail: "a message on the seal subject that is not a seal"})
		return
	}
	v.report.Seals++
	v.report.LastSeal = &s
	problem := func(kind, detail string) {
		v.report.Problems = append(v.report.Problems, Problem{Kind: kind, Sequence: r.Sequence, Detail: detail})
	}
	if v.pub != nil {
		if err := s.Verify(v.pub); err != nil {
			problem(SealSignature, fmt.Sprintf("the seal of %d events is %v", s.Events, err))
		}
	}
	countOK := s.Events == v.tree.Size()
	if !countOK {
		problem(SealCount, fmt.Sprintf("it covers %d events, but %d precede it: events were removed or slipped in before it", s.Events, v.tree.Size()))
	} else if head, err := s.Head(); err != nil {
		problem(SealMismatch, err.Error())
	} else if root := v.tree.Root(); root != head {
		problem(SealMismatch, fmt.Sprintf("its tree head %s does not match the %d events before it (%x): one of them was altered, swapped or replaced", short(s.TreeHead), s.Events, root[:4]))
	}
	v.settle(countOK)
}

// addRotation follows a key rotation: seals after it must be signed by the
// new key, and the rotation itself by the key in force and the new key.
func (v *Verifier) addRotation(r Record) {
	var k KeyRotation
	next, err := func() (ed25519.PublicKey, error) {
		if err := json.Unmarshal(r.Data, &k); err != nil {
			return nil, err
		}
		return k.Check(v.pub)
	}()
	if err != nil {
		v.report.Problems = append(v.report.Problems, Problem{Kind: BadRotation, Sequence: r.Sequence, Detail: err.Error()})
		return
	}
	v.report.Rotations++
	if v.pub != nil {
		v.pub = next
		v.report.KeyID = KeyID(next)
	}
}

// settle classifies the breaks read so far: with as many events as sealed,
// nothing was removed, so the event before a break was altered and rehashed.
func (v *Verifier) settle(countOK bool) {
	for prev, b := range v.pending {
		delete(v.pending, prev)
		switch {
		case countOK && b.before.id != "":
			v.report.Problems = append(v.report.Problems, b.before.problem(Altered,
				fmt.Sprintf("it was altered and its hash recomputed: the next event of its commitment, at sequence %d, names %s as its predecessor", b.ev.seq, short(prev))))
		default:
			v.report.Problems = append(v.report.Problems, b.ev.problem(Missing,
				fmt.Sprintf("the event before it in its commitment's history (hash %s) is not in the ledger: it was removed (or altered and rehashed, which no seal here can tell apart)", short(prev))))
		}
	}
}

// forks names, in each history where two events claimed the same
// predecessor, the events that the history does not continue from: the
// history is the path back from its latest event.
func (v *Verifier) forks() {
	for _, c := range v.chains {
		if !c.forked {
			continue
		}
		onPath := map[string]bool{}
		for h := c.last; h != ""; {
			if onPath[h] {
				break
			}
			onPath[h] = true
			e, ok := c.seen[h]
			if !ok {
				break
			}
			h = e.prev
		}
		for _, e := range c.order {
			if !onPath[e.hash] {
				v.report.Problems = append(v.report.Problems, e.problem(Inserted,
					fmt.Sprintf("it is not in the commitment's history: it claims to follow %s, but the history continues from that event through another", short(e.prev))))
			}
		}
	}
}

// Finish returns the report.
func (v *Verifier) Finish() Report {
	v.forks()
	if v.report.LastSeal != nil {
		v.report.Unsealed = v.tree.Size() - min(v.report.LastSeal.Events, v.tree.Size())
	} else {
		v.report.Unsealed = v.tree.Size()
	}
	v.settle(false)
	if v.report.Problems == nil {
		v.report.Problems = []Problem{}
	}
	return v.report
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// CheckInclusion checks, offline, that an event is in the ledger a seal
// covers: the event's content matches its hash, the audit path leads from
// that hash to the seal's tree head, and the seal is signed by pub.
func CheckInclusion(event json.RawMessage, leafIndex, treeSize uint64, auditPath []string, seal Seal, pub ed25519.PublicKey) error {
	var e struct {
		Hash string `json:"hash"`
	}
	if err := json.Unmarshal(event, &e); err != nil {
		return fmt.Errorf("event: %w", err)
	}
	got, err := EventHash(event)
	if err != nil {
		return err
	}
	if got != e.Hash {
		return fmt.Errorf("the event's content does not match its hash (%s, recomputed %s): %w", short(e.Hash), short(got), ErrProof)
	}
	leaf, err := hex.DecodeString(e.Hash)
	if err != nil {
		return fmt.Errorf("event hash: %w", err)
	}
	if treeSize != seal.Events {
		return fmt.Errorf("the proof is for %d events, the seal covers %d: %w", treeSize, seal.Events, ErrProof)
	}
	path := make([]Hash, len(auditPath))
	for i, p := range auditPath {
		b, err := hex.DecodeString(p)
		if err != nil || len(b) != 32 {
			return fmt.Errorf("audit path step %d is not a SHA-256: %w", i, ErrProof)
		}
		path[i] = Hash(b)
	}
	head, err := seal.Head()
	if err != nil {
		return err
	}
	if err := VerifyInclusion(LeafHash(leaf), leafIndex, treeSize, path, head); err != nil {
		return err
	}
	return seal.Verify(pub)
}
