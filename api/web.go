package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"promiseledger/access"
	"promiseledger/imports"
	"promiseledger/web"
)

// Sessions keeps the web pages' sign-ins (package jsstore keeps them in a
// key-value bucket whose entries expire).
type Sessions interface {
	Create(ctx context.Context, u access.User, now time.Time) (string, access.Session, error)
	Lookup(ctx context.Context, id string, now time.Time) (access.Session, bool)
	Delete(ctx context.Context, id string) error
}

// Cookie names of the web pages.
const (
	sessionCookie = "pl_session"
	langCookie    = "pl_lang"
	loginCookie   = "pl_signin" // the sign-in form's CSRF token, before there is a session
)

// visitor is who a page request comes from: the principal, the person as
// the pages show them, and the session's CSRF token.
type visitor struct {
	p    access.Principal
	user access.User
	csrf string
	sid  string
}

type visitorKey struct{}

// internalKey marks a request the web pages make of the API on a signed-in
// person's behalf: authorize takes the principal from it instead of a bearer
// token. Only code in this package can set it.
type internalKey struct{}

func visitorOf(r *http.Request) visitor {
	v, _ := r.Context().Value(visitorKey{}).(visitor)
	return v
}

// pageHeaders are sent with every page: a strict Content-Security-Policy
// (no inline script, nothing from elsewhere, never framed), and no caching
// of what a signed-in person saw.
func pageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}

// lang is the page language: the switch's cookie, else Chinese.
func lang(r *http.Request) string {
	if c, err := r.Cookie(langCookie); err == nil && c.Value == "en" {
		return "en"
	}
	return "zh"
}

// secure reports whether cookies are to be sent back over TLS only: the
// request came over TLS, or the ledger is told it is behind a TLS proxy.
func (s *Server) secure(r *http.Request) bool { return r.TLS != nil || s.secureCookies }

func (s *Server) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true, Secure: s.secure(r), SameSite: http.SameSiteStrictMode})
}

// page lets a request through when a person is signed in (else to the
// sign-in page), their role may take the action, and — for a form — the
// form carries the session's CSRF token.
func (s *Server) page(action access.Action, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pageHeaders(w)
		if s.users == nil || s.sessions == nil {
			http.NotFound(w, r)
			return
		}
		if err := s.health(); err != nil {
			s.renderStatus(w, r, http.StatusServiceUnavailable, "error", "503", damageSummary(err))
			return
		}
		if ok, problem := s.readiness(r); !ok {
			w.Header().Set("Retry-After", "1")
			s.renderStatus(w, r, http.StatusServiceUnavailable, "error", "503", problem)
			return
		}
		c, err := r.Cookie(sessionCookie)
		var sess access.Session
		ok := err == nil
		if ok {
			sess, ok = s.sessions.Lookup(r.Context(), c.Value, time.Now())
		}
		var u access.User
		if ok {
			u, ok = s.users.Get(sess.User)
			ok = ok && u.Active() && u.ChangedAt.Equal(sess.Password) && (!u.Demo || s.demoAccounts)
		}
		if !ok {
			if r.Method != http.MethodGet {
				s.renderStatus(w, r, http.StatusForbidden, "error", web.Words(lang(r))["signin.title"], web.Words(lang(r))["signin.title"])
				return
			}
			http.Redirect(w, r, "/signin?back="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		v := visitor{p: u.Principal(), user: u, csrf: sess.CSRF, sid: c.Value}
		if r.Method == http.MethodPost {
			// A form is small; a workbook at most the import's limit.
			r.Body = http.MaxBytesReader(w, r.Body, imports.MaxFileBytes+1<<20)
			if err := r.ParseMultipartForm(8 << 20); err != nil && !errors.Is(err, http.ErrNotMultipart) {
				s.renderStatus(w, r, http.StatusBadRequest, "error", "400", err.Error())
				return
			}
			if subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(sess.CSRF)) != 1 {
				s.refused(r, v.p, http.StatusForbidden, "a form without this session's CSRF token")
				s.renderStatus(w, r, http.StatusForbidden, "error", "403", "CSRF")
				return
			}
		}
		if !v.p.May(action) {
			s.refused(r, v.p, http.StatusForbidden, "the "+string(v.p.Role)+" role may not "+string(action))
			t := web.Words(lang(r))
			s.renderStatus(w, r, http.StatusForbidden, "error", "403", t["forbidden"])
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), visitorKey{}, v)))
	})
}

// render writes a page for the request's visitor (if any) with status 200.
func (s *Server) render(w http.ResponseWriter, r *http.Request, name, title string, data any) {
	s.renderStatus(w, r, http.StatusOK, name, title, data)
}

func (s *Server) renderStatus(w http.ResponseWriter, r *http.Request, status int, name, title string, data any) {
	v := visitorOf(r)
	l := lang(r)
	p := web.Page{Lang: l, Title: title, CSRF: v.csrf, Path: r.URL.RequestURI(), Data: data}
	if v.user.Name != "" {
		county, _ := s.reads.Jurisdiction().County(v.user.County)
		may := map[string]bool{}
		for _, a := range access.Actions {
			may[string(a)] = v.p.May(a)
		}
		p.User = &web.Viewer{Name: v.user.Name, Office: v.user.Office, Role: string(v.user.Role), County: v.user.County, CountyName: county.Name, May: may}
	}
	if done := r.URL.Query().Get("done"); done != "" && status == http.StatusOK {
		p.Notice = web.Words(l)["saved"]
	}
	var b bytes.Buffer
	if err := web.Render(&b, name, p); err != nil {
		s.log.Error("render page", "page", name, "err", err)
		http.Error(w, "internal error; it has been logged", http.StatusInternalServerError)
		return
	}
	pageHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = b.WriteTo(w)
}

// dispatch asks the API for what a page needs, as the signed-in person:
// the same routes, checks and answers as a program gets with a token.
func (s *Server) dispatch(w http.ResponseWriter, r *http.Request, method, target string, body io.Reader, header http.Header) {
	v := visitorOf(r)
	req := r.Clone(context.WithValue(r.Context(), internalKey{}, v.p))
	u, _ := url.Parse(target)
	req.Method, req.URL, req.RequestURI, req.Host = method, u, u.RequestURI(), r.Host
	if body == nil {
		body = http.NoBody
	}
	req.Body, req.ContentLength = io.NopCloser(body), -1
	req.Header = http.Header{}
	for k, vs := range header {
		req.Header[k] = vs
	}
	req.Form, req.PostForm, req.MultipartForm = nil, nil, nil
	s.mux.ServeHTTP(w, req)
}

// recorded is an API answer kept in memory, for a page to show.
type recorded struct {
	status int
	header http.Header
	body   bytes.Buffer
}

func (r *recorded) Header() http.Header { return r.header }
func (r *recorded) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
func (r *recorded) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

// ask is dispatch with the answer kept.
func (s *Server) ask(r *http.Request, method, target string, body io.Reader, header http.Header) *recorded {
	rec := &recorded{header: http.Header{}}
	s.dispatch(rec, r, method, target, body, header)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return rec
}

// handleSignIn shows the sign-in form (GET) and signs a person in (POST):
// a wrong name or password is told alike, and each failure slows the next
// attempt for that account and for that address; ten in a row within a
// minute are refused unchecked.
func (s *Server) handleSignIn() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pageHeaders(w)
		if s.users == nil || s.sessions == nil {
			http.NotFound(w, r)
			return
		}
		t := web.Words(lang(r))
		if r.Method == http.MethodGet {
			token, err := randomToken()
			if err != nil {
				writeError(w, err)
				return
			}
			s.setCookie(w, r, loginCookie, token, 600)
			r = r.WithContext(context.WithValue(r.Context(), visitorKey{}, visitor{csrf: token}))
			s.render(w, r, "signin", t["signin.title"], web.SignIn{Back: localPath(r.URL.Query().Get("back"))})
			return
		}
		// A sign-in form is a few fields, never a file.
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
			s.renderStatus(w, r, http.StatusUnsupportedMediaType, "error", "415", "application/x-www-form-urlencoded")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
		name := strings.TrimSpace(r.PostFormValue("name"))
		c, err := r.Cookie(loginCookie)
		if err != nil || subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostFormValue("csrf"))) != 1 {
			s.renderStatus(w, r, http.StatusForbidden, "error", "403", "CSRF")
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), visitorKey{}, visitor{csrf: c.Value}))
		// Every attempt is counted before it is checked (attempts sent at
		// once count at once): ten a minute for an account, fifty for an
		// address (which, behind a proxy, many people share).
		addr, account := "signin:"+clientAddr(r), "signin-user:"+name
		if !s.failures.try(addr, 50) || !s.failures.try(account, 10) {
			s.refused(r, access.Principal{Person: name}, http.StatusTooManyRequests, "sign-in attempts blocked for a minute")
			s.renderStatus(w, r, http.StatusTooManyRequests, "signin", t["signin.title"], web.SignIn{Name: name, Error: t["signin.slow"], Back: r.URL.Query().Get("back")})
			return
		}
		// A password check takes 19 MiB: only so many at once.
		select {
		case s.hashing <- struct{}{}:
		case <-time.After(5 * time.Second):
			w.Header().Set("Retry-After", "1")
			s.renderStatus(w, r, http.StatusServiceUnavailable, "signin", t["signin.title"], web.SignIn{Name: name, Error: t["signin.slow"], Back: r.URL.Query().Get("back")})
			return
		}
		u, err := access.SignIn(s.users, name, r.PostFormValue("password"))
		<-s.hashing
		if err == nil && u.Demo && !s.demoAccounts {
			err = access.ErrBadSignIn
		}
		if err != nil {
			s.refused(r, access.Principal{Person: name}, http.StatusUnauthorized, "sign-in failed")
			s.failures.pause(r.Context(), account)
			s.renderStatus(w, r, http.StatusUnauthorized, "signin", t["signin.title"], web.SignIn{Name: name, Error: t["signin.failed"], Back: r.URL.Query().Get("back")})
			return
		}
		s.failures.forget(account)
		id, _, err := s.sessions.Create(r.Context(), u, time.Now())
		if err != nil {
			writeError(w, err)
			return
		}
		s.log.Info("signed in", "user", u.Name, "office", u.Office, "role", u.Role)
		s.setCookie(w, r, loginCookie, "", -1)
		s.setCookie(w, r, sessionCookie, id, int((12 * time.Hour).Seconds()))
		http.Redirect(w, r, localPath(r.URL.Query().Get("back")), http.StatusSeeOther)
	})
}

// localPath is back if it is a path of this site, else "/": a sign-in never
// sends a person elsewhere.
func localPath(back string) string {
	if !strings.HasPrefix(back, "/") || strings.HasPrefix(back, "//") || strings.ContainsRune(back, '\\') {
		return "/"
	}
	for _, r := range back {
		if r < 0x20 || r == 0x7f {
			return "/" // browsers drop tabs and line breaks: "/\t/evil" would be "//evil"
		}
	}
	return back
}

// handleSignOut ends the session.
func (s *Server) handleSignOut() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = s.sessions.Delete(r.Context(), visitorOf(r).sid)
		s.setCookie(w, r, sessionCookie, "", -1)
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
	})
}

// handleLang switches the page language and goes back.
func (s *Server) handleLang() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l := r.PathValue("lang")
		if l != "en" {
			l = "zh"
		}
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: l, Path: "/", MaxAge: 365 * 24 * 3600, Secure: s.secure(r), SameSite: http.SameSiteLaxMode})
		http.Redirect(w, r, localPath(r.URL.Query().Get("back")), http.StatusSeeOther)
	})
}

// handlePassword changes the signed-in person's password; every session of
// theirs ends with it.
func (s *Server) handlePassword() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := web.Words(lang(r))
		if r.Method == http.MethodGet {
			s.render(w, r, "password", t["password.title"], web.SignIn{})
			return
		}
		v := visitorOf(r)
		if !s.failures.try("signin-user:"+v.user.Name, 10) || !access.CheckPassword(v.user.PasswordHash, r.PostFormValue("old")) {
			s.failures.pause(r.Context(), "signin-user:"+v.user.Name)
			s.renderStatus(w, r, http.StatusBadRequest, "password", t["password.title"], web.SignIn{Error: t["signin.failed"]})
			return
		}
		hash, err := access.HashPassword(r.PostFormValue("new"))
		if err == nil {
			err = s.users.Update(v.user.Name, func(u *access.User) error {
				u.PasswordHash, u.ChangedAt = hash, time.Now().UTC()
				return nil
			})
		}
		if err != nil {
			s.renderStatus(w, r, http.StatusBadRequest, "password", t["password.title"], web.SignIn{Error: err.Error()})
			return
		}
		s.log.Info("password changed", "user", v.user.Name)
		_ = s.sessions.Delete(r.Context(), v.sid)
		s.setCookie(w, r, sessionCookie, "", -1)
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
	})
}

// randomToken is 32 random bytes, URL-safe.
func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
