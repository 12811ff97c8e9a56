package events

import (
	"encoding/json"
	"fmt"
)

// Schema versions are per event type. A type's data changes in a way an
// older reader could misread only under a new number; the code writes the
// latest version of each type and reads every older one by upcasting it, step
// by step, to the latest before decoding. Stored events are never rewritten:
// the hash chain covers the bytes as they were written, so an upcast happens
// only in memory, on the way to a fold.
//
// Version history (docs/events.md, "Schema versions"):
//
//	dispute.opened 2: complainant is an object {name, credit_code}, so a
//	                  complaint can name the enterprise by its credit code;
//	                  version 1 held the name as a string.
var schemas = map[Type]int{
	DisputeOpenedType: 2,
}

// upcasters turn one version of a type's data into the next: upcasters[t][v]
// takes version v to v+1. Every version below a type's latest has one.
var upcasters = map[Type]map[int]func(json.RawMessage) (json.RawMessage, error){
	DisputeOpenedType: {1: upcastDisputeOpened1},
}

// Schema is the version of t's data this code writes (1 unless the type has
// changed since).
func (t Type) Schema() int {
	if v, ok := schemas[t]; ok {
		return v
	}
	return 1
}

// upcast returns data of version from as the latest version of t.
func upcast(t Type, from int, data json.RawMessage) (json.RawMessage, error) {
	if from < 1 || from > t.Schema() {
		return nil, fmt.Errorf("schema %d of %s not supported (this reader knows 1 to %d)", from, t, t.Schema())
	}
	for v := from; v < t.Schema(); v++ {
		up := upcasters[t][v]
		if up == nil {
			return nil, fmt.Errorf("schema %d of %s: no upcaster to %d", v, t, v+1)
		}
		var err error
		if data, err = up(data); err != nil {
			return nil, fmt.Errorf("upcast %s from schema %d: %w", t, v, err)
		}
	}
	return data, nil
}

// upcastDisputeOpened1 moves version 1's complainant string into version
// 2's object; every other member is kept as it was.
func upcastDisputeOpened1(data json.RawMessage) (json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	var name string
	if raw, ok := m["complainant"]; ok {
		if err := json.Unmarshal(raw, &name); err != nil {
			return nil, fmt.Errorf("complainant: %w", err)
		}
	}
	obj, err := json.Marshal(Complainant{Name: name})
	if err != nil {
		return nil, err
	}
	m["complainant"] = obj
	return json.Marshal(m)
}
