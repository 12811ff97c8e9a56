package jsstore

// Backups with JetStream's own stream snapshots and restores. nats.go's
// jetstream package has no API for them, so this speaks the JetStream API
// over the NATS connection, as nats-server 2.15 serves it
// (server/jetstream_api.go, jsStreamSnapshotRequest and
// jsStreamRestoreRequest) and as jsm.go, behind the nats CLI, asks it:
//
//   - Snapshot: a request to $JS.API.STREAM.SNAPSHOT.<stream> names a deliver
//     subject; the reply holds the stream's config and state. The server then
//     sends the snapshot to the deliver subject in chunks, each but the last
//     with a reply subject that must be answered (flow control: it keeps at
//     most a window of chunks unanswered, and gives up after 5 s without an
//     answer), and ends with an empty message whose Status header is 204, or
//     another status and a Description when the snapshot failed.
//   - Restore: a request to $JS.API.STREAM.RESTORE.<stream> carries the config
//     and state; the reply names a deliver subject. Each chunk is a request to
//     it (an empty reply: taken; a JSON one: an error), and an empty request
//     ends the upload: its reply is the stream create response.
//
// The snapshot is S2-compressed (every S2 chunk carries a CRC-32C of its
// bytes). Since nats-server 2.15 it is an archive of the stream's state, its
// consumers and its messages in sequence, closed by an end-of-backup entry
// (archive.MagicBytes); older servers send a tar of the stream's files.
// Either way it is read through to its end as it arrives, so that a short
// or damaged snapshot is refused, never kept.

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/s2"
	"github.com/nats-io/nats-server/v2/server/archive"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"promiseledger/audit"
	"promiseledger/internal/atomicfile"
)

var (
	// ErrBackupDamaged: a snapshot that is short, damaged or altered, or a
	// backup folder that does not hold what its manifest says.
	ErrBackupDamaged = errors.New("backup damaged")
	// ErrBackupNotEmpty: a backup is written into an empty folder only.
	ErrBackupNotEmpty = errors.New("backup folder is not empty")
	// ErrStreamExists: a restore never replaces a stream.
	ErrStreamExists = errors.New("stream already exists")
)

// BackupError names what is wrong with a backup; it matches
// ErrBackupDamaged.
type BackupError struct {
	Stream  string
	File    string // the file within the backup folder, if one
	Problem string
}

func (e *BackupError) Error() string {
	where := e.Stream
	if e.File != "" {
		where = e.File
	}
	if where == "" {
		return "backup: " + e.Problem
	}
	return "backup " + where + ": " + e.Problem
}

func (e *BackupError) Unwrap() error { return ErrBackupDamaged }

const (
	apiSnapshot = "$JS.API.STREAM.SNAPSHOT."
	apiRestore  = "$JS.API.STREAM.RESTORE."
	// errCodeRestoreExists is JSStreamNameExistRestoreFailedErr.
	errCodeRestoreExists jetstream.ErrorCode = 10130
	streamCreateResponse                     = "io.nats.jetstream.api.v1.stream_create_response"

	chunkSize = 128 << 10 // the server's default snapshot chunk; a restore chunk the same
	// SnapshotStall is how long a snapshot or a restore waits for the
	// server's next word before giving up.
	SnapshotStall = 30 * time.Second
	// snapshotStart bounds the wait for the snapshot's first answer: older
	// servers check every message's checksum (jsck) before answering.
	snapshotStart = 10 * time.Minute
	// restoreFinish bounds the wait for a restored stream to be ready.
	restoreFinish = 10 * time.Minute
)

// Snapshot formats, as CheckSnapshot finds them.
const (
	FormatArchive = "archive" // nats-server 2.15 and later: the stream's messages
	FormatTar     = "tar"     // earlier servers: the stream's files
)

// apiError is the error part of every JetStream API response.
type apiError struct {
	Type  string              `json:"type"`
	Error *jetstream.APIError `json:"error,omitempty"`
}

// SnapshotContents is what a snapshot holds, found by reading it through.
type SnapshotContents struct {
	Format string
	// State is the stream's state the snapshot was taken at: the archive's
	// own (state.json); for a tar, that of the server's answer.
	State jetstream.StreamState
	// Messages, FirstSeq and LastSeq count the messages in the archive;
	// for a tar, they are the state's.
	Messages          uint64
	FirstSeq, LastSeq uint64
	Consumers         int // consumers in the archive
}

// SnapshotMsg is one message of an archive snapshot.
type SnapshotMsg struct {
	Sequence uint64
	Subject  string
	Header   []byte // as stored: NATS/1.0 and its lines
	Data     []byte
}

// CheckSnapshot reads a snapshot through to its end: every S2 chunk against
// its checksum, and every archive entry (or tar entry) whole, up to the
// archive's end-of-backup entry. It calls onMessage, when not nil, with
// each message of an archive in sequence. An error matches
// ErrBackupDamaged, unless onMessage's.
func CheckSnapshot(r io.Reader, onMessage func(SnapshotMsg) error) (SnapshotContents, error) {
	var c SnapshotContents
	br := bufio.NewReaderSize(s2.NewReader(r), 64<<10)
	magic, err := br.Peek(len(archive.MagicBytes))
	if err != nil {
		return c, &BackupError{Problem: fmt.Sprintf("the snapshot is empty or unreadable: %v", err)}
	}
	if string(magic) != archive.MagicBytes {
		c.Format = FormatTar
		return c, checkTar(br)
	}
	c.Format = FormatArchive
	return c, checkArchive(br, &c, onMessage)
}

func checkTar(r io.Reader) error {
	tr := tar.NewReader(r)
	for {
		if _, err := tr.Next(); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return &BackupError{Problem: fmt.Sprintf("the snapshot's tar is damaged: %v", err)}
		}
		if _, err := io.Copy(io.Discard, tr); err != nil {
			return &BackupError{Problem: fmt.Sprintf("the snapshot's tar is damaged: %v", err)}
		}
	}
	// What follows the tar's end is padding; read it for its checksums.
	if _, err := io.Copy(io.Discard, r); err != nil {
		return &BackupError{Problem: fmt.Sprintf("the snapshot is damaged: %v", err)}
	}
	return nil
}

func checkArchive(r io.Reader, c *SnapshotContents, onMessage func(SnapshotMsg) error) error {
	damaged := func(format string, args ...any) error {
		return &BackupError{Problem: fmt.Sprintf(format, args...)}
	}
	ar := archive.NewReader(r)
	hdr, err := ar.Next()
	if err != nil {
		return damaged("the snapshot is damaged at its start: %v", err)
	}
	if hdr.Name != "state.json" {
		return damaged("the snapshot starts with %q, not the stream's state", hdr.Name)
	}
	b, err := io.ReadAll(ar)
	if err == nil {
		err = json.Unmarshal(b, &c.State)
	}
	if err != nil {
		return damaged("the snapshot's state.json: %v", err)
	}
	for range c.State.Consumers {
		hdr, err := ar.Next()
		if err != nil {
			return damaged("the snapshot is damaged in its consumers: %v", err)
		}
		if !strings.HasPrefix(hdr.Name, "consumers/") {
			return damaged("the snapshot holds %q where a consumer was expected", hdr.Name)
		}
		c.Consumers++
	}
	last := c.State.FirstSeq
	if last > 0 {
		last--
	}
	for {
		hdr, err := ar.Next()
		if errors.Is(err, io.EOF) {
			return damaged("the snapshot is short: it ends after %d messages (the last at sequence %d) without its end-of-backup entry", c.Messages, c.LastSeq)
		}
		if err != nil {
			return damaged("the snapshot is damaged after %d messages (the last at sequence %d): %v", c.Messages, c.LastSeq, err)
		}
		if hdr.Sequence == 0 {
			if hdr.Name == "" && hdr.Timestamp == 0 && hdr.HeaderSize == 0 && hdr.PayloadSize == 0 {
				break // the end-of-backup entry
			}
			return damaged("the snapshot holds an entry %q without a sequence after sequence %d", hdr.Name, last)
		}
		if hdr.Sequence <= last {
			return damaged("the snapshot's sequence goes back from %d to %d", last, hdr.Sequence)
		}
		if hdr.Sequence > c.State.LastSeq {
			return damaged("the snapshot holds sequence %d, after its state's last, %d", hdr.Sequence, c.State.LastSeq)
		}
		if onMessage != nil {
			buf, err := io.ReadAll(ar)
			if err != nil || int64(len(buf)) != hdr.HeaderSize+hdr.PayloadSize {
				return damaged("the snapshot's message at sequence %d is short: %v", hdr.Sequence, err)
			}
			if err := onMessage(SnapshotMsg{Sequence: hdr.Sequence, Subject: hdr.Name, Header: buf[:hdr.HeaderSize], Data: buf[hdr.HeaderSize:]}); err != nil {
				return err
			}
		}
		if c.Messages == 0 {
			c.FirstSeq = hdr.Sequence
		}
		c.Messages++
		c.LastSeq, last = hdr.Sequence, hdr.Sequence
	}
	if c.Messages > c.State.Msgs {
		return damaged("the snapshot holds %d messages, more than its state's %d", c.Messages, c.State.Msgs)
	}
	// Nothing may follow the end-of-backup entry, and reading to the end
	// checks the last S2 chunk's checksum.
	if _, err := ar.Next(); !errors.Is(err, io.EOF) {
		return damaged("the snapshot goes on after its end-of-backup entry (%v)", err)
	}
	return nil
}

// SnapshotOptions tune a snapshot.
type SnapshotOptions struct {
	// NoConsumers leaves the stream's consumers out.
	NoConsumers bool
	// OnMessage, when set, is called with each message of an archive
	// snapshot, in sequence, as it arrives.
	OnMessage func(SnapshotMsg) error
}

// Snapshot is one stream's snapshot: the server's config and state of the
// stream, kept as the server wrote them, and what the snapshot holds.
type Snapshot struct {
	Config   json.RawMessage
	State    json.RawMessage
	Contents SnapshotContents
}

// SnapshotStream writes a snapshot of the stream to w, its bytes as the
// server sends them, and reads it through as it comes (CheckSnapshot): a
// snapshot that is short, damaged or not the stream's state is an error
// matching ErrBackupDamaged. It asks the server to check the stored
// messages' checksums first (jsck; since 2.15, every message is checked as
// it is read into the snapshot).
func SnapshotStream(ctx context.Context, nc *nats.Conn, stream string, w io.Writer, opts SnapshotOptions) (*Snapshot, error) {
	inbox := nc.NewInbox()
	sub, err := nc.SubscribeSync(inbox) // before the request: the server sends to it at once
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", stream, err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := sub.SetPendingLimits(-1, -1); err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", stream, err)
	}
	req, err := json.Marshal(struct {
		DeliverSubject string `json:"deliver_subject"`
		NoConsumers    bool   `json:"no_consumers,omitempty"`
		ChunkSize      int    `json:"chunk_size,omitempty"`
		CheckMsgs      bool   `json:"jsck,omitempty"`
	}{inbox, opts.NoConsumers, chunkSize, true})
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithTimeout(ctx, snapshotStart)
	reply, err := nc.RequestWithContext(rctx, apiSnapshot+stream, req)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", stream, err)
	}
	var resp struct {
		apiError
		Config json.RawMessage `json:"config"`
		State  json.RawMessage `json:"state"`
	}
	if err := json.Unmarshal(reply.Data, &resp); err != nil {
		return nil, fmt.Errorf("snapshot %s: the server's answer: %w", stream, err)
	}
	if resp.Error != nil {
		return nil, fmt.Errorf("snapshot %s: %w", stream, resp.Error)
	}
	var state struct {
		jetstream.StreamState
		Lost *jetstream.LostStreamData `json:"lost"`
	}
	if err := json.Unmarshal(resp.State, &state); err != nil || len(resp.Config) == 0 {
		return nil, fmt.Errorf("snapshot %s: the server's answer has no config or state: %v", stream, err)
	}
	if state.Lost != nil && len(state.Lost.Msgs) > 0 {
		return nil, &BackupError{Stream: stream, Problem: fmt.Sprintf("the server reports %d of the stream's messages lost (%s): its store is damaged; mend it before backing it up", len(state.Lost.Msgs), ranges(state.Lost.Msgs))}
	}

	// The snapshot is checked as it arrives, in a goroutine fed by a pipe;
	// when the check fails, the pipe fails the next write.
	pr, pw := io.Pipe()
	type result struct {
		c   SnapshotContents
		err error
	}
	checked := make(chan result, 1)
	go func() {
		c, err := CheckSnapshot(pr, opts.OnMessage)
		if err == nil {
			_, err = io.Copy(io.Discard, pr) // nothing, unless the check ended early
		}
		pr.CloseWithError(err)
		checked <- result{c, err}
	}()
	fail := func(err error) (*Snapshot, error) {
		pw.CloseWithError(err)
		<-checked
		return nil, fmt.Errorf("snapshot %s: %w", stream, err)
	}
	out := io.MultiWriter(w, pw)
	next, lastChunk := 1, false
	for {
		mctx, cancel := context.WithTimeout(ctx, SnapshotStall)
		m, err := sub.NextMsgWithContext(mctx)
		cancel()
		if err != nil {
			if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
				err = fmt.Errorf("the server sent nothing for %s", SnapshotStall)
			}
			return fail(err)
		}
		if len(m.Data) == 0 {
			if status := m.Header.Get("Status"); status != "" && status != "204" {
				return fail(&BackupError{Stream: stream, Problem: fmt.Sprintf("the server ended the snapshot with status %s: %s", status, m.Header.Get("Description"))})
			}
			break
		}
		if lastChunk {
			return fail(&BackupError{Stream: stream, Problem: "a chunk arrived after the last one"})
		}
		if m.Reply != "" {
			// Answer at once: the server waits 5 s at most.
			if err := m.Respond(nil); err != nil {
				return fail(err)
			}
			// The reply subject ends in the chunk's size and index.
			tok := strings.Split(m.Reply, ".")
			if len(tok) > 2 {
				size, e1 := strconv.Atoi(tok[len(tok)-2])
				index, e2 := strconv.Atoi(tok[len(tok)-1])
				if e1 == nil && e2 == nil && (index != next || size != len(m.Data)) {
					return fail(&BackupError{Stream: stream, Problem: fmt.Sprintf("chunk %d of %d bytes arrived where chunk %d was expected with %d bytes: chunks were lost", index, size, next, len(m.Data))})
				}
			}
			next++
		} else {
			lastChunk = true // the last, partial chunk is not acknowledged
		}
		if _, err := out.Write(m.Data); err != nil {
			return fail(err)
		}
	}
	if n, _ := sub.Dropped(); n > 0 {
		return fail(&BackupError{Stream: stream, Problem: fmt.Sprintf("%d chunks were dropped on the way", n)})
	}
	pw.Close()
	res := <-checked
	if res.err != nil {
		var be *BackupError
		if errors.As(res.err, &be) && be.Stream == "" {
			be.Stream = stream
		}
		return nil, fmt.Errorf("snapshot %s: %w", stream, res.err)
	}
	c := res.c
	if c.Format == FormatTar {
		c.State = state.StreamState
		c.Messages, c.FirstSeq, c.LastSeq = state.Msgs, state.FirstSeq, state.LastSeq
	} else if c.State.Msgs != state.Msgs || c.State.FirstSeq != state.FirstSeq || c.State.LastSeq != state.LastSeq {
		return nil, &BackupError{Stream: stream, Problem: fmt.Sprintf("the snapshot is of %d messages, sequences %d–%d, but the server answered %d messages, sequences %d–%d", c.State.Msgs, c.State.FirstSeq, c.State.LastSeq, state.Msgs, state.FirstSeq, state.LastSeq)}
	}
	return &Snapshot{Config: resp.Config, State: resp.State, Contents: c}, nil
}

// RestoreStream creates a stream from a snapshot: config and state as
// SnapshotStream returned them, and the snapshot's bytes. The server
// refuses to replace a stream (an error matching ErrStreamExists). It
// returns the restored stream's state.
func RestoreStream(ctx context.Context, nc *nats.Conn, config, state json.RawMessage, r io.Reader) (jetstream.StreamState, error) {
	var cfg struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(config, &cfg); err != nil || cfg.Name == "" {
		return jetstream.StreamState{}, fmt.Errorf("restore: the stream's config names no stream: %v", err)
	}
	name := cfg.Name
	req, err := json.Marshal(struct {
		Config json.RawMessage `json:"config"`
		State  json.RawMessage `json:"state"`
	}{config, state})
	if err != nil {
		return jetstream.StreamState{}, err
	}
	request := func(subject string, data []byte, wait time.Duration) ([]byte, error) {
		rctx, cancel := context.WithTimeout(ctx, wait)
		defer cancel()
		m, err := nc.RequestWithContext(rctx, subject, data)
		if err != nil {
			return nil, err
		}
		return m.Data, nil
	}
	b, err := request(apiRestore+name, req, SnapshotStall)
	if err != nil {
		return jetstream.StreamState{}, fmt.Errorf("restore %s: %w", name, err)
	}
	var resp struct {
		apiError
		DeliverSubject string `json:"deliver_subject"`
	}
	if err := json.Unmarshal(b, &resp); err != nil {
		return jetstream.StreamState{}, fmt.Errorf("restore %s: the server's answer: %w", name, err)
	}
	if resp.Error != nil {
		if resp.Error.ErrorCode == errCodeRestoreExists || resp.Error.ErrorCode == jetstream.JSErrCodeStreamNameInUse {
			return jetstream.StreamState{}, fmt.Errorf("restore %s: %w: %w", name, ErrStreamExists, resp.Error)
		}
		return jetstream.StreamState{}, fmt.Errorf("restore %s: %w", name, resp.Error)
	}
	if resp.DeliverSubject == "" {
		return jetstream.StreamState{}, fmt.Errorf("restore %s: the server named no subject to send the snapshot to", name)
	}
	// Past this point the server has begun the stream: a failure leaves
	// it partly restored, and says so.
	partly := func(err error) (jetstream.StreamState, error) {
		return jetstream.StreamState{}, fmt.Errorf("restore %s: %w (the target may hold the stream partly restored: restore into a fresh target)", name, err)
	}
	buf := make([]byte, chunkSize)
	for {
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			b, err := request(resp.DeliverSubject, buf[:n], SnapshotStall)
			if err != nil {
				return partly(err)
			}
			if len(b) > 0 {
				var e apiError
				if json.Unmarshal(b, &e) == nil && e.Error != nil {
					return partly(e.Error)
				}
				return partly(fmt.Errorf("the server answered a chunk with %q", b))
			}
		}
		if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
			break
		}
		if rerr != nil {
			return partly(rerr)
		}
	}
	b, err = request(resp.DeliverSubject, nil, restoreFinish)
	if err != nil {
		return partly(err)
	}
	var done struct {
		apiError
		State *jetstream.StreamState `json:"state"`
	}
	if err := json.Unmarshal(b, &done); err != nil {
		return partly(fmt.Errorf("the server's last answer: %w", err))
	}
	if done.Error != nil {
		return partly(done.Error)
	}
	if done.Type != streamCreateResponse || done.State == nil {
		return partly(fmt.Errorf("the server's last answer is not a created stream: %.200s", b))
	}
	return *done.State, nil
}

// A backup folder: one folder per stream, named after it, holding
// stream.tar.s2 (the snapshot as the server sent it) and backup.json (the
// stream's config and state), as the nats CLI names them, so that
// `nats stream restore` can restore one stream by hand; and manifest.json.
const (
	ManifestFile   = "manifest.json"
	SnapshotFile   = "stream.tar.s2"
	StreamMetaFile = "backup.json"
	// BackupFormat is the manifest's format.
	BackupFormat = 1
)

// Manifest describes a backup: manifest.json, written last, so that a
// folder without it is an unfinished backup.
type Manifest struct {
	Format  int       `json:"format"`
	Created time.Time `json:"created"`
	// Streams in the order they are restored: a mirror after its origin.
	Streams []BackupStream `json:"streams"`
	// LastEvent is the ledger's last event in the backup.
	LastEvent *BackupEvent `json:"last_event,omitempty"`
	Seal      BackupSeal   `json:"seal"`
}

// BackupStream is one stream of a backup.
type BackupStream struct {
	Name          string `json:"name"`
	Messages      uint64 `json:"messages"`
	FirstSequence uint64 `json:"first_sequence"`
	LastSequence  uint64 `json:"last_sequence"`
	Consumers     int    `json:"consumers"`
	// Sourced is a mirror (or a stream with sources): restored, it goes on
	// from where it was, and may gain messages at once.
	Sourced    bool   `json:"sourced,omitempty"`
	Format     string `json:"format"` // FormatArchive or FormatTar
	Snapshot   string `json:"snapshot"`
	Size       int64  `json:"size"`
	SHA256     string `json:"sha256"`
	Meta       string `json:"meta"`
	MetaSHA256 string `json:"meta_sha256"`
}

// BackupEvent names an event.
type BackupEvent struct {
	Sequence uint64 `json:"sequence"`
	ID       string `json:"id"`
}

// BackupSeal says what the backup knows of the seal key; it never holds the
// private key, which stays beside the ledger, unless copied in on purpose.
type BackupSeal struct {
	// KeyID is the key in force: that of the last seal or key rotation.
	KeyID string `json:"key_id,omitempty"`
	// PublicKey is the key verification starts from, the ledger's first:
	// the old key of the first key rotation, else the key in force.
	PublicKey string `json:"public_key,omitempty"`
	// KeyFile is the private key's file in the backup folder, when it was
	// copied in on purpose.
	KeyFile string `json:"key_file,omitempty"`
}

// IsLedgerStream reports whether a stream is one the ledger keeps: its
// events, the auditors' mirror, the alerts, and its buckets (tokens, web
// accounts and sign-ins, checkpoints, evidence files).
func IsLedgerStream(name string) bool {
	switch name {
	case DefaultStream, AuditMirror, AlertStream:
		return true
	}
	return strings.HasPrefix(name, "KV_LEDGER_") || strings.HasPrefix(name, "OBJ_LEDGER_")
}

// snapshotRank orders the snapshots of a ledger that may be running (on a
// cluster), so that what the restored ledger holds fits together: a mirror
// before its origin (restored, it may be behind and catch up, never ahead);
// the alerts and the checkpoints, derived from the events, before them (a
// checkpoint ahead of the stream would be ignored); the evidence files after
// the events that cite them. A stopped ledger does not change meanwhile.
func snapshotRank(cfg jetstream.StreamConfig) int {
	switch {
	case cfg.Mirror != nil || len(cfg.Sources) > 0:
		return 0
	case cfg.Name == AlertStream, cfg.Name == "OBJ_"+DefaultCheckpointBucket:
		return 1
	case strings.HasPrefix(cfg.Name, "KV_"):
		return 2
	case cfg.Name == DefaultStream:
		return 3
	}
	return 4
}

// BackupOptions tune a backup.
type BackupOptions struct {
	// NoConsumers leaves consumers out: the auditors' on their mirror, and
	// the alert deliveries' (which then deliver every alert again).
	NoConsumers bool
	// Progress, when set, is told of each stream once it is backed up.
	Progress func(BackupStream)
}

// Backup snapshots every stream of the ledger into dir, which must be empty
// or absent, and returns the manifest: the caller adds what it knows of the
// seal key and writes it with [Manifest.Write], last.
func Backup(ctx context.Context, nc *nats.Conn, dir string, opts BackupOptions) (*Manifest, error) {
	if err := emptyDir(dir); err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	var cfgs []jetstream.StreamConfig
	names := js.StreamNames(ctx)
	for name := range names.Name() {
		if !IsLedgerStream(name) {
			continue
		}
		st, err := js.Stream(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("stream %s: %w", name, err)
		}
		cfgs = append(cfgs, st.CachedInfo().Config)
	}
	if err := names.Err(); err != nil {
		return nil, fmt.Errorf("stream names: %w", err)
	}
	if !slices.ContainsFunc(cfgs, func(c jetstream.StreamConfig) bool { return c.Name == DefaultStream }) {
		return nil, fmt.Errorf("backup: there is no stream %s here: no ledger to back up", DefaultStream)
	}
	slices.SortStableFunc(cfgs, func(a, b jetstream.StreamConfig) int {
		if d := snapshotRank(a) - snapshotRank(b); d != 0 {
			return d
		}
		return strings.Compare(a.Name, b.Name)
	})
	m := &Manifest{Format: BackupFormat, Created: time.Now().UTC()}
	for _, cfg := range cfgs {
		var onMessage func(SnapshotMsg) error
		if cfg.Name == DefaultStream {
			onMessage = ledgerWatcher(m)
		}
		bs, err := backupStream(ctx, nc, dir, cfg.Name, SnapshotOptions{NoConsumers: opts.NoConsumers, OnMessage: onMessage})
		if err != nil {
			return nil, err
		}
		bs.Sourced = cfg.Mirror != nil || len(cfg.Sources) > 0
		m.Streams = append(m.Streams, bs)
		if opts.Progress != nil {
			opts.Progress(bs)
		}
	}
	// Restore order: mirrors and sourced streams after every other.
	slices.SortStableFunc(m.Streams, func(a, b BackupStream) int {
		switch {
		case a.Sourced == b.Sourced:
			return strings.Compare(a.Name, b.Name)
		case a.Sourced:
			return 1
		}
		return -1
	})
	return m, nil
}

// ledgerWatcher reads the ledger's messages as they are snapshotted: its
// last event, the key in force, and the ledger's first key.
func ledgerWatcher(m *Manifest) func(SnapshotMsg) error {
	sealSubject := DefaultSubject + audit.SealSubjectSuffix
	return func(msg SnapshotMsg) error {
		if msg.Subject == sealSubject {
			var rec struct {
				Type     string `json:"type"`
				KeyID    string `json:"key_id"`
				OldKey   string `json:"old_key"`
				NewKeyID string `json:"new_key_id"`
			}
			if json.Unmarshal(msg.Data, &rec) != nil {
				return nil // verification names it
			}
			if rec.Type == audit.KeyRotationType {
				if m.Seal.PublicKey == "" {
					m.Seal.PublicKey = rec.OldKey
				}
				m.Seal.KeyID = rec.NewKeyID
			} else {
				m.Seal.KeyID = rec.KeyID
			}
			return nil
		}
		if strings.Count(msg.Subject, ".") != 2 || !strings.HasPrefix(msg.Subject, DefaultSubject+".") {
			return nil
		}
		var ev struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(msg.Data, &ev) == nil && ev.ID != "" {
			m.LastEvent = &BackupEvent{Sequence: msg.Sequence, ID: ev.ID}
		}
		return nil
	}
}

// backupStream writes one stream's snapshot and its config and state.
func backupStream(ctx context.Context, nc *nats.Conn, dir, name string, opts SnapshotOptions) (BackupStream, error) {
	bs := BackupStream{Name: name, Snapshot: name + "/" + SnapshotFile, Meta: name + "/" + StreamMetaFile}
	if err := os.Mkdir(filepath.Join(dir, name), 0o700); err != nil {
		return bs, err
	}
	f, err := os.OpenFile(filepath.Join(dir, bs.Snapshot), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return bs, err
	}
	defer f.Close()
	sum := sha256.New()
	count := &countWriter{}
	snap, err := SnapshotStream(ctx, nc, name, io.MultiWriter(f, sum, count), opts)
	if err != nil {
		return bs, err
	}
	if err := f.Sync(); err != nil {
		return bs, err
	}
	if err := f.Close(); err != nil {
		return bs, err
	}
	meta, err := json.MarshalIndent(struct {
		Config json.RawMessage `json:"config"`
		State  json.RawMessage `json:"state"`
	}{snap.Config, snap.State}, "", "  ")
	if err != nil {
		return bs, err
	}
	if err := atomicfile.Create(filepath.Join(dir, bs.Meta), meta, 0o600); err != nil {
		return bs, err
	}
	metaSum := sha256.Sum256(meta)
	c := snap.Contents
	bs.Messages, bs.FirstSequence, bs.LastSequence = c.Messages, c.State.FirstSeq, c.State.LastSeq
	bs.Consumers, bs.Format = c.Consumers, c.Format
	bs.Size, bs.SHA256, bs.MetaSHA256 = count.n, hex.EncodeToString(sum.Sum(nil)), hex.EncodeToString(metaSum[:])
	return bs, nil
}

type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

// emptyDir makes dir, or checks that it is empty.
func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return os.MkdirAll(dir, 0o700)
	}
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		return fmt.Errorf("%s: %w (it holds %s): a backup never writes over anything", dir, ErrBackupNotEmpty, entries[0].Name())
	}
	return nil
}

// Write writes manifest.json into dir: the last file of a backup.
func (m *Manifest) Write(dir string) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Create(filepath.Join(dir, ManifestFile), append(b, '\n'), 0o600)
}

// OpenBackup reads a backup's manifest and checks every file it names
// before anything is restored: each snapshot's size and SHA-256, its
// config's, and each snapshot read through (CheckSnapshot) to the number
// of messages and the last sequence the manifest gives. A problem is an
// error matching ErrBackupDamaged.
func OpenBackup(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, &BackupError{File: ManifestFile, Problem: fmt.Sprintf("%s has no %s: not a backup, or an unfinished one", dir, ManifestFile)}
	}
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, &BackupError{File: ManifestFile, Problem: err.Error()}
	}
	if m.Format != BackupFormat {
		return nil, &BackupError{File: ManifestFile, Problem: fmt.Sprintf("format %d; this ledger reads format %d", m.Format, BackupFormat)}
	}
	if !slices.ContainsFunc(m.Streams, func(s BackupStream) bool { return s.Name == DefaultStream }) {
		return nil, &BackupError{File: ManifestFile, Problem: "it lists no stream " + DefaultStream}
	}
	for _, s := range m.Streams {
		if err := checkBackupStream(dir, s); err != nil {
			return nil, err
		}
	}
	return &m, nil
}

func checkBackupStream(dir string, s BackupStream) error {
	if !IsLedgerStream(s.Name) || strings.ContainsAny(s.Name, `/\. `) {
		return &BackupError{File: ManifestFile, Problem: fmt.Sprintf("it lists %q, not a stream of the ledger", s.Name)}
	}
	if s.Snapshot != s.Name+"/"+SnapshotFile || s.Meta != s.Name+"/"+StreamMetaFile {
		return &BackupError{Stream: s.Name, File: ManifestFile, Problem: fmt.Sprintf("stream %s's files are named %s and %s, not where a backup puts them", s.Name, s.Snapshot, s.Meta)}
	}
	meta, err := os.ReadFile(filepath.Join(dir, s.Meta))
	if err != nil {
		return &BackupError{Stream: s.Name, File: s.Meta, Problem: err.Error()}
	}
	if got := sha256.Sum256(meta); hex.EncodeToString(got[:]) != s.MetaSHA256 {
		return &BackupError{Stream: s.Name, File: s.Meta, Problem: fmt.Sprintf("its SHA-256 is %s, but the manifest says %s: the file was altered or damaged", hex.EncodeToString(got[:]), s.MetaSHA256)}
	}
	var cfg struct {
		Config struct {
			Name string `json:"name"`
		} `json:"config"`
	}
	if err := json.Unmarshal(meta, &cfg); err != nil || cfg.Config.Name != s.Name {
		return &BackupError{Stream: s.Name, File: s.Meta, Problem: fmt.Sprintf("not the config of stream %s (%v)", s.Name, err)}
	}
	path := filepath.Join(dir, s.Snapshot)
	size, sum, err := fileSHA256(path)
	if err != nil {
		return &BackupError{Stream: s.Name, File: s.Snapshot, Problem: err.Error()}
	}
	if size != s.Size || sum != s.SHA256 {
		return &BackupError{Stream: s.Name, File: s.Snapshot, Problem: fmt.Sprintf("%d bytes of SHA-256 %s, but the manifest says %d bytes of SHA-256 %s: the file was altered or damaged", size, sum, s.Size, s.SHA256)}
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	c, err := CheckSnapshot(f, nil)
	if err != nil {
		var be *BackupError
		if errors.As(err, &be) {
			be.Stream, be.File = s.Name, s.Snapshot
		}
		return err
	}
	if c.Format == FormatArchive && (c.Messages != s.Messages || c.State.LastSeq != s.LastSequence) {
		return &BackupError{Stream: s.Name, File: s.Snapshot, Problem: fmt.Sprintf("it holds %d messages up to sequence %d, but the manifest says %d up to %d", c.Messages, c.State.LastSeq, s.Messages, s.LastSequence)}
	}
	return nil
}

func fileSHA256(path string) (int64, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	return n, hex.EncodeToString(h.Sum(nil)), err
}

// RestoredStream is one stream as the server restored it.
type RestoredStream struct {
	Name  string
	State jetstream.StreamState
}

// Restore restores every stream of a backup that OpenBackup checked, in the
// manifest's order. It refuses, before restoring anything, when any of them
// exists on the server (ErrStreamExists): a restore never replaces a
// ledger. It checks each snapshot's SHA-256 again as it sends it, each
// restored stream's messages and last sequence against the manifest, and
// that the ledger's last event stands at its sequence.
func Restore(ctx context.Context, nc *nats.Conn, dir string, m *Manifest, progress func(RestoredStream)) error {
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	var exist []string
	for _, s := range m.Streams {
		_, err := js.Stream(ctx, s.Name)
		switch {
		case err == nil:
			exist = append(exist, s.Name)
		case !errors.Is(err, jetstream.ErrStreamNotFound):
			return fmt.Errorf("stream %s: %w", s.Name, err)
		}
	}
	if len(exist) > 0 {
		return fmt.Errorf("restore refused: the target already holds %s (%w): a restore never replaces a ledger; restore into a fresh folder or server", strings.Join(exist, ", "), ErrStreamExists)
	}
	for _, s := range m.Streams {
		st, err := restoreStream(ctx, nc, dir, s)
		if err != nil {
			return err
		}
		if progress != nil {
			progress(RestoredStream{Name: s.Name, State: st})
		}
	}
	if m.LastEvent == nil {
		return nil
	}
	st, err := js.Stream(ctx, DefaultStream)
	if err != nil {
		return fmt.Errorf("stream %s: %w", DefaultStream, err)
	}
	msg, err := st.GetMsg(ctx, m.LastEvent.Sequence)
	if err != nil {
		return fmt.Errorf("restored %s: the last event, %s at sequence %d: %w", DefaultStream, m.LastEvent.ID, m.LastEvent.Sequence, err)
	}
	var ev struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(msg.Data, &ev); err != nil || ev.ID != m.LastEvent.ID {
		return &BackupError{Stream: DefaultStream, Problem: fmt.Sprintf("the restored stream holds %q at sequence %d, where the backup's last event is %s", ev.ID, m.LastEvent.Sequence, m.LastEvent.ID)}
	}
	return nil
}

func restoreStream(ctx context.Context, nc *nats.Conn, dir string, s BackupStream) (jetstream.StreamState, error) {
	meta, err := os.ReadFile(filepath.Join(dir, s.Meta))
	if err != nil {
		return jetstream.StreamState{}, err
	}
	if got := sha256.Sum256(meta); hex.EncodeToString(got[:]) != s.MetaSHA256 {
		return jetstream.StreamState{}, &BackupError{Stream: s.Name, File: s.Meta, Problem: "it changed since it was checked"}
	}
	var cs struct {
		Config json.RawMessage `json:"config"`
		State  json.RawMessage `json:"state"`
	}
	if err := json.Unmarshal(meta, &cs); err != nil {
		return jetstream.StreamState{}, &BackupError{Stream: s.Name, File: s.Meta, Problem: err.Error()}
	}
	f, err := os.Open(filepath.Join(dir, s.Snapshot))
	if err != nil {
		return jetstream.StreamState{}, err
	}
	defer f.Close()
	h := sha256.New()
	st, err := RestoreStream(ctx, nc, cs.Config, cs.State, io.TeeReader(f, h))
	if err != nil {
		return st, err
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != s.SHA256 {
		return st, &BackupError{Stream: s.Name, File: s.Snapshot, Problem: fmt.Sprintf("it changed since it was checked (SHA-256 %s, not %s): stream %s was restored from it all the same; restore again into a fresh target", sum, s.SHA256, s.Name)}
	}
	short := st.Msgs != s.Messages || st.LastSeq != s.LastSequence
	if s.Sourced { // it may have caught up with its origin already
		short = st.Msgs < s.Messages || st.LastSeq < s.LastSequence
	}
	if short {
		return st, &BackupError{Stream: s.Name, Problem: fmt.Sprintf("restored with %d messages up to sequence %d, but the backup holds %d up to %d", st.Msgs, st.LastSeq, s.Messages, s.LastSequence)}
	}
	return st, nil
}
