package e2e

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The audit's flood and the bound.
const (
	tricklers      = 1050             // sockets trickling a request body at once
	trickleLength  = 100_000          // the Content-Length each of them announces
	trickleWorkers = 8                // goroutines that pace them all
	answerBound    = 2 * time.Second  // how long a new client may wait for its answer
	appReadTimeout = 10 * time.Second // the app's ReadTimeout (server.go's newServer)
	probePace      = 250 * time.Millisecond
)

// TestTrickledBodiesStarveNoOne replays the audit that found new clients
// locked out: 1,050 sockets each send the headers of a sign-out with a
// Content-Length of 100,000 and one byte of body, then trickle a byte a
// second, and reopen whenever the server closes them. Meanwhile a new
// client, on a fresh connection each time, asks for /healthz and for the
// sign-in page every quarter second; every answer must arrive within 2 s.
//
// The app has no connection cap of its own, so nothing should lock anyone
// out; the version the audit tested evicted only idle connections at its
// cap of 1,000, and 1,050 trickling ones are never idle. The measurement
// covers both halves of the audit's scenario. First, the server holds all
// 1,050 requests: its handler has answered (it reads no body), and net/http
// reads the rest of the announced body before sending that answer, to keep
// the connection usable for the next request, so each connection is busy. Then the app's ReadTimeout ends every trickled request, all
// within the same fraction of a second, and the flood reopens them at once:
// the moment a cap would hand the freed places back to the flood, and the
// busiest moment for the accept loop. So the test runs past the
// ReadTimeout once, about 12 s in all, and stops as soon as the app holds
// the reopened flood too.
func TestTrickledBodiesStarveNoOne(t *testing.T) {
	// The test process holds at most one connection per trickler at a time
	// (it closes one before reopening it), besides its own few. The app may
	// briefly hold each old connection, which it closes half a second after
	// its answer, next to the new one. Go raises each process's soft limit
	// to the hard one, so the hard limit is what the app gets.
	var limit syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &limit); err != nil {
		t.Fatalf("reading the open files limit: %v", err)
	}
	if needSoft, needHard := uint64(tricklers+200), uint64(2*tricklers+200); limit.Cur < needSoft || limit.Max < needHard {
		t.Fatalf("the open files limit is %d (hard %d): %d trickling connections need %d for the test and a hard limit of %d for the app; raise it with ulimit -n",
			limit.Cur, limit.Max, tricklers, needSoft, needHard)
	}

	app, appURL, _ := startWithZendesk(t)

	// A same-origin sign-out under APP_URL's name, as a browser sends it,
	// so the app's handler answers it at once instead of refusing it.
	f := newFlood(app.addr, fmt.Sprintf("POST /zendesk/logout HTTP/1.1\r\n"+
		"Host: %s\r\n"+
		"Content-Type: application/x-www-form-urlencoded\r\n"+
		"Content-Length: %d\r\n"+
		"Sec-Fetch-Site: same-origin\r\n"+
		"\r\n"+
		"a", strings.TrimPrefix(appURL, "http://"), trickleLength))
	began := time.Now()
	// Registered after startApp's, so it runs first: the app's shutdown
	// must not wait for connections the test still holds.
	t.Cleanup(f.stop)
	select {
	case <-f.allOpen:
	case <-time.After(5 * time.Second):
		t.Fatalf("only %d of %d trickling connections were open after 5 s (%d dials or writes failed)", f.opened.Load(), tricklers, f.failures.Load())
	}

	// The new client: a fresh connection for each request, to 127.0.0.1,
	// under APP_URL's name. Its timeout is twice the bound, so that a slow
	// answer is still measured.
	dialer := &net.Dialer{}
	client := &http.Client{
		Timeout: 2 * answerBound,
		Transport: &http.Transport{
			DisableKeepAlives: true,
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return dialer.DialContext(ctx, network, app.addr)
			},
		},
	}
	type answer struct {
		path, phase string
		took        time.Duration
		err         error
	}
	const (
		held      = "before the server ended any trickling connection"
		reopening = "after the server began to end trickling connections"
		reheld    = "once the app held every reopened one"
	)
	// appTook counts the trickled requests the app has taken, by its log
	// lines: one per request, written when the handler returns, which is
	// before net/http starts reading the trickled body.
	appTook := func() int { return strings.Count(app.log.String(), "path=/zendesk/logout") }
	var answers []answer
	var reheldAt time.Duration
	// The server ends the first connections at its ReadTimeout, the flood
	// sees it within one tick of its pace and reopens them at once, so a
	// passing run ends about 11.5 s after the flood began; 5 s more leave
	// room for a busy machine.
	deadline := began.Add(appReadTimeout + 5*time.Second)
	pace := time.NewTicker(probePace)
	defer pace.Stop()
	for i := 0; ; i++ {
		phase := held
		if isClosed(f.firstClosed) {
			phase = reopening
		}
		if phase == reopening && isClosed(f.allReplaced) && appTook() >= 2*tricklers {
			phase = reheld
			if reheldAt == 0 {
				reheldAt = time.Since(began)
			}
		}
		path := []string{"/healthz", "/"}[i%2]
		took, err := ask(client, appURL+path)
		answers = append(answers, answer{path, phase, took, err})

		// Done once the reopened flood is held and both pages were asked
		// for since, and at least four answers came after the server began
		// to end the first connections.
		var afterClosing, afterReheld int
		for _, a := range answers {
			if a.phase != held {
				afterClosing++
			}
			if a.phase == reheld {
				afterReheld++
			}
		}
		if afterReheld >= 2 && afterClosing >= 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("after %v, the server had ended trickling connections %d times, %d of the first %d had been reopened, and the app had taken %d trickled requests of the %d due (%d dials or writes of the test failed): "+
				"its ReadTimeout (%v) should end each trickled request, and it should take the request of each reopened connection",
				time.Since(began).Round(time.Millisecond), f.closed.Load(), f.replaced.Load(), tricklers, appTook(), 2*tricklers, f.failures.Load(), appReadTimeout)
			break
		}
		<-pace.C
	}
	f.stop()

	var failed, slow int
	var lines []string
	counts := map[string]int{}
	for _, a := range answers {
		counts[a.phase]++
		switch {
		case a.err != nil:
			failed++
		case a.took > answerBound:
			slow++
		default:
			continue
		}
		if len(lines) < 10 {
			lines = append(lines, fmt.Sprintf("GET %s %s: %v after %v", a.path, a.phase, cmp.Or(a.err, error(errSlow)), a.took.Round(time.Millisecond)))
		}
	}
	worst := slices.MaxFunc(answers, func(a, b answer) int { return cmp.Compare(a.took, b.took) })
	if failed+slow > 0 {
		if more := failed + slow - len(lines); more > 0 {
			lines = append(lines, fmt.Sprintf("and %d more", more))
		}
		t.Errorf("while %d connections trickled request bodies, %d of %d new clients got no answer and %d more waited longer than %v; the slowest took %v (GET %s %s):\n%s",
			tricklers, failed, len(answers), slow, answerBound, worst.took.Round(time.Millisecond), worst.path, worst.phase, strings.Join(lines, "\n"))
	}
	timeline := "the server ended no trickling connection"
	if isClosed(f.firstClosed) {
		timeline = fmt.Sprintf("the server began to end trickling connections %v after the flood began", f.firstClosedAt.Sub(began).Round(time.Millisecond))
	}
	if reheldAt > 0 {
		timeline += fmt.Sprintf(", and the app held every reopened one %v after", reheldAt.Round(time.Millisecond))
	}
	t.Logf("%d answers (%d %s, %d %s, %d %s), the slowest in %v (GET %s %s); %s",
		len(answers), counts[held], held, counts[reopening], reopening, counts[reheld], reheld,
		worst.took.Round(time.Millisecond), worst.path, worst.phase, timeline)

	// Nothing the flood started keeps the app from a graceful shutdown.
	if err := app.stop(); err != nil {
		t.Error(err)
	}
}

var errSlow = fmt.Errorf("an answer, later than %v", answerBound)

// ask gets url, reads the whole answer and returns how long that took, and
// an error unless the status is 200.
func ask(client *http.Client, url string) (time.Duration, error) {
	start := time.Now()
	resp, err := client.Get(url)
	if err != nil {
		return time.Since(start), err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("status %d", resp.StatusCode)
	}
	return took, err
}

// isClosed tells, without waiting, whether c is closed: whether the event
// it stands for has happened.
func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// flood keeps tricklers connections each sending a request's body one byte
// a second, and reopens each one the server ends, as the audit's client
// did. A few goroutines pace them all, each over its share.
type flood struct {
	addr    string // 127.0.0.1:PORT
	request []byte // request line, headers and the body's first byte

	opened   atomic.Int64 // first connections open, with their request sent
	closed   atomic.Int64 // times the server has ended one of them
	replaced atomic.Int64 // first connections ended by the server and open again
	failures atomic.Int64 // the test's own dials and writes that failed

	allOpen, firstClosed, allReplaced chan struct{}
	firstCloseOnce                    sync.Once
	firstClosedAt                     time.Time // set before firstClosed is closed

	done     chan struct{} // closed by stop
	stopOnce sync.Once
	wg       sync.WaitGroup
}

// trickle is one of the flood's sockets.
type trickle struct {
	conn net.Conn // nil while closed
	gen  int      // how many times it has been opened
}

func newFlood(addr, request string) *flood {
	f := &flood{
		addr:        addr,
		request:     []byte(request),
		allOpen:     make(chan struct{}),
		firstClosed: make(chan struct{}),
		allReplaced: make(chan struct{}),
		done:        make(chan struct{}),
	}
	for w := range trickleWorkers {
		n := tricklers / trickleWorkers
		if w < tricklers%trickleWorkers {
			n++
		}
		f.wg.Go(func() { f.work(n) })
	}
	return f
}

// stop ends every goroutine of the flood and closes its connections.
func (f *flood) stop() {
	f.stopOnce.Do(func() { close(f.done) })
	f.wg.Wait()
}

// work opens n sockets, then once a second sends each one more byte, or
// reopens it if the server has ended it.
func (f *flood) work(n int) {
	socks := make([]trickle, n)
	defer func() {
		for _, s := range socks {
			if s.conn != nil {
				s.conn.Close()
			}
		}
	}()
	for i := range socks {
		f.open(&socks[i])
	}
	tick := time.NewTicker(time.Second) // the trickle's pace
	defer tick.Stop()
	for {
		select {
		case <-f.done:
			return
		case <-tick.C:
		}
		for i := range socks {
			s := &socks[i]
			if s.conn != nil && !serverDone(s.conn) {
				s.conn.SetWriteDeadline(time.Now().Add(time.Second))
				if _, err := s.conn.Write(f.request[len(f.request)-1:]); err == nil {
					continue
				}
				// A write fails once the server has reset the connection.
			}
			if s.conn != nil {
				s.conn.Close()
				s.conn = nil
				f.closed.Add(1)
				f.firstCloseOnce.Do(func() {
					f.firstClosedAt = time.Now()
					close(f.firstClosed)
				})
			}
			f.open(s)
		}
	}
}

// open connects s and sends the request's headers and first byte; on
// failure s stays closed, to be tried again on the next tick. Once the
// flood is stopped it does nothing, so that stop never waits for dials.
func (f *flood) open(s *trickle) {
	if isClosed(f.done) {
		return
	}
	c, err := net.DialTimeout("tcp", f.addr, time.Second)
	if err == nil {
		c.SetWriteDeadline(time.Now().Add(time.Second))
		if _, err = c.Write(f.request); err != nil {
			c.Close()
		}
	}
	if err != nil {
		f.failures.Add(1)
		return
	}
	s.conn = c
	s.gen++
	switch {
	case s.gen == 1 && f.opened.Add(1) == tricklers:
		close(f.allOpen)
	case s.gen == 2 && f.replaced.Add(1) == tricklers:
		close(f.allReplaced)
	}
}

// serverDone tells, without waiting, whether the server has sent anything
// on c or closed it. The server answers a trickled request only when it
// gives up reading the body, and closes the connection right after, so
// either means that it is done with c. One non-blocking read per tick finds out
// without a reader goroutine for each connection.
func serverDone(c net.Conn) bool {
	raw, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		return true
	}
	done := true
	var buf [512]byte
	raw.Read(func(fd uintptr) bool {
		_, err := syscall.Read(int(fd), buf[:])
		done = !errors.Is(err, syscall.EAGAIN) && !errors.Is(err, syscall.EINTR)
		return true // one try: never wait for the socket to become readable
	})
	return done
}
