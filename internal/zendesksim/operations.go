package zendesksim

// endAccess ends what the user with id may do with the account's clients:
// their access and refresh tokens, unexchanged codes, remembered grants
// and Zendesk sessions are gone, so the next API call is 401, the next
// refresh invalid_grant, and signing in again shows the consent page.
func (s *Simulator) endAccess(userID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for token, t := range s.access {
		if t.grant.userID == userID {
			delete(s.access, token)
		}
	}
	for token, t := range s.refresh {
		if t.grant.userID == userID {
			delete(s.refresh, token)
		}
	}
	for code, c := range s.codes {
		if c.userID == userID {
			delete(s.codes, code)
		}
	}
	for g := range s.grants {
		if g.userID == userID {
			delete(s.grants, g)
		}
	}
	for id, u := range s.sessions {
		if u == userID {
			delete(s.sessions, id)
		}
	}
}
