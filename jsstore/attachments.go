package jsstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"promiseledger/events"
)

// DefaultAttachmentBucket is the object store of evidence files, each named
// by the hex SHA-256 of its bytes: the events cite that digest, so the hash
// chain and the seals cover what they cite.
const DefaultAttachmentBucket = "LEDGER_ATTACHMENTS"

// Attachments keeps evidence files in a JetStream object store.
type Attachments struct {
	obj jetstream.ObjectStore
}

// OpenAttachments creates or opens the attachment bucket.
func (s *Store) OpenAttachments(ctx context.Context) (*Attachments, error) {
	obj, err := s.js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket:      DefaultAttachmentBucket,
		Description: "Promise Ledger evidence files, named by their SHA-256",
		Storage:     jetstream.FileStorage,
		Replicas:    s.cfg.Replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("attachment bucket: %w", err)
	}
	return &Attachments{obj: obj}, nil
}

// AttachAttachments opens the bucket without creating it, for readers.
func (s *Store) AttachAttachments(ctx context.Context) (*Attachments, error) {
	obj, err := s.js.ObjectStore(ctx, DefaultAttachmentBucket)
	if err != nil {
		return nil, fmt.Errorf("attachment bucket: %w", err)
	}
	return &Attachments{obj: obj}, nil
}

// Put stores a file under its digest (a file already there is kept as it
// is: the same bytes) and returns what is known of it.
func (a *Attachments) Put(ctx context.Context, data []byte, mediaType, name, uploader string) (events.Attachment, error) {
	sum := sha256.Sum256(data)
	at := events.Attachment{SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data)), MediaType: mediaType, Name: name, Uploaders: []string{uploader}}
	if old, err := a.Info(ctx, at.SHA256); err == nil {
		// The same bytes again: kept as they are; whoever uploads them
		// too may download them, and is answered with its own name.
		if !slices.Contains(old.Uploaders, uploader) {
			info, err := a.obj.GetInfo(ctx, at.SHA256)
			if err != nil {
				return events.Attachment{}, fmt.Errorf("attachment %s: %w", at.SHA256, err)
			}
			meta := info.ObjectMeta
			headers := nats.Header{}
			for k, v := range meta.Headers {
				headers[k] = slices.Clone(v)
			}
			headers.Add("Uploader", uploader)
			meta.Headers = headers
			if err := a.obj.UpdateMeta(ctx, at.SHA256, meta); err != nil {
				return events.Attachment{}, fmt.Errorf("attachment %s: %w", at.SHA256, err)
			}
		}
		old.Name = name
		return old, nil
	}
	_, err := a.obj.Put(ctx, jetstream.ObjectMeta{Name: at.SHA256, Description: name,
		Headers: map[string][]string{"Media-Type": {mediaType}, "File-Name": {name}, "Uploader": {uploader}}}, bytes.NewReader(data))
	if err != nil {
		return events.Attachment{}, fmt.Errorf("store attachment: %w", err)
	}
	return at, nil
}

// Info is what is known of a stored file; events.ErrNotFound when none.
func (a *Attachments) Info(ctx context.Context, digest string) (events.Attachment, error) {
	info, err := a.obj.GetInfo(ctx, digest)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return events.Attachment{}, fmt.Errorf("attachment %s: %w", digest, events.ErrNotFound)
	}
	if err != nil {
		return events.Attachment{}, fmt.Errorf("attachment %s: %w", digest, err)
	}
	h := info.Headers
	return events.Attachment{SHA256: digest, Size: int64(info.Size), MediaType: h.Get("Media-Type"), Name: h.Get("File-Name"), Uploaders: h.Values("Uploader")}, nil
}

// Get returns a stored file's bytes, checked against the digest it is
// named by: bytes that no longer match are damage.
func (a *Attachments) Get(ctx context.Context, digest string) ([]byte, events.Attachment, error) {
	at, err := a.Info(ctx, digest)
	if err != nil {
		return nil, at, err
	}
	r, err := a.obj.Get(ctx, digest)
	if err != nil {
		return nil, at, fmt.Errorf("attachment %s: %w", digest, err)
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if errors.Is(err, jetstream.ErrDigestMismatch) {
		return nil, at, &events.DamageError{Problem: fmt.Sprintf("attachment %s: its stored chunks no longer match the object store's digest", digest)}
	}
	if err != nil {
		return nil, at, fmt.Errorf("attachment %s: %w", digest, err)
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != digest {
		return nil, at, &events.DamageError{Problem: fmt.Sprintf("attachment %s: its bytes no longer match its SHA-256", digest)}
	}
	return data, at, nil
}
