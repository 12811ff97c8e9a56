package api

import (
	"errors"
	"net/http"
	"time"

	"promiseledger/access"
	"promiseledger/events"
)

// tokenView is a token record as the API shows it: never the hash.
type tokenView struct {
	Name      string       `json:"name"`
	Role      access.Role  `json:"role"`
	County    string       `json:"county,omitempty"`
	Expires   *events.Date `json:"expires"`
	CreatedAt time.Time    `json:"created_at"`
	RevokedAt *time.Time   `json:"revoked_at"`
	Active    bool         `json:"active"`
	Token     string       `json:"token,omitempty"` // only in the answer that made it
}

func (s *Server) viewToken(t access.Token) tokenView {
	return tokenView{Name: t.Name, Role: t.Role, County: t.County, Expires: t.Expires, CreatedAt: t.CreatedAt, RevokedAt: t.RevokedAt, Active: t.Active(s.reads.Today())}
}

func (s *Server) handleTokens() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out := []tokenView{}
		for _, t := range s.tokens.List() {
			out = append(out, s.viewToken(t))
		}
		encode(w, http.StatusOK, map[string]any{"tokens": out})
	})
}

func (s *Server) handleAddToken() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req access.TokenRequest
		if err := decode(w, r, &req); err != nil {
			writeError(w, err)
			return
		}
		bearer, t, err := access.MakeToken(req, s.reads.Jurisdiction(), s.reads.Now())
		if err != nil {
			writeError(w, err)
			return
		}
		if err := s.tokens.Add(t); err != nil {
			if errors.Is(err, access.ErrTokenExists) {
				writeError(w, &apiError{status: http.StatusConflict, Code: "token_exists", Field: "name", Message: "name: a token with this name exists; revoke it or choose another name"})
				return
			}
			writeError(w, err)
			return
		}
		s.log.Info("token added", "by", principal(r).Name, "name", t.Name, "role", t.Role, "county", t.County)
		v := s.viewToken(t)
		v.Token = bearer
		encode(w, http.StatusCreated, v)
	})
}

func (s *Server) handleRevokeToken() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		if err := s.tokens.Revoke(name, s.reads.Now()); err != nil {
			if errors.Is(err, access.ErrNoToken) {
				writeError(w, &apiError{status: http.StatusNotFound, Code: "not_found", Field: "name", Message: "no token named " + name})
				return
			}
			if errors.Is(err, access.ErrLastAdmin) {
				writeError(w, &apiError{status: http.StatusConflict, Code: "last_admin", Field: "name",
					Message: "name: " + name + " is the last admin token: revoked, it would leave nobody to manage tokens; add another admin token first"})
				return
			}
			writeError(w, err)
			return
		}
		s.log.Info("token revoked", "by", principal(r).Name, "name", name)
		for _, t := range s.tokens.List() {
			if t.Name == name {
				encode(w, http.StatusOK, s.viewToken(t))
				return
			}
		}
	})
}
