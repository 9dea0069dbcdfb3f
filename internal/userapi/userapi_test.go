package userapi

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"zendesk-oauth-app/internal/zendesk"
	"zendesk-oauth-app/internal/zendesksim"
)

const redirectURL = "http://localhost:3000/zendesk/oauth/callback"

// fixture is a simulated Zendesk and a Refresher for its client, on a
// clock the test moves; both clocks are one, as Zendesk's and the app's
// agree when all is well.
type fixture struct {
	sim       *zendesksim.Server
	refresher *Refresher
	mu        sync.Mutex
	now       time.Time
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{now: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	f.sim = zendesksim.NewServer(zendesksim.Options{ClientID: "c", ClientSecret: "s", RedirectURIs: []string{redirectURL}, Now: f.clock})
	t.Cleanup(f.sim.Close)
	f.refresher = NewRefresher(&zendesk.Config{ClientID: "c", ClientSecret: "s", Scopes: "users:read", RedirectURL: redirectURL,
		BaseURL: func(string) string { return f.sim.URL }, Now: f.clock})
	return f
}

func (f *fixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

// signIn is a sign-in's code exchange: a new pair.
func (f *fixture) signIn(t *testing.T) zendesk.Token {
	t.Helper()
	z := f.refresher.zendesk
	verifier := zendesk.GenerateVerifier()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.PostForm(z.AuthCodeURL("acme", rand.Text(), verifier), url.Values{"decision": {"allow"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, _ := url.Parse(resp.Header.Get("Location"))
	tok, err := z.Exchange(context.Background(), "acme", back.Query().Get("code"), verifier)
	if err != nil {
		t.Fatal(err)
	}
	return *tok
}

// saves records what the save function was given.
type saves struct {
	mu     sync.Mutex
	tokens []zendesk.Token
	err    error // what save answers
}

func (s *saves) save(t *zendesk.Token) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens = append(s.tokens, *t)
	return s.err
}

func (s *saves) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.tokens)
}

func getMe(c *Client) error {
	var me struct{ User struct{ ID int64 } }
	if err := c.Get("/api/v2/users/me.json", &me); err != nil {
		return err
	}
	if me.User.ID == 0 {
		return errors.New("no user")
	}
	return nil
}

// A token within a minute of its end is refreshed before the call, and the
// new pair is saved before it is used; a fresher one is not.
func TestRefreshBeforeExpiry(t *testing.T) {
	f := newFixture(t)
	tok := f.signIn(t)
	var s saves
	c := f.refresher.Client(context.Background(), "acme", &tok, s.save)
	f.advance(28 * time.Minute)
	if err := getMe(c); err != nil || s.count() != 0 {
		t.Fatalf("two minutes before expiry: err %v, %d saves", err, s.count())
	}
	old := tok
	f.advance(90 * time.Second)
	if err := getMe(c); err != nil {
		t.Fatal(err)
	}
	if s.count() != 1 || s.tokens[0] != tok || tok.AccessToken == old.AccessToken || tok.RefreshToken == old.RefreshToken {
		t.Errorf("saved %d pairs; token rotated: %v", s.count(), tok.AccessToken != old.AccessToken)
	}
	if st := f.sim.Stats(); st[zendesksim.Refresh] != 1 || st[zendesksim.Me] != 2 {
		t.Errorf("stats %v: want one refresh", st)
	}
}

// Any 401 refreshes once and retries once; a second 401 asks for a new
// authorization.
func TestAny401(t *testing.T) {
	f := newFixture(t)
	tok := f.signIn(t)
	var s saves
	c := f.refresher.Client(context.Background(), "acme", &tok, s.save)
	f.sim.ExpireAccessTokens() // Zendesk ended the token early
	if err := getMe(c); err != nil || s.count() != 1 {
		t.Fatalf("after a 401: err %v, %d saves, want the call retried with a saved new pair", err, s.count())
	}
	if st := f.sim.Stats(); st[zendesksim.Refresh] != 1 || st[zendesksim.Me] != 2 {
		t.Errorf("stats %v", st)
	}

	// A Zendesk that refuses every token, fresh or not.
	f.sim.ExpireAccessTokens()
	refused := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/oauth/tokens" {
			f.sim.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"error":"Couldn't authenticate you"}`))
	}))
	defer refused.Close()
	f.refresher.zendesk.BaseURL = func(string) string { return refused.URL }
	var reauth *ReauthorizeError
	if err := getMe(c); !errors.As(err, &reauth) || !zendesk.Unauthorized(err) {
		t.Errorf("a fresh token refused: %v, want a ReauthorizeError with the 401", err)
	}
	if s.count() != 2 {
		t.Errorf("%d saves, want the second refresh's pair saved too", s.count())
	}
}

// Requests that carry one refresh token share one refresh: Zendesk's
// refresh tokens work once.
func TestConcurrentRefreshIsShared(t *testing.T) {
	f := newFixture(t)
	tok := f.signIn(t)
	f.advance(31 * time.Minute)
	var wg sync.WaitGroup
	got := make([]zendesk.Token, 10)
	for i := range got {
		wg.Go(func() {
			got[i] = tok
			var s saves
			if err := getMe(f.refresher.Client(context.Background(), "acme", &got[i], s.save)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := f.sim.Stats()[zendesksim.Refresh]; n != 1 {
		t.Errorf("%d refreshes, want 1", n)
	}
	for _, g := range got {
		if g != got[0] || g.AccessToken == tok.AccessToken {
			t.Fatalf("the requests hold different pairs")
		}
	}
}

// No refresh possible: a new authorization is needed.
func TestReauthorize(t *testing.T) {
	f := newFixture(t)
	var reauth *ReauthorizeError
	for name, prepare := range map[string]func(tok *zendesk.Token){
		"no refresh token": func(tok *zendesk.Token) { tok.RefreshToken = "" },
		"refresh token refused": func(tok *zendesk.Token) {
			f.refresher.zendesk.Refresh(context.Background(), "acme", *tok) // spent elsewhere
		},
	} {
		tok := f.signIn(t)
		prepare(&tok)
		f.advance(31 * time.Minute)
		var s saves
		if err := getMe(f.refresher.Client(context.Background(), "acme", &tok, s.save)); !errors.As(err, &reauth) || s.count() != 0 {
			t.Errorf("%s: %v and %d saves, want a ReauthorizeError", name, err, s.count())
		}
	}
}

// A pair that cannot be saved is revoked, and the call fails.
func TestUnsavedPairIsRevoked(t *testing.T) {
	f := newFixture(t)
	tok := f.signIn(t)
	f.advance(31 * time.Minute)
	s := saves{err: errors.New("too large")}
	err := getMe(f.refresher.Client(context.Background(), "acme", &tok, s.save))
	if err == nil || s.count() != 1 || !f.sim.Revoked(s.tokens[0].AccessToken) {
		t.Errorf("err %v, %d saves; the unsaved pair revoked: %v", err, s.count(), s.count() == 1 && f.sim.Revoked(s.tokens[0].AccessToken))
	}
	if st := f.sim.Stats(); st[zendesksim.Me] != 0 {
		t.Errorf("the unsaved pair was used: %v", st)
	}
}

// A refresh rotates the pair at once, so none starts without time for a
// whole call before the request's deadline: Zendesk is not asked, the
// pair is kept, and the error is a timeout.
func TestNoRefreshWithoutTime(t *testing.T) {
	f := newFixture(t)
	tok := f.signIn(t)
	f.advance(31 * time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), f.refresher.zendesk.Timeout()/2)
	defer cancel()
	var s saves
	before := tok
	err := getMe(f.refresher.Client(ctx, "acme", &tok, s.save))
	var ze *zendesk.Error
	if !errors.As(err, &ze) || ze.Kind != zendesk.TimedOut || tok != before || s.count() != 0 {
		t.Errorf("err %v, %d saves, token changed %v", err, s.count(), tok != before)
	}
	if n := f.sim.Stats()[zendesksim.Refresh]; n != 0 {
		t.Errorf("%d refreshes, want none", n)
	}
}

// Revoke says how the revocation went, checked: Zendesk has answered 204
// and left a token working.
func TestRevoke(t *testing.T) {
	for _, tc := range []struct {
		revocation zendesksim.Revocation
		fault      zendesksim.Fault
		prepare    func(tok *zendesk.Token)
		want       Revocation
	}{
		{zendesksim.Revokes, zendesksim.NoFault, nil, Revoked},
		{zendesksim.PretendsToRevoke, zendesksim.NoFault, nil, Kept},
		{zendesksim.RefusesRevocation, zendesksim.NoFault, nil, Refused},
		{zendesksim.Revokes, zendesksim.ServerError, nil, Failed},
		{zendesksim.Revokes, zendesksim.NoFault, func(tok *zendesk.Token) { tok.AccessToken, tok.RefreshToken = "expired", "" }, Unusable},
	} {
		f := newFixture(t)
		f.sim.Close()
		f.sim = zendesksim.NewServer(zendesksim.Options{ClientID: "c", ClientSecret: "s", RedirectURIs: []string{redirectURL}, Now: f.clock, Revocation: tc.revocation})
		t.Cleanup(f.sim.Close)
		tok := f.signIn(t)
		if tc.prepare != nil {
			tc.prepare(&tok)
		}
		f.sim.Inject(zendesksim.Revoke, tc.fault, 0)
		var s saves
		c := f.refresher.Client(context.Background(), "acme", &tok, s.save)
		if got, err := c.Revoke(); got != tc.want || (err == nil) != (got == Revoked || got == Unusable) {
			t.Errorf("%d/%d: %s (%v), want %s", tc.revocation, tc.fault, got, err, tc.want)
		}
		if tc.want == Revoked && getMe(c) == nil {
			t.Error("the revoked token still serves the client")
		}
	}
}
