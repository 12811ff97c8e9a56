package api_test

import (
	"archive/zip"
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
)

// upload posts a file as multipart field "file".
func (h *harness) upload(name string, data []byte) response {
	h.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		h.t.Fatal(err)
	}
	_, _ = fw.Write(data)
	_ = mw.Close()
	return h.do("POST", "/api/v1/attachments", body.String(), "Content-Type", mw.FormDataContentType())
}

// download fetches a file, raw.
func (h *harness) download(digest string) (int, http.Header, []byte) {
	h.t.Helper()
	req, _ := http.NewRequest("GET", h.url+"/api/v1/attachments/"+digest, nil)
	req.Header.Set("Authorization", "Bearer "+h.auth)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, b
}

func docx(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	z := zip.NewWriter(&b)
	w, _ := z.Create("word/document.xml")
	_, _ = w.Write([]byte("<w:document/>"))
	_ = z.Close()
	return b.Bytes()
}

// An evidence file uploaded, cited by a fulfilment, downloaded by its
// county, refused (404) to another county; bad files and citations refused.
func TestAttachments_UploadCiteDownload(t *testing.T) {
	h := newHarness(t)
	county := h.as("county-532301")
	pdf := []byte("%PDF-1.7\n土地出让合同 CX2020-33\n%%EOF\n")
	up := county.upload(`C:\扫描件\出让合同.exe.pdf`, pdf)
	if up.status != http.StatusCreated || up.str("media_type") != "application/pdf" || up.str("name") != "出让合同.exe.pdf" || len(up.str("sha256")) != 64 {
		t.Fatalf("upload: %d %s", up.status, up.raw)
	}
	digest := up.str("sha256")
	for who, want := range map[string]int{"auditor": http.StatusForbidden, "admin": http.StatusForbidden, "": http.StatusUnauthorized, "supervisor": http.StatusCreated} {
		if r := h.as(who).upload("x.pdf", pdf); r.status != want {
			t.Errorf("upload as %q: %d, want %d", who, r.status, want)
		}
	}
	if r := county.upload("合同.docx", docx(t)); r.str("media_type") != "application/vnd.openxmlformats-officedocument.wordprocessingml.document" {
		t.Fatalf("a docx: %s", r.raw)
	}
	for _, bad := range []struct{ name, data string }{
		{"合同.pdf", "MZ\x90\x00 not a pdf at all"}, // the name says pdf, the bytes do not
		{"empty.pdf", ""},
	} {
		if r := county.upload(bad.name, []byte(bad.data)); r.status != http.StatusBadRequest || r.errField() != "file" {
			t.Errorf("%s: %d %s", bad.name, r.status, r.raw)
		}
	}
	if r := county.do("POST", "/api/v1/attachments", `{"file":"x"}`); r.status != http.StatusUnsupportedMediaType {
		t.Errorf("JSON instead of multipart: %d", r.status)
	}
	if r := county.upload("big.pdf", append([]byte("%PDF-"), make([]byte, 20<<20)...)); r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("over 20 MiB: %d", r.status)
	}

	id := county.must(http.StatusCreated, "POST", "/api/v1/commitments", commitment("532301", "land", "300", "mu", "2020-03-15", "2027-12-31")).str("id")
	before := h.events()
	f := fulfilment("120", "mu", "2020-10-01")
	f["attachments"] = []string{strings.Repeat("a", 64)}
	if r := county.do("POST", "/api/v1/commitments/"+id+"/fulfillments", f); r.status != http.StatusBadRequest || r.errField() != "attachments[0]" {
		t.Fatalf("citing a file never uploaded: %d %s", r.status, r.raw)
	}
	f["attachments"] = []string{"not-a-digest"}
	if r := county.do("POST", "/api/v1/commitments/"+id+"/fulfillments", f); r.status != http.StatusBadRequest || r.errField() != "attachments[0]" {
		t.Fatalf("citing a malformed digest: %d %s", r.status, r.raw)
	}
	if h.events() != before {
		t.Fatal("a refused citation appended an event")
	}
	f["attachments"] = []string{digest}
	county.must(http.StatusCreated, "POST", "/api/v1/commitments/"+id+"/fulfillments", f)
	evs := historyOf(t, h, id)
	if data := evs[len(evs)-1]["data"].(map[string]any); data["attachments"].([]any)[0] != digest {
		t.Fatalf("the event does not carry the digest: %v", data)
	}

	status, header, body := county.download(digest)
	if status != http.StatusOK || !bytes.Equal(body, pdf) || header.Get("X-Content-Type-Options") != "nosniff" ||
		!strings.HasPrefix(header.Get("Content-Disposition"), "attachment") || header.Get("Content-Type") != "application/pdf" {
		t.Fatalf("download by its county: %d %v", status, header)
	}
	if status, _, _ := h.as("county-532322").download(digest); status != http.StatusNotFound {
		t.Fatalf("download by another county: %d", status)
	}
	if status, _, _ := h.as("auditor").download(digest); status != http.StatusOK {
		t.Fatalf("download by the auditor: %d", status)
	}
	// A file uploaded and never cited: its uploader only.
	other := h.as("county-532322").upload("草稿.pdf", []byte("%PDF-1.4 draft"))
	if status, _, _ := h.as("county-532322").download(other.str("sha256")); status != http.StatusOK {
		t.Fatalf("download by its uploader: %d", status)
	}
	if status, _, _ := county.download(other.str("sha256")); status != http.StatusNotFound {
		t.Fatalf("an uncited file by another county: %d", status)
	}
}

// Citing cannot open another county's file, nor tell whether one exists;
// the same bytes uploaded again belong to their second uploader too, under
// its own name; a malformed digest is a 400 naming it.
func TestAttachments_CitingIsNoKeyToAnotherCountysFile(t *testing.T) {
	h := newHarness(t)
	a, b := h.as("county-532301"), h.as("county-532322")
	pdf := []byte("%PDF-1.7 楚雄市的合同")
	digest := a.upload("a-name.pdf", pdf).str("sha256")
	idA := a.must(http.StatusCreated, "POST", "/api/v1/commitments", commitment("532301", "land", "300", "mu", "2020-03-15", "2027-12-31")).str("id")
	f := fulfilment("10", "mu", "2020-10-01")
	f["attachments"] = []string{digest}
	a.must(http.StatusCreated, "POST", "/api/v1/commitments/"+idA+"/fulfillments", f)

	idB := b.must(http.StatusCreated, "POST", "/api/v1/commitments", commitment("532322", "land", "300", "mu", "2020-03-15", "2027-12-31")).str("id")
	before := h.events()
	r := b.do("POST", "/api/v1/commitments/"+idB+"/fulfillments", f)
	if r.status != http.StatusBadRequest || r.errField() != "attachments[0]" {
		t.Fatalf("532322 citing 532301's file: %d %s", r.status, r.raw)
	}
	f["attachments"] = []string{""}
	if r := b.do("POST", "/api/v1/commitments/"+idB+"/fulfillments", f); r.status != http.StatusBadRequest || r.errField() != "attachments[0]" {
		t.Fatalf("an empty digest: %d %s", r.status, r.raw)
	}
	if h.events() != before {
		t.Fatal("a refused citation appended an event")
	}
	if status, _, _ := b.download(digest); status != http.StatusNotFound {
		t.Fatalf("532322 downloading 532301's file: %d", status)
	}
	// The same bytes, uploaded by 532322 too: its own name, and its to download.
	again := b.upload("b-name.pdf", pdf)
	if again.str("sha256") != digest || again.str("name") != "b-name.pdf" {
		t.Fatalf("the same bytes again: %s", again.raw)
	}
	if status, _, _ := b.download(digest); status != http.StatusOK {
		t.Fatalf("its second uploader downloading: %d", status)
	}
}
