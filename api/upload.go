package api

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
)

// uploadedFile reads the multipart field "file", at most max bytes, and
// the name it was sent with: evidence files and imported ledgers alike.
func uploadedFile(w http.ResponseWriter, r *http.Request, max int64) (data []byte, name string, err error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return nil, "", &apiError{status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Field: "Content-Type", Message: `Content-Type must be multipart/form-data, with the file in the field "file"`}
	}
	tooBig := &apiError{status: http.StatusRequestEntityTooLarge, Code: "body_too_large", Field: "file", Message: "file: must be at most " + strconv.FormatInt(max, 10) + " bytes"}
	r.Body = http.MaxBytesReader(w, r.Body, max+1<<20)
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, "", badRequest("validation_failed", "file", "file: %v", err)
	}
	for {
		part, err := mr.NextPart()
		if err != nil {
			var maxErr *http.MaxBytesError
			if errors.As(err, &maxErr) {
				return nil, "", tooBig
			}
			return nil, "", badRequest("validation_failed", "file", `file: the field "file" is required`)
		}
		if part.FormName() != "file" {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(part, max+1))
		if err != nil || int64(len(data)) > max {
			return nil, "", tooBig
		}
		if len(data) == 0 {
			return nil, "", badRequest("validation_failed", "file", "file: is empty")
		}
		return data, part.FileName(), nil
	}
}
