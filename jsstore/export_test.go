package jsstore

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"promiseledger/events"
)

// WriteTogether writes the events as one group, as group commit would have
// gathered them, and returns each one's answer.
func WriteTogether(s *Store, evs []events.Event, expectedLast []uint64) ([]events.AppendResult, []error) {
	g := s.group
	var batch []*pending
	for i, ev := range evs {
		body, _ := json.Marshal(ev)
		msg := &nats.Msg{Subject: s.Subject(ev.County, ev.CommitmentID), Data: body, Header: nats.Header{}}
		if ev.IdempotencyKey != "" {
			msg.Header.Set(nats.MsgIdHdr, MsgID(events.IdempotencyScope(ev.Actor.Name, ev.IdempotencyKey)))
		}
		batch = append(batch, &pending{msg: msg, exp: expectedLast[i], done: make(chan appended, 1)})
	}
	g.write(batch)
	res := make([]events.AppendResult, len(evs))
	errs := make([]error, len(evs))
	for i, p := range batch {
		a := <-p.done
		res[i], errs[i] = a.res, a.err
	}
	return res, errs
}

// SetCheckpointPart makes checkpoints be saved in parts of n bytes until the
// returned function is called.
func SetCheckpointPart(n int) (restore func()) {
	old := checkpointPart
	checkpointPart = n
	return func() { checkpointPart = old }
}

// Objects returns the names of the objects in the checkpoint bucket.
func (c *Checkpoints) Objects(ctx context.Context) ([]string, error) {
	infos, err := c.obj.List(ctx)
	if errors.Is(err, jetstream.ErrNoObjectsFound) {
		return nil, nil
	}
	var names []string
	for _, in := range infos {
		names = append(names, in.Name)
	}
	return names, err
}
