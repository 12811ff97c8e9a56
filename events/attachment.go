package events

import (
	"fmt"
	"regexp"
	"slices"
)

// Attachment is an evidence file (a contract, a payment voucher, a land
// certificate), named by the hex SHA-256 of its bytes. Events cite the
// digest, so the hash chain and the seals cover what they cite.
type Attachment struct {
	SHA256    string   `json:"sha256"`
	Size      int64    `json:"size"`
	MediaType string   `json:"media_type"`
	Name      string   `json:"name"`
	Uploaders []string `json:"-"` // the token names that uploaded these bytes
}

// MaxAttachments is how many files one event may cite.
const MaxAttachments = 20

var digestPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// checkAttachments checks the digests an action cites: hex SHA-256, each
// once. That the files exist is the store's to say (the API checks it).
func checkAttachments(digests []string) ([]string, error) {
	if len(digests) > MaxAttachments {
		return nil, invalid("attachments", "must cite at most %d files, got %d", MaxAttachments, len(digests))
	}
	for i, d := range digests {
		field := fmt.Sprintf("attachments[%d]", i)
		if !digestPattern.MatchString(d) {
			return nil, invalid(field, "must be the sha256 that POST /api/v1/attachments answered (64 lowercase hex digits)")
		}
		if slices.Contains(digests[:i], d) {
			return nil, invalid(field, "cites the same file twice")
		}
	}
	if len(digests) == 0 {
		return nil, nil
	}
	return slices.Clone(digests), nil
}
