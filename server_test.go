package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The header limit is the 32 KiB docs/security.md promises, request line
// included, although net/http adds 4 KiB to MaxHeaderBytes.
func TestHeaderLimitIs32KiB(t *testing.T) {
	e := newEnv(t, envOptions{})
	addr := serve(t, e, nil)
	for _, tc := range []struct {
		size   int
		status string
	}{{32<<10 - 64, "200 OK"}, {32<<10 + 64, "431 Request Header Fields Too Large"}} {
		head := "GET /healthz HTTP/1.1\r\nHost: " + addr + "\r\nX-Big: "
		request := head + strings.Repeat("x", tc.size-len(head)-4) + "\r\n\r\n"
		if len(request) != tc.size {
			t.Fatalf("request of %d bytes, want %d", len(request), tc.size)
		}
		if got := rawStatus(t, addr, request); got != tc.status {
			t.Errorf("%d bytes of headers: %q, want %q", tc.size, got, tc.status)
		}
	}
}

// rawStatus sends request on a new connection and returns the status of
// the reply, e.g. "200 OK".
func rawStatus(t *testing.T, addr, request string) string {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, request); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.Status
}

// One client holding thousands of idle keep-alive connections cannot lock
// anyone else out: the server has no connection cap for them to fill, and
// closes them once idle for IdleTimeout.
func TestIdleConnectionsCannotLockOthersOut(t *testing.T) {
	const held = 2500
	var limit syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &limit); err != nil || limit.Cur < 2*held+500 {
		t.Fatalf("this test needs %d open files, the limit is %d (%v)", 2*held+500, limit.Cur, err)
	}
	e := newEnv(t, envOptions{})
	if idle := newServer(e.app).IdleTimeout; idle <= 0 || idle > time.Minute {
		t.Errorf("IdleTimeout %v: idle connections must be closed, within a minute", idle)
	}
	addr := serve(t, e, nil)

	conns := make([]net.Conn, 0, held)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range held {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("connection %d: %v", len(conns)+1, err)
		}
		conns = append(conns, c)
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("request on connection %d: %v", len(conns), err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close() // the connection stays open, idle
	}

	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	start := time.Now()
	resp, err := client.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("a new client behind %d idle connections: %v", held, err)
	}
	resp.Body.Close()
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("a new client behind %d idle connections waited %v for its answer", held, elapsed)
	}
}
