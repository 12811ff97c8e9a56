package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"promiseledger/events"
	"runtime"
	"runtime/debug"
	"sort"
	"time"

	"promiseledger/audit"
	"promiseledger/jsstore"
)

// sealFlags say where the seal key is and how often to seal.
type sealFlags struct {
	keyFile  string
	every    uint64
	interval time.Duration
}

func (s *sealFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.keyFile, "seal-key", "", "Ed25519 private key (PEM) that signs seals; default DATA/seal.key, created on first start")
	fs.Uint64Var(&s.every, "seal-every", 1000, "seal after this many new events")
	fs.DurationVar(&s.interval, "seal-interval", 10*time.Minute, "seal at least this often when there are new events")
}

func (s sealFlags) path(c connFlags) string {
	if s.keyFile != "" {
		return s.keyFile
	}
	return filepath.Join(c.data, "seal.key")
}

// key loads the seal key. It is created on first start only: while the
// stream holds seals, a key file that is missing or holds another key than
// the one in force is refused, never quietly replaced, for a new key would
// make every earlier seal read as not signed by the ledger's key.
func (s sealFlags) key(ctx context.Context, c connFlags, store *jsstore.Store, log *slog.Logger) (ed25519.PrivateKey, error) {
	inForce, at, err := store.SealKeyInForce(ctx)
	if err != nil {
		return nil, err
	}
	path := s.path(c)
	if inForce == "" {
		key, created, err := audit.LoadOrCreateKey(path)
		if err != nil {
			return nil, fmt.Errorf("--seal-key: %w", err)
		}
		if created {
			log.Info("a new seal key was created: keep it safe, outside the data folder too, and give auditors its public key", "file", path, "public_key", audit.PublicKeyText(key.Public().(ed25519.PublicKey)))
		}
		return key, nil
	}
	const howTo = "Restore the key file from its backup, or give its place with --seal-key FILE. " +
		"To change keys on purpose, run `ledger audit rotate-key --seal-key OLD --new-key NEW` (the ledger stopped): the old key signs the hand-over, which verification follows."
	key, err := audit.LoadKey(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("--seal-key: %s does not exist, but the ledger's seals are signed by key %s (the last at sequence %d), and a new key would make every earlier seal read as not signed by the ledger's key. %s", path, inForce, at, howTo)
	}
	if err != nil {
		return nil, fmt.Errorf("--seal-key: %w", err)
	}
	if id := audit.KeyID(key.Public().(ed25519.PublicKey)); id != inForce {
		return nil, fmt.Errorf("--seal-key: %s holds key %s, but the ledger's seals are signed by key %s (the last at sequence %d). %s", path, id, inForce, at, howTo)
	}
	return key, nil
}

// rotateKey hands sealing from the key in force to a new one (created in
// newKeyFile when absent): a rotation record signed by both is appended on
// the seal subject.
func rotateKey(ctx context.Context, c connFlags, sf sealFlags, newKeyFile string, stdout io.Writer, log *slog.Logger) error {
	if newKeyFile == "" {
		return errors.New("rotate-key: --new-key FILE is required")
	}
	store, _, closeStore, err := openStore(ctx, c, log)
	if err != nil {
		return err
	}
	defer closeStore()
	old, err := sf.key(ctx, c, store, log)
	if err != nil {
		return err
	}
	next, _, err := audit.LoadOrCreateKey(newKeyFile)
	if err != nil {
		return fmt.Errorf("--new-key: %w", err)
	}
	if audit.KeyID(next.Public().(ed25519.PublicKey)) == audit.KeyID(old.Public().(ed25519.PublicKey)) {
		return errors.New("rotate-key: the new key is the key in force")
	}
	rot, err := audit.NewKeyRotation(old, next, time.Now())
	if err != nil {
		return err
	}
	last, err := store.LastSequence(ctx)
	if err != nil {
		return err
	}
	seq, err := store.AppendKeyRotation(ctx, rot, last)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "seal key rotated at sequence %d: from %s to %s (public key %s).\nServe with --seal-key %s from now on; verifiers that hold the old public key follow the rotation.\n",
		seq, rot.OldKeyID, rot.NewKeyID, rot.NewKey, newKeyFile)
	return nil
}

const auditUsage = `Usage:
  ledger audit pubkey [--data DIR | --seal-key FILE]
  ledger audit verify [--data DIR | --nats-url URL [--stream LEDGER_AUDIT]] [--pubkey KEY]
      (--nats-url may carry the read-only auditor's credentials, nats://auditor:PASSWORD@host:4222,
       who reads the mirror LEDGER_AUDIT; KEY is the ledger's first key: key rotations are followed)
  ledger audit verify --file export.jsonl --pubkey KEY [--partial]
  ledger audit check-proof FILE --pubkey KEY
  ledger audit rotate-key [--data DIR | --nats-url URL] [--seal-key OLD] --new-key NEW
  ledger audit export [--url URL --token T] [--county C] [--from DATE] [--to DATE] [--format jsonl|csv]

KEY is the base64 public key (as "ledger audit pubkey" prints it), or a file holding it.
verify exits with status 1 when it finds a problem.
`

func auditCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, auditUsage)
		return errors.New("audit: a subcommand is required")
	}
	if isHelp(args[0]) {
		fmt.Fprint(stdout, auditUsage)
		return nil
	}
	fs := flag.NewFlagSet("audit "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, auditUsage, "\nFlags:\n"); fs.PrintDefaults() }
	var (
		c              connFlags
		sf             sealFlags
		cf             clientFlags
		pubkey, file   string
		newKey, stream string
		partial        bool
		county, format string
		from, to       string
	)
	switch args[0] {
	case "pubkey":
		c.register(fs, getenv)
		sf.register(fs)
	case "verify":
		c.register(fs, getenv)
		sf.register(fs)
		fs.StringVar(&pubkey, "pubkey", "", "the ledger's public key (default: from the seal key)")
		fs.StringVar(&file, "file", "", "verify a JSON Lines export instead of the stream")
		fs.BoolVar(&partial, "partial", false, "the export is of one county or a time range: check chains, not seals")
		fs.StringVar(&stream, "stream", jsstore.DefaultStream, "the stream to verify: "+jsstore.AuditMirror+" for an auditor reading over NATS")
	case "check-proof":
		fs.StringVar(&pubkey, "pubkey", "", "the ledger's public key")
	case "rotate-key":
		c.register(fs, getenv)
		sf.register(fs)
		fs.StringVar(&newKey, "new-key", "", "file of the new Ed25519 key (PEM); created when absent")
	case "export":
		cf.register(fs, getenv)
		fs.StringVar(&county, "county", "", "only this county's events (seals are then left out)")
		fs.StringVar(&from, "from", "", "events recorded on or after this date, YYYY-MM-DD")
		fs.StringVar(&to, "to", "", "events recorded on or before this date, YYYY-MM-DD")
		fs.StringVar(&format, "format", "jsonl", "jsonl or csv")
	default:
		fmt.Fprint(stderr, auditUsage)
		return fmt.Errorf("audit: unknown subcommand %q", args[0])
	}
	// Flags may come before or after the one argument (check-proof's FILE).
	positional, help, err := parseInterspersed(fs, args[1:])
	if help || err != nil {
		return err
	}
	if args[0] != "check-proof" && len(positional) > 0 {
		return fmt.Errorf("audit %s: unexpected argument %q", args[0], positional[0])
	}
	switch args[0] {
	case "pubkey":
		key, err := audit.LoadKey(sf.path(c))
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, audit.PublicKeyText(key.Public().(ed25519.PublicKey)))
		return nil
	case "verify":
		return auditVerify(ctx, c, sf, pubkey, file, stream, partial, stdout, stderr)
	case "rotate-key":
		if err := c.validate(); err != nil {
			return err
		}
		return rotateKey(ctx, c, sf, newKey, stdout, slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	case "check-proof":
		if len(positional) != 1 || pubkey == "" {
			return errors.New("check-proof: a proof FILE and --pubkey KEY are required")
		}
		return checkProof(positional[0], pubkey, stdout)
	}
	res, err := cf.get(ctx, "/api/v1/audit/export", query(map[string]string{"format": format, "county": county, "from": from, "to": to}))
	if err != nil {
		return err
	}
	defer res.Body.Close()
	_, err = io.Copy(stdout, res.Body)
	return err
}

func auditVerify(ctx context.Context, c connFlags, sf sealFlags, pubkey, file, stream string, partial bool, stdout, stderr io.Writer) error {
	var pub ed25519.PublicKey
	var err error
	if pubkey != "" {
		if pub, err = audit.ParsePublicKey(pubkey); err != nil {
			return err
		}
	} else if file != "" {
		return errors.New("verify --file: --pubkey is required: an export proves nothing without the key it is checked against")
	} else {
		key, err := audit.LoadKey(sf.path(c))
		if err != nil {
			return fmt.Errorf("the public key: give --pubkey, or --seal-key: %w", err)
		}
		pub = key.Public().(ed25519.PublicKey)
	}
	var fileProblems []audit.Problem
	var fileNote string
	defer debug.SetGCPercent(debug.SetGCPercent(audit.VerifyGC))
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var read func(add func(audit.Record)) error
	checkFiles := func() {}
	if file != "" {
		read = func(add func(audit.Record)) error {
			f, err := os.Open(file)
			if err != nil {
				return err
			}
			defer f.Close()
			sc := bufio.NewScanner(f)
			sc.Buffer(make([]byte, 1<<20), 16<<20)
			for line := 1; sc.Scan(); line++ {
				var rec audit.Record
				if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
					return fmt.Errorf("%s line %d: %w", file, line, err)
				}
				add(rec)
			}
			return sc.Err()
		}
	} else {
		if err := c.validate(); err != nil {
			return err
		}
		nc, closeNATS, err := connect(c, log)
		if err != nil {
			return err
		}
		defer closeNATS()
		store, err := jsstore.Attach(ctx, nc, jsstore.Config{Stream: stream, Logger: log})
		if err != nil {
			return err
		}
		if err := store.CheckDense(ctx); err != nil {
			return fmt.Errorf("verification stopped: %w", err)
		}
		target, err := store.LastSequence(ctx)
		if err != nil {
			return err
		}
		cited := map[string]uint64{} // digest → the sequence of the first event that cites it
		read = func(add func(audit.Record)) error {
			progress, finish := progressReporter(stderr, target, log)
			defer finish()
			return store.Records(ctx, func(r audit.Record) error {
				add(r)
				progress(r.Sequence, target)
				if !r.IsSeal() {
					var e struct {
						Data struct {
							Attachments []string `json:"attachments"`
						} `json:"data"`
					}
					if json.Unmarshal(r.Data, &e) == nil {
						for _, d := range e.Data.Attachments {
							if _, seen := cited[d]; !seen {
								cited[d] = r.Sequence
							}
						}
					}
				}
				return nil
			})
		}
		checkFiles = func() { fileProblems, fileNote = checkCitedFiles(ctx, store, cited) }
	}
	rep, passes, err := audit.Verify(pub, partial, runtime.NumCPU(), read)
	if err != nil {
		return err
	}
	if passes > 1 {
		fmt.Fprintln(stderr, "the first reading found something wrong: read again to say exactly what and where")
	}
	checkFiles()
	rep.Problems = append(rep.Problems, fileProblems...)
	fmt.Fprintf(stdout, "%d events in %d commitment histories, %d seals (key %s), %d events after the last seal\n", rep.Events, rep.Chains, rep.Seals, rep.KeyID, rep.Unsealed)
	for _, p := range rep.Problems {
		fmt.Fprintln(stdout, "PROBLEM", p)
	}
	if fileNote != "" {
		fmt.Fprintln(stdout, "NOTE", fileNote)
	}
	if !rep.OK() {
		if pubkey == "" && rep.Rotations > 0 {
			fmt.Fprintln(stdout, "NOTE the seal key was rotated, and without --pubkey verification starts from the key at hand, the one in force now; seals made before a rotation are checked from the ledger's first key: give it with --pubkey")
		}
		return fmt.Errorf("verification found %d problems", len(rep.Problems))
	}
	fmt.Fprintln(stdout, "ok: every event matches its hash and its history, and every seal matches the events it covers and is signed by the key")
	return nil
}

func checkProof(file, pubkey string, stdout io.Writer) error {
	pub, err := audit.ParsePublicKey(pubkey)
	if err != nil {
		return err
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var p struct {
		audit.Proof
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return fmt.Errorf("%s: not a proof: %w", file, err)
	}
	if p.Error != nil {
		return fmt.Errorf("%s holds the ledger's error answer, not a proof, so there is nothing to check (this says nothing about tampering): %s: %s", file, p.Error.Code, p.Error.Message)
	}
	if err := audit.CheckInclusion(p.Event, p.LeafIndex, p.TreeSize, p.AuditPath, p.Seal, pub); err != nil {
		return fmt.Errorf("the proof does not hold: %w", err)
	}
	var e struct {
		ID           string `json:"id"`
		Type         string `json:"type"`
		CommitmentID string `json:"commitment_id"`
	}
	_ = json.Unmarshal(p.Event, &e)
	fmt.Fprintf(stdout, "ok: event %s (%s of commitment %s) is event %d of the %d the ledger sealed at sequence %d, signed by key %s\n",
		e.ID, e.Type, e.CommitmentID, p.LeafIndex+1, p.TreeSize, p.Seal.Sequence, p.Seal.KeyID)
	return nil
}

// checkCitedFiles checks that every file the events cite is in the
// attachment bucket with the bytes its digest names.
func checkCitedFiles(ctx context.Context, store *jsstore.Store, cited map[string]uint64) ([]audit.Problem, string) {
	if len(cited) == 0 {
		return nil, ""
	}
	files, err := store.AttachAttachments(ctx)
	if err != nil {
		// The NATS auditor may not read the bucket (its reads would need
		// consumers beside the ledger's own): say so, rather than guess.
		return nil, fmt.Sprintf("%d cited files were not checked: the attachment bucket cannot be read here (%v)", len(cited), err)
	}
	var out []audit.Problem
	for digest, seq := range cited {
		_, _, gerr := files.Get(ctx, digest)
		switch {
		case errors.Is(gerr, events.ErrNotFound):
			out = append(out, audit.Problem{Kind: audit.AttachmentMissing, Sequence: seq, Detail: fmt.Sprintf("file %s is cited, but not in the attachment bucket", digest)})
		case gerr != nil:
			out = append(out, audit.Problem{Kind: audit.AttachmentAltered, Sequence: seq, Detail: fmt.Sprintf("file %s: %v", digest, gerr)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Sequence < out[j].Sequence })
	return out, ""
}
