package jsstore_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/s2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"promiseledger/events"
	"promiseledger/internal/natstest"
	"promiseledger/jsstore"
)

func connect(t *testing.T, emb *jsstore.Embedded) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := emb.Connect(t.Name())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

// sameMessages checks that a stream on two servers holds the same messages
// at the same sequences, and the same gaps. It asks each stream itself (not
// a direct get, which a mirror may answer for its origin).
func sameMessages(t *testing.T, a, b *nats.Conn, stream string, last uint64) {
	t.Helper()
	get := func(nc *nats.Conn, seq uint64) string {
		m, err := nc.Request("$JS.API.STREAM.MSG.GET."+stream, fmt.Appendf(nil, `{"seq":%d}`, seq), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var r struct {
			Message json.RawMessage `json:"message"`
			Error   *struct {
				ErrCode int `json:"err_code"`
			} `json:"error"`
		}
		if err := json.Unmarshal(m.Data, &r); err != nil {
			t.Fatal(err)
		}
		if r.Error != nil {
			return fmt.Sprintf("error %d", r.Error.ErrCode)
		}
		return string(r.Message)
	}
	for seq := uint64(1); seq <= last; seq++ {
		if ma, mb := get(a, seq), get(b, seq); ma != mb {
			t.Fatalf("%s sequence %d differs:\n%.300s\n%.300s", stream, seq, ma, mb)
		}
	}
}

// A stream's snapshot, restored on another server, holds the same messages
// at the same sequences, with the same headers and gaps, and its durable
// consumer; the server refuses to restore over it.
func TestSnapshotStream_RoundTrip(t *testing.T) {
	ctx := context.Background()
	ncA, jsA := connect(t, natstest.Start(t, ""))
	src, err := jsA.CreateStream(ctx, jetstream.StreamConfig{Name: "T", Subjects: []string{"t.>"}, Storage: jetstream.FileStorage})
	if err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("四十亩地"), 20_000) // 240 kB: more than one chunk
	for i := 1; i <= 300; i++ {
		msg := &nats.Msg{Subject: fmt.Sprintf("t.%d", i%7), Header: nats.Header{"Ledger-Event-Type": []string{fmt.Sprint(i)}}, Data: fmt.Appendf(nil, `{"n":%d}`, i)}
		if i%50 == 0 {
			msg.Data = append(msg.Data, big...)
		}
		if _, err := jsA.PublishMsg(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
	for _, seq := range []uint64{1, 17, 18, 300} { // gaps, at the start and the end too
		if err := src.DeleteMsg(ctx, seq); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := src.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "reader", AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
		t.Fatal(err)
	}

	var buf bytes.Buffer
	snap, err := jsstore.SnapshotStream(ctx, ncA, "T", &buf, jsstore.SnapshotOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := snap.Contents
	if c.Format != jsstore.FormatArchive || c.Messages != 296 || c.FirstSeq != 2 || c.LastSeq != 299 || c.State.LastSeq != 300 || c.Consumers != 1 {
		t.Fatalf("contents: %+v", c)
	}

	ncB, jsB := connect(t, natstest.Start(t, ""))
	st, err := jsstore.RestoreStream(ctx, ncB, snap.Config, snap.State, bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if st.Msgs != 296 || st.FirstSeq != 2 || st.LastSeq != 300 {
		t.Fatalf("restored state: %+v", st)
	}
	dst, err := jsB.Stream(ctx, "T")
	if err != nil {
		t.Fatal(err)
	}
	sameMessages(t, ncA, ncB, "T", 300)
	if _, err := dst.Consumer(ctx, "reader"); err != nil {
		t.Fatalf("the durable consumer: %v", err)
	}
	// The next message goes on from the same sequence.
	if ack, err := jsB.Publish(ctx, "t.1", []byte("next")); err != nil || ack.Sequence != 301 {
		t.Fatalf("publish after the restore: %v %+v", err, ack)
	}

	_, err = jsstore.RestoreStream(ctx, ncB, snap.Config, snap.State, bytes.NewReader(buf.Bytes()))
	if !errors.Is(err, jsstore.ErrStreamExists) {
		t.Fatalf("a restore over an existing stream: %v", err)
	}
}

// Whatever point a snapshot is cut at, or whichever byte is changed, the
// check refuses it: the S2 checksums and the archive's end-of-backup entry.
func TestCheckSnapshot_RefusesShortOrDamaged(t *testing.T) {
	ctx := context.Background()
	nc, js := connect(t, natstest.Start(t, ""))
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "T", Subjects: []string{"t.>"}}); err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		if _, err := js.Publish(ctx, "t.x", fmt.Appendf(nil, "message %d %s", i, strings.Repeat("x", i))); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := jsstore.SnapshotStream(ctx, nc, "T", &buf, jsstore.SnapshotOptions{}); err != nil {
		t.Fatal(err)
	}
	whole := buf.Bytes()
	if c, err := jsstore.CheckSnapshot(bytes.NewReader(whole), nil); err != nil || c.Messages != 200 {
		t.Fatalf("the whole snapshot: %+v %v", c, err)
	}
	for cut := 0; cut < len(whole); cut += 1 + len(whole)/97 {
		if _, err := jsstore.CheckSnapshot(bytes.NewReader(whole[:cut]), nil); !errors.Is(err, jsstore.ErrBackupDamaged) {
			t.Fatalf("cut at %d of %d bytes: %v", cut, len(whole), err)
		}
	}
	// A few bits of an S2 encoding change nothing it decodes to (the
	// manifest's SHA-256 of the file catches those); any other change is
	// refused.
	decoded := func(b []byte) []byte {
		d, _ := io.ReadAll(s2.NewReader(bytes.NewReader(b)))
		return d
	}
	original := decoded(whole)
	for i := 0; i < len(whole); i += 11 {
		changed := bytes.Clone(whole)
		changed[i] ^= 0x20
		_, err := jsstore.CheckSnapshot(bytes.NewReader(changed), nil)
		if !errors.Is(err, jsstore.ErrBackupDamaged) && (err != nil || !bytes.Equal(decoded(changed), original)) {
			t.Fatalf("byte %d changed: %v", i, err)
		}
	}
	if _, err := jsstore.CheckSnapshot(bytes.NewReader(append(bytes.Clone(whole), whole...)), nil); !errors.Is(err, jsstore.ErrBackupDamaged) {
		t.Fatalf("a snapshot followed by more: %v", err)
	}
}

// ledgerBackup fills a ledger with its mirror, alerts, tokens and
// checkpoints, backs it up into a new folder and returns the folder, the
// manifest and the source's streams.
func ledgerBackup(t *testing.T) (string, *jsstore.Manifest, *nats.Conn, jetstream.JetStream) {
	t.Helper()
	ctx := context.Background()
	emb := natstest.Start(t, "")
	st, nc := openWithMirror(t, emb)
	if _, err := st.OpenAlerts(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := st.OpenTokens(ctx); err != nil {
		t.Fatal(err)
	}
	cps, err := st.OpenCheckpoints(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := cps.Save(ctx, "commitments", []byte(`{"sequence":40}`)); err != nil {
		t.Fatal(err)
	}
	var last events.Event
	for range 20 {
		c := newID(t)
		first, err := st.Append(ctx, newEvent(t, c, events.CommitmentMadeType, ""), 0)
		if err != nil {
			t.Fatal(err)
		}
		last = newEvent(t, c, events.FulfillmentRecordedType, "")
		if _, err := st.Append(ctx, last, first.Sequence); err != nil {
			t.Fatal(err)
		}
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	waitMirror(t, js, 40)

	dir := filepath.Join(t.TempDir(), "backup")
	var told []string
	m, err := jsstore.Backup(ctx, nc, dir, jsstore.BackupOptions{Progress: func(s jsstore.BackupStream) { told = append(told, s.Name) }})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Write(dir); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range m.Streams {
		names = append(names, s.Name)
	}
	// Restore order: the mirror after its origin. Snapshot order: the
	// mirror before it, the checkpoints before the events.
	if got := strings.Join(names, " "); got != "ALERTS KV_LEDGER_TOKENS LEDGER OBJ_LEDGER_CHECKPOINTS LEDGER_AUDIT" {
		t.Fatalf("the manifest's streams: %s", got)
	}
	if got := strings.Join(told, " "); got != "LEDGER_AUDIT ALERTS OBJ_LEDGER_CHECKPOINTS KV_LEDGER_TOKENS LEDGER" {
		t.Fatalf("the snapshots' order: %s", got)
	}
	if m.LastEvent == nil || m.LastEvent.Sequence != 40 || m.LastEvent.ID != last.ID {
		t.Fatalf("last event %+v, want 40 %s", m.LastEvent, last.ID)
	}
	return dir, m, nc, js
}

func waitMirror(t *testing.T, js jetstream.JetStream, want uint64) {
	t.Helper()
	for i := 0; ; i++ {
		mirror, err := js.Stream(context.Background(), jsstore.AuditMirror)
		if err != nil {
			t.Fatal(err)
		}
		if mirror.CachedInfo().State.LastSeq >= want {
			return
		}
		if i == 500 {
			t.Fatalf("the mirror holds %d messages, not %d", mirror.CachedInfo().State.LastSeq, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Every stream of the ledger, backed up and restored on a fresh server,
// holds the same messages at the same sequences; the restored mirror goes
// on mirroring; a second restore, or a backup into a folder that holds
// something, is refused.
func TestBackup_RestoresEveryStreamOfTheLedger(t *testing.T) {
	ctx := context.Background()
	dir, m, ncA, jsA := ledgerBackup(t)
	for _, s := range m.Streams {
		if s.Messages == 0 && s.Name != jsstore.AlertStream && s.Name != "KV_"+jsstore.DefaultTokenBucket {
			t.Errorf("%s backed up empty: %+v", s.Name, s)
		}
		if fi, err := os.Stat(filepath.Join(dir, s.Snapshot)); err != nil || fi.Mode().Perm() != 0o600 || fi.Size() != s.Size {
			t.Errorf("%s: %v %v", s.Snapshot, err, fi)
		}
	}
	checked, err := jsstore.OpenBackup(dir)
	if err != nil {
		t.Fatal(err)
	}

	emb := natstest.Start(t, "")
	nc, jsB := connect(t, emb)
	var restored []string
	if err := jsstore.Restore(ctx, nc, dir, checked, func(r jsstore.RestoredStream) { restored = append(restored, r.Name) }); err != nil {
		t.Fatal(err)
	}
	if len(restored) != len(m.Streams) {
		t.Fatalf("restored %v", restored)
	}
	for _, s := range m.Streams {
		a, err := jsA.Stream(ctx, s.Name)
		if err != nil {
			t.Fatal(err)
		}
		b, err := jsB.Stream(ctx, s.Name)
		if err != nil {
			t.Fatal(err)
		}
		sa, sb := a.CachedInfo().State, b.CachedInfo().State
		// (An empty stream restored says its first sequence is 1, not 0.)
		if sa.Msgs != sb.Msgs || sa.LastSeq != sb.LastSeq || (sa.Msgs > 0 && sa.FirstSeq != sb.FirstSeq) {
			t.Fatalf("%s: %+v, restored %+v", s.Name, sa, sb)
		}
		sameMessages(t, ncA, nc, s.Name, sa.LastSeq)
	}
	// The ledger opens on the restored streams, and the mirror follows it.
	st, err := jsstore.Open(ctx, nc, jsstore.Config{AuditMirror: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Append(ctx, newEvent(t, newID(t), events.CommitmentMadeType, ""), 0); err != nil {
		t.Fatal(err)
	}
	waitMirror(t, jsB, 41)
	cps, err := st.OpenCheckpoints(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := cps.Load(ctx, "commitments"); err != nil || string(b) != `{"sequence":40}` {
		t.Fatalf("the checkpoint: %q %v", b, err)
	}

	err = jsstore.Restore(ctx, nc, dir, checked, nil)
	if !errors.Is(err, jsstore.ErrStreamExists) || !strings.Contains(err.Error(), "LEDGER") {
		t.Fatalf("a restore over a ledger: %v", err)
	}
	if _, err := jsstore.Backup(ctx, nc, dir, jsstore.BackupOptions{}); !errors.Is(err, jsstore.ErrBackupNotEmpty) {
		t.Fatalf("a backup into a full folder: %v", err)
	}
}

// A backup whose snapshot, config or manifest is altered, or whose
// snapshot is cut short and its manifest made to match, is refused before
// anything is restored.
func TestOpenBackup_RefusesAlteredFiles(t *testing.T) {
	dir, _, _, _ := ledgerBackup(t)
	copyDir := func(t *testing.T) string {
		t.Helper()
		to := filepath.Join(t.TempDir(), "copy")
		if err := os.CopyFS(to, os.DirFS(dir)); err != nil {
			t.Fatal(err)
		}
		return to
	}
	manifest := func(t *testing.T, d string, change func(m *jsstore.Manifest)) {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(d, jsstore.ManifestFile))
		if err != nil {
			t.Fatal(err)
		}
		var m jsstore.Manifest
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		change(&m)
		if b, err = json.Marshal(m); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, jsstore.ManifestFile), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	snapshot := filepath.Join("LEDGER", jsstore.SnapshotFile)
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, d string)
		want   string
	}{
		{"a byte of the snapshot", func(t *testing.T, d string) {
			b, _ := os.ReadFile(filepath.Join(d, snapshot))
			b[len(b)/2] ^= 1
			if err := os.WriteFile(filepath.Join(d, snapshot), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}, "bytes of SHA-256"},
		{"the config", func(t *testing.T, d string) {
			p := filepath.Join(d, "LEDGER", jsstore.StreamMetaFile)
			b, _ := os.ReadFile(p)
			if err := os.WriteFile(p, bytes.Replace(b, []byte(`"deny_delete": true`), []byte(`"deny_delete": false`), 1), 0o600); err != nil {
				t.Fatal(err)
			}
		}, "LEDGER/backup.json: its SHA-256"},
		{"a snapshot cut short, its manifest made to match", func(t *testing.T, d string) {
			p := filepath.Join(d, snapshot)
			b, _ := os.ReadFile(p)
			b = b[:len(b)-40]
			if err := os.WriteFile(p, b, 0o600); err != nil {
				t.Fatal(err)
			}
			manifest(t, d, func(m *jsstore.Manifest) {
				for i := range m.Streams {
					if m.Streams[i].Name == "LEDGER" {
						size, sum := fileSum(t, p)
						m.Streams[i].Size, m.Streams[i].SHA256 = size, sum
					}
				}
			})
		}, "LEDGER/stream.tar.s2: the snapshot"},
		{"the manifest's message count", func(t *testing.T, d string) {
			manifest(t, d, func(m *jsstore.Manifest) {
				for i := range m.Streams {
					if m.Streams[i].Name == "LEDGER" {
						m.Streams[i].Messages--
					}
				}
			})
		}, "but the manifest says 39"},
		{"a snapshot outside its folder", func(t *testing.T, d string) {
			manifest(t, d, func(m *jsstore.Manifest) { m.Streams[0].Snapshot = "../../etc/passwd" })
		}, "not where a backup puts them"},
		{"no manifest", func(t *testing.T, d string) {
			if err := os.Remove(filepath.Join(d, jsstore.ManifestFile)); err != nil {
				t.Fatal(err)
			}
		}, "unfinished"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := copyDir(t)
			tc.change(t, d)
			_, err := jsstore.OpenBackup(d)
			if !errors.Is(err, jsstore.ErrBackupDamaged) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrBackupDamaged with %q", err, tc.want)
			}
		})
	}
}

func fileSum(t *testing.T, path string) (int64, string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return int64(len(b)), fmt.Sprintf("%x", sha256.Sum256(b))
}

// A snapshot of an older server, an S2-compressed tar, is read through to
// its end too; one cut short is refused.
func TestCheckSnapshot_Tar(t *testing.T) {
	var buf bytes.Buffer
	zw := s2.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, f := range []struct{ name, body string }{{"meta.inf", `{"name":"T"}`}, {"msgs/1.blk", strings.Repeat("消息", 5000)}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o600, Size: int64(len(f.body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, f.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if c, err := jsstore.CheckSnapshot(bytes.NewReader(buf.Bytes()), nil); err != nil || c.Format != jsstore.FormatTar {
		t.Fatalf("a whole tar: %+v %v", c, err)
	}
	// Cut inside the second file.
	var cut bytes.Buffer
	zw = s2.NewWriter(&cut)
	tw = tar.NewWriter(zw)
	body := strings.Repeat("消息", 5000)
	_ = tw.WriteHeader(&tar.Header{Name: "msgs/1.blk", Mode: 0o600, Size: int64(len(body)), Typeflag: tar.TypeReg})
	_, _ = io.WriteString(tw, body[:len(body)/2])
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := jsstore.CheckSnapshot(bytes.NewReader(cut.Bytes()), nil); !errors.Is(err, jsstore.ErrBackupDamaged) {
		t.Fatalf("a tar cut short: %v", err)
	}
}
