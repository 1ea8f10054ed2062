package console

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/time/rate"
)

// session is one logged-in user, kept on the server: the cookie holds only its id, so a logout
// (or an expiry) ends it whatever the browser still holds.
type session struct {
	id      string
	user    string
	role    Role
	csrf    string
	expires time.Time
	// done is closed when the session ends (a logout, its expiry): what lasts longer than a
	// request, a log stream, ends with it.
	done chan struct{}
}

// sessionStore holds the live sessions by id.
type sessionStore struct {
	mu       sync.Mutex
	sessions map[string]*session
	ttl      time.Duration
	now      func() time.Time
}

func newSessionStore(ttl time.Duration, now func() time.Time) *sessionStore {
	return &sessionStore{sessions: map[string]*session{}, ttl: ttl, now: now}
}

// create starts a session for user, dropping the expired ones.
func (s *sessionStore) create(user string, role Role) *session {
	now := s.now()
	ss := &session{id: randomToken(), user: user, role: role, csrf: randomToken(), expires: now.Add(s.ttl), done: make(chan struct{})}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.sessions {
		if !now.Before(o.expires) {
			s.remove(o)
		}
	}
	s.sessions[ss.id] = ss
	return ss
}

// get returns the live session of that id.
func (s *sessionStore) get(id string) (*session, bool) {
	if id == "" {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.sessions[id]
	if !ok {
		return nil, false
	}
	if !s.now().Before(ss.expires) {
		s.remove(ss)
		return nil, false
	}
	return ss, true
}

// end removes a session: its cookie is refused from then on.
func (s *sessionStore) end(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ss, ok := s.sessions[id]; ok {
		s.remove(ss)
	}
}

// remove drops a live session and closes its done channel; s.mu is held.
func (s *sessionStore) remove(ss *session) {
	delete(s.sessions, ss.id)
	close(ss.done)
}

// randomToken is 32 random bytes, base64url: a session id or a CSRF token.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (it panics where no randomness is to be had)
	return base64.RawURLEncoding.EncodeToString(b)
}

// sameToken compares two tokens in constant time, their SHA-256 digests (of one length
// whatever the tokens', so that the time tells nothing of the expected token's length
// either); an empty one never matches.
func sameToken(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	da, db := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(da[:], db[:]) == 1
}

// Login rate limits. Each client address (an IPv6 one by its /64) may try a burst, then one
// attempt per interval, whatever the names; each user name from each client address likewise,
// less. Both count every attempt: the limit is on guessing, and a user does not log in five
// times a minute. Across addresses, each user name may fail a burst, then once per interval:
// that slows a guesser with many addresses, and counts failures only, so that a user who
// knows the password is never held back by it; its burst and interval are larger than one
// address can spend (userLoginBurst, userLoginInterval), so that one attacker cannot keep a
// user out from another address.
const (
	clientLoginBurst    = 10
	clientLoginInterval = 6 * time.Second
	userLoginBurst      = 5
	userLoginInterval   = 12 * time.Second
	userFailBurst       = 20
	userFailInterval    = 3 * time.Second
	// limiterIdle is how long an unused limiter is kept; a limiter idle that long is full again.
	limiterIdle = 10 * time.Minute
)

// loginLimiter rate-limits login attempts by key (a client address, a user name).
type loginLimiter struct {
	mu       sync.Mutex
	limiters map[string]*limiterEntry
	every    time.Duration
	burst    int
	now      func() time.Time
}

type limiterEntry struct {
	lim  *rate.Limiter
	last time.Time
	// loggedAt is when a refusal of the key was last logged; unlogged counts the refusals
	// since, which were not.
	loggedAt time.Time
	unlogged int
}

// verdict is what a limiter says of one attempt.
type verdict struct {
	// ok: the attempt may go ahead.
	ok bool
	// log: a refused attempt is to be logged (the first refusal of the key in an interval);
	// unlogged is then how many refusals of the key since the last one logged were not.
	log      bool
	unlogged int
}

func newLoginLimiter(every time.Duration, burst int, now func() time.Time) *loginLimiter {
	return &loginLimiter{limiters: map[string]*limiterEntry{}, every: every, burst: burst, now: now}
}

// allow takes one attempt for key. A refused attempt is to be logged at most once an interval
// for each key, so that a client trying as fast as it can does not flood the log.
func (l *loginLimiter) allow(key string) verdict { return l.take(key, true) }

// check is allow without taking the attempt: whether key has one left (spend takes it).
func (l *loginLimiter) check(key string) verdict { return l.take(key, false) }

// spend takes one attempt for key, if it has one left.
func (l *loginLimiter) spend(key string) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entry(key, now).lim.AllowN(now, 1)
}

func (l *loginLimiter) take(key string, spend bool) verdict {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.entry(key, now)
	if spend && e.lim.AllowN(now, 1) || !spend && e.lim.TokensAt(now) >= 1 {
		return verdict{ok: true}
	}
	if !e.loggedAt.IsZero() && now.Sub(e.loggedAt) < l.every {
		e.unlogged++
		return verdict{}
	}
	v := verdict{log: true, unlogged: e.unlogged}
	e.loggedAt, e.unlogged = now, 0
	return v
}

// entry is key's limiter, made full when it has none; l.mu is held.
func (l *loginLimiter) entry(key string, now time.Time) *limiterEntry {
	if len(l.limiters) > 1000 {
		for k, e := range l.limiters {
			if now.Sub(e.last) > limiterIdle {
				delete(l.limiters, k)
			}
		}
	}
	e, ok := l.limiters[key]
	if !ok {
		e = &limiterEntry{lim: rate.NewLimiter(rate.Every(l.every), l.burst)}
		l.limiters[key] = e
	}
	e.last = now
	return e
}

// newDummyHash returns the hash checked against when the user name is unknown, so that a wrong
// name takes as long to refuse as a wrong password: a bcrypt hash at the highest cost among
// the users' hashes (bcrypt's time grows with the cost), made on first use.
func newDummyHash(users []User) func() []byte {
	cost := bcrypt.MinCost
	for _, u := range users {
		if c, err := bcrypt.Cost([]byte(u.PasswordHash.Value())); err == nil && c > cost {
			cost = c
		}
	}
	return sync.OnceValue(func() []byte {
		h, err := bcrypt.GenerateFromPassword([]byte("logshipper console: no such user"), cost)
		if err != nil {
			panic(err) // only for a password longer than 72 bytes or a cost out of range, which Cost does not return
		}
		return h
	})
}

// tokenUser is the user a login with the token is; Validate refuses a user of that name.
const tokenUser = "token"

// authenticate checks a name and password against the users, or a token against the token;
// it returns the user's name and role.
func (s *Server) authenticate(name, password, token string) (string, Role, bool) {
	if token != "" {
		if s.token != "" && sameToken(token, s.token) {
			return tokenUser, RoleAdmin, true
		}
		return "", "", false
	}
	u, ok := s.users[name]
	hash := s.dummyHash()
	if ok {
		hash = []byte(u.PasswordHash.Value())
	}
	if err := bcrypt.CompareHashAndPassword(hash, []byte(password)); err != nil || !ok || password == "" {
		return "", "", false
	}
	return u.Name, u.Role, true
}
