package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"promiseledger/audit"
	"promiseledger/internal/atomicfile"
	"promiseledger/jsstore"
)

const backupUsage = `Usage:
  ledger backup [--data DIR | --nats-url URL] [--with-seal-key] [--seal-key FILE] [--no-consumers] BACKUP_DIR
  ledger restore [--data DIR | --nats-url URL] [--pubkey KEY] [--seal-key FILE] BACKUP_DIR

backup snapshots every stream of the ledger with JetStream's own snapshots (the
events, the alerts, the auditors' mirror, the token, account, sign-in,
checkpoint and evidence-file buckets) into BACKUP_DIR, which must be empty or
absent: one folder per stream (stream.tar.s2 and backup.json, as the nats CLI
writes them) and manifest.json, written last, with each snapshot's SHA-256. On
--data, stop ` + "`ledger serve`" + ` first; on --nats-url the ledger may run.

The seal key (DATA/seal.key, or --seal-key) is not copied: keep it apart, as
its own backup. --with-seal-key copies it into BACKUP_DIR/seal.key (mode 0600);
whoever holds such a backup can then sign seals as the ledger.

restore checks every file against the manifest before restoring anything,
refuses when a stream of the backup exists in the target (it never replaces a
ledger), restores every stream, and verifies the result as ` + "`ledger audit verify`" + `
does: a restore that does not verify fails. It verifies against --pubkey, or
the public key the manifest names.
`

// backupCmd writes a backup of every stream of the ledger.
func backupCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var (
		c           connFlags
		sf          sealFlags
		withKey     bool
		noConsumers bool
	)
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, backupUsage, "\nFlags of backup:\n"); fs.PrintDefaults() }
	c.register(fs, getenv)
	fs.StringVar(&sf.keyFile, "seal-key", "", "the seal key file (default DATA/seal.key): its public key goes into the manifest")
	fs.BoolVar(&withKey, "with-seal-key", false, "also copy the private seal key into BACKUP_DIR/seal.key (mode 0600)")
	fs.BoolVar(&noConsumers, "no-consumers", false, "leave the streams' consumers out (alert deliveries then deliver every alert again)")
	positional, help, err := parseInterspersed(fs, args)
	if help || err != nil {
		return err
	}
	if len(positional) != 1 {
		fs.Usage()
		return errors.New("backup: one BACKUP_DIR is required")
	}
	if err := c.validate(); err != nil {
		return err
	}
	if c.natsURL == "" {
		if _, err := os.Stat(c.data); err != nil {
			return fmt.Errorf("--data: %w", err)
		}
	}
	dir := positional[0]
	keyPath := sf.path(c)
	key, keyErr := audit.LoadKey(keyPath)
	if keyErr != nil && withKey {
		return fmt.Errorf("--with-seal-key: %w", keyErr)
	}

	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	nc, closeNATS, err := connect(c, log)
	if err != nil {
		return err
	}
	defer closeNATS()
	var total int64
	m, err := jsstore.Backup(ctx, nc, dir, jsstore.BackupOptions{NoConsumers: noConsumers, Progress: func(s jsstore.BackupStream) {
		total += s.Size
		fmt.Fprintf(stdout, "%-24s %9d messages, last sequence %9d, %9s  sha256 %s\n", s.Name, s.Messages, s.LastSequence, size(s.Size), s.SHA256)
	}})
	if err != nil {
		return unfinished(dir, err)
	}

	// What the backup says of the seal key.
	var notes []string
	if keyErr == nil {
		pub := key.Public().(ed25519.PublicKey)
		id := audit.KeyID(pub)
		switch {
		case m.Seal.KeyID != "" && id != m.Seal.KeyID:
			if withKey {
				return unfinished(dir, fmt.Errorf("--with-seal-key: %s holds key %s, but the ledger's seals are signed by key %s", keyPath, id, m.Seal.KeyID))
			}
			notes = append(notes, fmt.Sprintf("%s holds key %s, but the ledger's seals are signed by key %s: that file is not the ledger's key.", keyPath, id, m.Seal.KeyID))
		case m.Seal.PublicKey == "": // no rotation: the first key is the one in force
			m.Seal.PublicKey = audit.PublicKeyText(pub)
		}
		if withKey {
			b, err := os.ReadFile(keyPath)
			if err == nil {
				err = writeNew(filepath.Join(dir, "seal.key"), b)
			}
			if err != nil {
				return unfinished(dir, fmt.Errorf("--with-seal-key: %w", err))
			}
			m.Seal.KeyFile = "seal.key"
		}
	}
	if err := m.Write(dir); err != nil {
		return unfinished(dir, err)
	}

	fmt.Fprintf(stdout, "backed up %d streams (%s) into %s", len(m.Streams), size(total), dir)
	if m.LastEvent != nil {
		fmt.Fprintf(stdout, ": the ledger's last event is %s, at sequence %d", m.LastEvent.ID, m.LastEvent.Sequence)
	}
	fmt.Fprintln(stdout)
	switch {
	case m.Seal.KeyFile != "":
		notes = append(notes, fmt.Sprintf("%s holds the ledger's PRIVATE seal key (mode 0600): whoever holds this backup can sign seals as the ledger. Keep it as safe as the key itself.", filepath.Join(dir, m.Seal.KeyFile)))
	case keyErr == nil:
		notes = append(notes, fmt.Sprintf("the seal key is NOT in this backup: keep a copy of %s apart from it. A restored ledger is served with --seal-key FILE, or with the key put back at DATA/seal.key; without it, `ledger serve` refuses to start.", keyPath))
	case m.Seal.PublicKey != "":
		notes = append(notes, fmt.Sprintf("the seal key is NOT in this backup, and %s could not be read (%v): keep a copy of the ledger's key apart from the backup.", keyPath, keyErr))
	case errors.Is(keyErr, os.ErrNotExist):
		notes = append(notes, fmt.Sprintf("there is no seal key at %s (give its place with --seal-key FILE): the backup holds no key and names no public key, so `ledger restore` will need --pubkey KEY.", keyPath))
	default:
		notes = append(notes, fmt.Sprintf("the seal key at %s could not be read (%v): the backup holds no key and names no public key, so `ledger restore` will need --pubkey KEY.", keyPath, keyErr))
	}
	if m.Seal.PublicKey != "" {
		notes = append(notes, fmt.Sprintf("restore verifies against the public key the manifest names: %s.", m.Seal.PublicKey))
	}
	for _, n := range notes {
		fmt.Fprintln(stdout, "NOTE", n)
	}
	return nil
}

// unfinished says that a backup folder was left without its manifest.
func unfinished(dir string, err error) error {
	if _, serr := os.Stat(filepath.Join(dir, jsstore.ManifestFile)); errors.Is(serr, os.ErrNotExist) && !errors.Is(err, jsstore.ErrBackupNotEmpty) {
		return fmt.Errorf("backup failed: %w (%s is an unfinished backup, without %s: remove it)", err, dir, jsstore.ManifestFile)
	}
	return fmt.Errorf("backup failed: %w", err)
}

// restoreCmd restores a backup into a target without the ledger's streams,
// then verifies it.
func restoreCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var (
		c      connFlags
		sf     sealFlags
		pubkey string
	)
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, backupUsage, "\nFlags of restore:\n"); fs.PrintDefaults() }
	c.register(fs, getenv)
	fs.StringVar(&pubkey, "pubkey", "", "the ledger's first public key, to verify the restore against (default: the one the backup's manifest names)")
	fs.StringVar(&sf.keyFile, "seal-key", "", "where to put the seal key when the backup holds it (default DATA/seal.key); without it in the backup, a key file to verify with")
	positional, help, err := parseInterspersed(fs, args)
	if help || err != nil {
		return err
	}
	if len(positional) != 1 {
		fs.Usage()
		return errors.New("restore: one BACKUP_DIR is required")
	}
	if err := c.validate(); err != nil {
		return err
	}
	dir := positional[0]
	m, err := jsstore.OpenBackup(dir)
	if err != nil {
		return fmt.Errorf("restore refused: %w", err)
	}
	var total int64
	for _, s := range m.Streams {
		total += s.Size
	}
	fmt.Fprintf(stdout, "checked the %d snapshots (%s) of %s against its manifest\n", len(m.Streams), size(total), dir)

	// The private key, when the backup holds it, and where it goes.
	var key []byte
	var keyDest string
	if m.Seal.KeyFile != "" {
		k, err := backupKey(dir, m)
		if err != nil {
			return fmt.Errorf("restore refused: %w", err)
		}
		key = k
		if sf.keyFile != "" || c.natsURL == "" {
			keyDest = sf.path(c)
			if held, err := audit.LoadKey(keyDest); err == nil {
				if id := audit.KeyID(held.Public().(ed25519.PublicKey)); id != m.Seal.KeyID {
					return fmt.Errorf("restore refused: %s holds key %s, not the backup's %s, and a restore does not replace a key", keyDest, id, m.Seal.KeyID)
				}
				keyDest = "" // already there
			} else if !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("restore refused: %w", err)
			}
		}
	}
	// The key to verify with.
	verifyKey, from := pubkey, "--pubkey"
	if verifyKey == "" && m.Seal.PublicKey != "" {
		verifyKey, from = m.Seal.PublicKey, "the backup's manifest"
	}
	if verifyKey == "" {
		if held, err := audit.LoadKey(sf.path(c)); err == nil {
			verifyKey, from = audit.PublicKeyText(held.Public().(ed25519.PublicKey)), sf.path(c)
		}
	}
	if verifyKey == "" {
		return errors.New("restore refused: the backup names no public key to verify the restored ledger against (it was made without the seal key at hand): give --pubkey KEY")
	}
	pub, err := audit.ParsePublicKey(verifyKey)
	if err != nil {
		return fmt.Errorf("restore refused: the public key from %s: %w", from, err)
	}

	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	nc, closeNATS, err := connect(c, log)
	if err != nil {
		return err
	}
	err = jsstore.Restore(ctx, nc, dir, m, func(r jsstore.RestoredStream) {
		fmt.Fprintf(stdout, "restored %-24s %9d messages, last sequence %9d\n", r.Name, r.State.Msgs, r.State.LastSeq)
	})
	closeNATS() // verification opens the folder again, as a restart would
	if err != nil {
		return err
	}
	if keyDest != "" {
		if err := writeNew(keyDest, key); err != nil {
			return fmt.Errorf("restore: the seal key: %w", err)
		}
		fmt.Fprintf(stdout, "the seal key %s was put at %s (mode 0600)\n", m.Seal.KeyID, keyDest)
	}

	fmt.Fprintf(stdout, "verifying the restored ledger as `ledger audit verify` does, from key %s (from %s):\n", audit.KeyID(pub), from)
	if err := auditVerify(ctx, c, sf, verifyKey, "", jsstore.DefaultStream, false, stdout, stderr); err != nil {
		return fmt.Errorf("restore failed: the restored ledger does not verify: %w", err)
	}
	fmt.Fprintf(stdout, "restored %d streams from %s", len(m.Streams), dir)
	if m.LastEvent != nil {
		fmt.Fprintf(stdout, ": the ledger's last event is %s, at sequence %d", m.LastEvent.ID, m.LastEvent.Sequence)
	}
	fmt.Fprintln(stdout)
	switch {
	case m.Seal.KeyID != "" && key == nil && c.natsURL == "":
		fmt.Fprintf(stdout, "NOTE the seal key is not in the backup: serve the restored ledger with --seal-key FILE (the file of key %s), or put the file at %s; without it, `ledger serve` refuses to start.\n", m.Seal.KeyID, sealFlags{}.path(c))
	case m.Seal.KeyID != "" && key == nil:
		fmt.Fprintf(stdout, "NOTE the seal key is not in the backup: serve the restored ledger with --seal-key FILE (the file of key %s).\n", m.Seal.KeyID)
	case key != nil && sf.keyFile == "" && c.natsURL != "":
		fmt.Fprintf(stdout, "NOTE the seal key stays in %s: give it to `ledger serve` with --seal-key.\n", filepath.Join(dir, m.Seal.KeyFile))
	}
	return nil
}

// backupKey reads the private key a backup holds, and checks that it is
// the key in force.
func backupKey(dir string, m *jsstore.Manifest) ([]byte, error) {
	if m.Seal.KeyFile != "seal.key" {
		return nil, fmt.Errorf("the manifest names the key file %q, not seal.key", m.Seal.KeyFile)
	}
	path := filepath.Join(dir, m.Seal.KeyFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	key, err := audit.LoadKey(path)
	if err != nil {
		return nil, err
	}
	if id := audit.KeyID(key.Public().(ed25519.PublicKey)); m.Seal.KeyID != "" && id != m.Seal.KeyID {
		return nil, fmt.Errorf("%s holds key %s, but the ledger's seals are signed by key %s", path, id, m.Seal.KeyID)
	}
	return b, nil
}

// writeNew writes a file that must not exist yet, readable by its owner
// only: whole or not at all, and synced.
func writeNew(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return atomicfile.Create(path, b, 0o600)
}

// size writes a byte count for people.
func size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
