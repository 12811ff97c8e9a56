package api

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"promiseledger/events"
)

// MaxAttachmentBytes is the largest evidence file accepted.
const MaxAttachmentBytes = 20 << 20

// Attachments stores evidence files by their SHA-256.
type Attachments interface {
	Put(ctx context.Context, data []byte, mediaType, name, uploader string) (events.Attachment, error)
	Info(ctx context.Context, digest string) (events.Attachment, error)
	Get(ctx context.Context, digest string) ([]byte, events.Attachment, error)
}

// citer is a command that cites files.
type citer interface{ Cites() []string }

// checkCited refuses a command that cites a file the store does not hold.
func (s *Server) checkCited(r *http.Request, cmd any) error {
	c, ok := cmd.(citer)
	if !ok || len(c.Cites()) == 0 {
		return nil
	}
	if s.attachments == nil {
		return badRequest("validation_failed", "attachments", "attachments: this ledger keeps no files")
	}
	for i, d := range c.Cites() {
		field := fmt.Sprintf("attachments[%d]", i)
		if !digest.MatchString(d) {
			return badRequest("validation_failed", field, "%s: must be the sha256 that POST /api/v1/attachments answered (64 lowercase hex digits)", field)
		}
		// A file cited must be one the principal may already see: uploaded
		// by it, or cited by a commitment it may read. Any other answers as
		// if there were no such file, so that citing cannot open another
		// county's file, nor tell whether one exists.
		at, err := s.attachments.Info(r.Context(), d)
		if err != nil && !errors.Is(err, events.ErrNotFound) {
			return err
		}
		if err != nil || !s.maySee(r, at) {
			return badRequest("validation_failed", field, "%s: no file %q that you uploaded or may see: upload it first (POST /api/v1/attachments)", field, d)
		}
	}
	return nil
}

var digest = regexp.MustCompile(`^[0-9a-f]{64}$`)

// maySee reports whether the principal uploaded the file or may read a
// commitment that cites it.
func (s *Server) maySee(r *http.Request, at events.Attachment) bool {
	p := principal(r)
	if slices.Contains(at.Uploaders, p.Name) {
		return true
	}
	for _, c := range s.reads.Live().Citing(at.SHA256) {
		if p.SeesCounty(c.County) {
			return true
		}
	}
	return false
}

// mediaType judges a file's type from its bytes, never its name: PDF, JPEG,
// PNG, and the zip-based OFD, DOCX and XLSX. Anything else is refused.
func mediaType(b []byte) (string, bool) {
	switch {
	case bytes.HasPrefix(b, []byte("%PDF-")):
		return "application/pdf", true
	case bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF}):
		return "image/jpeg", true
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return "image/png", true
	case bytes.HasPrefix(b, []byte("PK\x03\x04")):
		z, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return "", false
		}
		for _, f := range z.File {
			switch {
			case f.Name == "OFD.xml":
				return "application/ofd", true
			case strings.HasPrefix(f.Name, "word/"):
				return "application/vnd.openxmlformats-officedocument.wordprocessingml.document", true
			case strings.HasPrefix(f.Name, "xl/"):
				return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", true
			}
		}
	}
	return "", false
}

// fileName keeps a name a clerk recognises, without paths, controls or
// bidi overrides, at most 200 characters.
func fileName(name string) string {
	name = path.Base(strings.ReplaceAll(name, "\\", "/"))
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069) || r == '"' {
			return -1
		}
		return r
	}, name)
	if r := []rune(name); len(r) > 200 {
		name = string(r[:200])
	}
	if name == "." || name == "/" || name == "" {
		name = "file"
	}
	return name
}

// handleUpload stores one file (multipart field "file") and answers its
// digest, size, type and name.
func (s *Server) handleUpload() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.attachments == nil {
			writeError(w, &apiError{status: http.StatusServiceUnavailable, Code: "not_ready", Message: "this ledger keeps no files"})
			return
		}
		data, name, err := uploadedFile(w, r, MaxAttachmentBytes)
		if err != nil {
			writeError(w, err)
			return
		}
		kind, ok := mediaType(data)
		if !ok {
			writeError(w, badRequest("validation_failed", "file", "file: must be a PDF, OFD, JPEG, PNG, DOCX or XLSX file (judged from its bytes, not its name)"))
			return
		}
		at, err := s.attachments.Put(r.Context(), data, kind, fileName(name), principal(r).Name)
		if err != nil {
			writeError(w, err)
			return
		}
		w.Header().Set("Location", "/api/v1/attachments/"+at.SHA256)
		encode(w, http.StatusCreated, at)
	})
}

// handleDownload serves a file to whoever may see a commitment that cites
// it, or uploaded it; to anyone else it does not exist (404).
func (s *Server) handleDownload() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sha := r.PathValue("sha256")
		missing := &apiError{status: http.StatusNotFound, Code: "not_found", Message: "no attachment " + strconv.Quote(sha)}
		if s.attachments == nil {
			writeError(w, missing)
			return
		}
		if !digest.MatchString(sha) {
			writeError(w, missing)
			return
		}
		at, err := s.attachments.Info(r.Context(), sha)
		if err != nil {
			if errors.Is(err, events.ErrNotFound) {
				err = missing
			}
			writeError(w, err)
			return
		}
		if !s.maySee(r, at) {
			writeError(w, missing)
			return
		}
		data, at, err := s.attachments.Get(r.Context(), sha)
		if err != nil {
			writeError(w, err)
			return
		}
		w.Header().Set("Content-Type", at.MediaType)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": at.Name}))
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		_, _ = w.Write(data)
	})
}
