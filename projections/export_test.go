package projections

import "encoding/json"

// CheckpointAsJSON rewrites a saved checkpoint as JSON, the encoding of
// earlier releases (which restore still reads), so that a test can edit it.
func CheckpointAsJSON(b []byte) ([]byte, error) {
	cp, err := decodeCheckpoint(b)
	if err != nil {
		return nil, err
	}
	return json.Marshal(cp)
}
