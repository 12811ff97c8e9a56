package api

import (
	"errors"
	"net/http"
	"time"

	"promiseledger/access"
	"promiseledger/events"
	"promiseledger/web"
)

// counties answers whether a code is a county of the jurisdiction.
type counties struct{ j *events.Jurisdiction }

func (c counties) Has(code string) bool { _, ok := c.j.County(code); return ok }

// handleUsers is the admin's page of accounts (GET) and adds one (POST).
func (s *Server) handleUsers() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form := map[string]string{}
		var failure string
		status := http.StatusOK
		if r.Method == http.MethodPost {
			for _, k := range []string{"name", "office", "role", "county"} {
				form[k] = r.PostFormValue(k)
			}
			u, err := access.NewUser(access.UserRequest{Name: form["name"], Office: form["office"], Role: form["role"], County: form["county"], Password: r.PostFormValue("password")},
				counties{s.reads.Jurisdiction()}, time.Now())
			if err == nil {
				err = s.users.Add(u)
			}
			if err == nil {
				s.log.Info("user added", "user", u.Name, "office", u.Office, "role", u.Role, "by", visitorOf(r).user.Name)
				http.Redirect(w, r, "/users?done=add", http.StatusSeeOther)
				return
			}
			failure, status = err.Error(), http.StatusBadRequest
			if errors.Is(err, access.ErrUserExists) {
				status = http.StatusConflict
			}
		}
		s.renderStatus(w, r, status, "users", web.Words(lang(r))["users.title"], s.usersPage(r, form, failure))
	})
}

func (s *Server) usersPage(r *http.Request, form map[string]string, failure string) web.UsersPage {
	t := web.Words(lang(r))
	d := web.UsersPage{Error: failure, Form: form}
	for _, u := range s.users.List() {
		d.Users = append(d.Users, web.UserRow{Name: u.Name, Office: u.Office, Role: string(u.Role), County: u.County, Created: u.CreatedAt.Format(time.DateOnly), Active: u.Active()})
	}
	for _, role := range access.Roles {
		d.Roles = append(d.Roles, web.Choice{Value: string(role), Label: t["role."+string(role)], Selected: form["role"] == string(role)})
	}
	for _, c := range s.reads.Jurisdiction().Counties {
		d.Counties = append(d.Counties, web.Choice{Value: c.Code, Label: c.Name + " " + c.Code, Selected: form["county"] == c.Code})
	}
	return d
}

// handleUserChange disables an account or sets its password; either ends
// its sessions (they check the account at every request).
func (s *Server) handleUserChange(disable bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		var hash string
		var err error
		if !disable {
			hash, err = access.HashPassword(r.PostFormValue("password"))
		}
		if err == nil {
			err = s.users.Update(name, func(u *access.User) error {
				now := time.Now().UTC()
				if disable {
					u.DisabledAt = &now
				} else {
					u.PasswordHash, u.ChangedAt = hash, now
				}
				return nil
			})
		}
		if err != nil {
			status := http.StatusBadRequest
			if errors.Is(err, access.ErrNoUser) {
				status = http.StatusNotFound
			}
			s.renderStatus(w, r, status, "users", web.Words(lang(r))["users.title"], s.usersPage(r, map[string]string{}, err.Error()))
			return
		}
		s.log.Info("user changed", "user", name, "disabled", disable, "by", visitorOf(r).user.Name)
		http.Redirect(w, r, "/users?done=change", http.StatusSeeOther)
	})
}
