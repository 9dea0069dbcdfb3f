package e2e

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"zendesk-oauth-app/internal/zendesksim"
)

// BenchmarkSideBySide measures the app against a literal port of the
// tutorial's app (e2e/tutorial), each its own process, in one run:
//
//	go test ./e2e -run '^$' -bench SideBySide -benchtime 1x
//
// Both talk to one simulator in this process, each through a listener of
// its own so that their connections are counted apart. Each round starts a
// fresh process, warms it up, then drives full sign-ins from this process
// (auth redirect, Allow at the simulator, callback with the cookies of the
// first step) and measures the process's own CPU time, from /proc: the
// benchmark's own work (browser and simulator) is not counted. The
// contenders take turns, the first of a round going second in the next, so
// neither always runs on a machine the other has just warmed. Each figure
// is the median over the rounds. Each ratio is the median of the rounds'
// ratios: within a round the two are measured one right after the other,
// so a host that is faster or slower for a while (a virtual machine's
// neighbours) shifts both sides of a ratio alike.
//
// The rounds, sign-ins per round and concurrency default to 5, 3,000 and
// 16; flags (-sidebyside.rounds=1) or the environment
// (SIDEBYSIDE_ROUNDS=1) change them for quick runs.
func BenchmarkSideBySide(b *testing.B) {
	rounds, signIns, concurrency := *sideRounds, *sideSignIns, *sideConcurrency
	if rounds < 1 || signIns < 1 || concurrency < 1 {
		b.Fatalf("rounds %d, sign-ins %d, concurrency %d: each must be at least 1", rounds, signIns, concurrency)
	}
	tutorialBinary, err := goBuild(binDir, "tutorial", "./e2e/tutorial")
	if err != nil {
		b.Fatal(err)
	}

	appPort, tutorialPort := freePort(b), freePort(b)
	sim := zendesksim.New(zendesksim.Options{
		ClientID:     testClientID,
		ClientSecret: testClientSecret,
		RedirectURIs: []string{
			"http://localhost:" + appPort + "/zendesk/oauth/callback",
			"http://localhost:" + tutorialPort + "/zendesk/oauth/callback",
		},
	})
	consent := httptest.NewServer(sim)
	b.Cleanup(consent.Close)
	contenders := []*contender{
		{name: "app", binary: appBinary, port: appPort, ready: "/healthz", upstream: newCountingServer(b, sim)},
		{name: "tutorial", binary: tutorialBinary, port: tutorialPort, ready: "/", killedOK: true, upstream: newCountingServer(b, sim)},
	}

	for round := range rounds {
		order := contenders
		if round%2 == 1 {
			order = []*contender{contenders[1], contenders[0]}
		}
		for _, c := range order {
			before := sim.Stats()
			r := c.round(b, signIns, concurrency, consent.URL)
			after := sim.Stats()
			c.results = append(c.results, r)

			want := signIns + warmUps(concurrency)
			if ex, me := after[zendesksim.Exchange]-before[zendesksim.Exchange], after[zendesksim.Me]-before[zendesksim.Me]; ex != want || me != want {
				b.Errorf("%s, round %d: Zendesk saw %d code exchanges and %d users/me calls for %d sign-ins", c.name, round+1, ex, me, want)
			}
			// Warm connections: a sign-in must not cost a connection. At
			// most one each for the sign-ins in flight at once.
			if r.connections > concurrency {
				b.Errorf("%s, round %d: %d new connections to Zendesk during %d sign-ins, %d at a time: want at most %d",
					c.name, round+1, r.connections, signIns, concurrency, concurrency)
			}
		}
	}
	app, tutorial := contenders[0], contenders[1]

	// The table: each figure's median, and its range over the rounds.
	// (Benchmark logs are cut after ten lines: the table is the only one.)
	var table strings.Builder
	fmt.Fprintf(&table, "%-30s %-22s %-22s %s\n", "median (min-max)", "app", "tutorial", "app/tutorial, by round")
	for _, m := range sideMetrics {
		row := fmt.Sprintf("%-30s %-22s %-22s", m.label, app.figure(m), tutorial.figure(m))
		if m.ratioUnit != "" {
			r := ratios(app, tutorial, m)
			row += fmt.Sprintf(" %.2f (%.2f-%.2f)", median(r), r[0], r[len(r)-1])
		}
		table.WriteString(strings.TrimRight(row, " ") + "\n")
	}
	b.Logf("%d rounds of %d sign-ins, %d at a time, for each:\n%s", rounds, signIns, concurrency, table.String())

	b.ReportMetric(0, "ns/op") // the time of the whole run says nothing
	for _, c := range contenders {
		for _, m := range sideMetrics {
			b.ReportMetric(c.median(m), c.name+"-"+m.unit)
		}
	}
	for _, m := range sideMetrics {
		if m.ratioUnit != "" {
			b.ReportMetric(median(ratios(app, tutorial, m)), m.ratioUnit)
		}
	}
}

// sideMetric is one figure BenchmarkSideBySide reports for each contender.
type sideMetric struct {
	label     string
	unit      string // for b.ReportMetric, after the contender's name
	get       func(roundResult) float64
	ratioUnit string // if set, app/tutorial is reported too, in this unit
}

var sideMetrics = []sideMetric{
	{"CPU per sign-in, µs (own)", "cpu-us/signin", func(r roundResult) float64 { return float64(r.cpuPerSignIn) / float64(time.Microsecond) }, "cpu-ratio"},
	{"sign-ins per second", "signins/s", func(r roundResult) float64 { return r.throughput }, "throughput-ratio"},
	{"p50 sign-in latency, ms", "p50-ms", func(r roundResult) float64 { return float64(r.p50) / float64(time.Millisecond) }, ""},
	{"p99 sign-in latency, ms", "p99-ms", func(r roundResult) float64 { return float64(r.p99) / float64(time.Millisecond) }, ""},
	{"RSS after the load, MB", "rss-MB", func(r roundResult) float64 { return float64(r.rss) / (1 << 20) }, ""},
	{"start-up to first answer, ms", "startup-ms", func(r roundResult) float64 { return float64(r.startup) / float64(time.Millisecond) }, ""},
	{"new Zendesk connections", "conns/round", func(r roundResult) float64 { return float64(r.connections) }, ""},
}

var (
	sideRounds      = flag.Int("sidebyside.rounds", envInt("SIDEBYSIDE_ROUNDS", 5), "BenchmarkSideBySide: rounds per contender")
	sideSignIns     = flag.Int("sidebyside.signins", envInt("SIDEBYSIDE_SIGNINS", 3000), "BenchmarkSideBySide: sign-ins per round")
	sideConcurrency = flag.Int("sidebyside.concurrency", envInt("SIDEBYSIDE_CONCURRENCY", 16), "BenchmarkSideBySide: sign-ins at once")
)

func envInt(key string, fallback int) int {
	if n, err := strconv.Atoi(os.Getenv(key)); err == nil {
		return n
	}
	return fallback
}

// warmUps is how many sign-ins a fresh process gets before a round is
// measured: enough to open its connections and grow its heap.
func warmUps(concurrency int) int { return 8 * concurrency }

// contender is one of the two apps under comparison.
type contender struct {
	name, binary string
	port         string
	ready        string // a path that answers 200 once it serves
	killedOK     bool   // SIGTERM kills it (the tutorial's app has no shutdown)
	upstream     *countingServer
	results      []roundResult
}

// roundResult is what one round measured.
type roundResult struct {
	cpuPerSignIn time.Duration // the process's utime+stime over the round, per sign-in
	throughput   float64       // sign-ins per second
	p50, p99     time.Duration // sign-in latency, all three hops
	rss          int64         // bytes, after the round
	startup      time.Duration // exec until the first 200
	connections  int           // to Zendesk, opened during the measured sign-ins
}

// round starts a fresh process, warms it up, measures signIns sign-ins at
// the given concurrency, and stops it.
func (c *contender) round(b *testing.B, signIns, concurrency int, consentURL string) roundResult {
	b.Helper()
	appURL := "http://localhost:" + c.port
	env := appEnv(c.port, c.upstream.URL)
	env["APP_URL"] = appURL
	p := startProcess(b, c.name, c.binary, env, c.ready, c.killedOK)
	pid := p.cmd.Process.Pid

	client := newClient(b, concurrency)
	defer client.CloseIdleConnections()
	f := &signInFlow{client: client, appURL: appURL, consent: networkConsent(client, consentURL)}
	if _, err := runSignIns(f, warmUps(concurrency), concurrency); err != nil {
		b.Fatalf("%s, warming up: %v", c.name, err)
	}

	conns := c.upstream.conns.Load()
	cpu := processCPU(b, pid)
	start := time.Now()
	latencies, err := runSignIns(f, signIns, concurrency)
	elapsed := time.Since(start)
	cpu = processCPU(b, pid) - cpu
	if err != nil {
		b.Fatalf("%s: %v", c.name, err)
	}
	r := roundResult{
		cpuPerSignIn: cpu / time.Duration(signIns),
		throughput:   float64(signIns) / elapsed.Seconds(),
		p50:          percentile(latencies, 50),
		p99:          percentile(latencies, 99),
		rss:          processRSS(b, pid),
		startup:      p.startup,
		connections:  int(c.upstream.conns.Load() - conns),
	}
	if err := p.stop(); err != nil {
		b.Error(err)
	}
	return r
}

// values returns a figure's value in each round, sorted.
func (c *contender) values(m sideMetric) []float64 {
	var v []float64
	for _, r := range c.results {
		v = append(v, m.get(r))
	}
	slices.Sort(v)
	return v
}

// median is a figure's median over the rounds.
func (c *contender) median(m sideMetric) float64 { return median(c.values(m)) }

// ratios returns a figure's ratio a/b in each round, sorted.
func ratios(a, b *contender, m sideMetric) []float64 {
	var r []float64
	for i := range a.results {
		r = append(r, m.get(a.results[i])/m.get(b.results[i]))
	}
	slices.Sort(r)
	return r
}

// median is the median of sorted values.
func median(v []float64) float64 {
	if n := len(v); n%2 == 0 {
		return (v[n/2-1] + v[n/2]) / 2
	}
	return v[len(v)/2]
}

// figure formats a figure's median and range, e.g. "412 (398-430)".
func (c *contender) figure(m sideMetric) string {
	v := c.values(m)
	return fmt.Sprintf("%s (%s-%s)", number(c.median(m)), number(v[0]), number(v[len(v)-1]))
}

// number shows three significant digits at most, and no needless decimals.
func number(x float64) string {
	switch {
	case x >= 100 || x == math.Trunc(x):
		return strconv.FormatFloat(x, 'f', 0, 64)
	case x >= 10:
		return strconv.FormatFloat(x, 'f', 1, 64)
	}
	return strconv.FormatFloat(x, 'f', 2, 64)
}

// runSignIns makes n sign-ins, concurrency at a time, and returns each
// one's latency; it stops at the first failure.
func runSignIns(f *signInFlow, n, concurrency int) ([]time.Duration, error) {
	latencies := make([]time.Duration, n)
	var next atomic.Int64
	var failed atomic.Bool
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for range concurrency {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n && !failed.Load(); i = int(next.Add(1)) - 1 {
				start := time.Now()
				if _, err := f.signIn(); err != nil {
					once.Do(func() { firstErr = fmt.Errorf("sign-in %d: %w", i+1, err) })
					failed.Store(true)
					return
				}
				latencies[i] = time.Since(start)
			}
		})
	}
	wg.Wait()
	return latencies, firstErr
}

// percentile returns the p-th percentile of the latencies, nearest rank.
func percentile(latencies []time.Duration, p int) time.Duration {
	s := slices.Clone(latencies)
	slices.Sort(s)
	rank := (p*len(s) + 99) / 100 // ceil(p/100 × n)
	return s[max(rank, 1)-1]
}

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat:
// 100 on every Linux architecture Go runs on.
const clockTicks = 100

// processCPU returns the CPU time, user and system, that process pid has
// used: fields 14 and 15 (utime, stime) of /proc/PID/stat.
func processCPU(tb testing.TB, pid int) time.Duration {
	tb.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		tb.Fatalf("reading the process's CPU time: %v", err)
	}
	// The command name, field 2, is in parentheses and may hold spaces:
	// count the fields after its closing one, which starts at field 3.
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		tb.Fatalf("/proc/%d/stat: %d fields after the name, want at least 13", pid, len(fields))
	}
	utime, err1 := strconv.ParseInt(fields[14-3], 10, 64)
	stime, err2 := strconv.ParseInt(fields[15-3], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		tb.Fatalf("/proc/%d/stat: %v", pid, err)
	}
	return time.Duration(utime+stime) * time.Second / clockTicks
}

// processRSS returns the resident set size of process pid: VmRSS in
// /proc/PID/status.
func processRSS(tb testing.TB, pid int) int64 {
	tb.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		tb.Fatalf("reading the process's memory: %v", err)
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				tb.Fatalf("/proc/%d/status: VmRSS %q: %v", pid, rest, err)
			}
			return kb << 10
		}
	}
	tb.Fatalf("/proc/%d/status has no VmRSS line", pid)
	return 0
}

// countingServer serves the simulator on a listener of its own and counts
// the TCP connections it accepts.
type countingServer struct {
	*httptest.Server
	conns atomic.Int64
}

func newCountingServer(tb testing.TB, h http.Handler) *countingServer {
	s := &countingServer{Server: httptest.NewUnstartedServer(h)}
	s.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.Start()
	tb.Cleanup(s.Close)
	return s
}
