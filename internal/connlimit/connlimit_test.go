package connlimit_test

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"promiseledger/internal/connlimit"
)

// syncBuffer is a log the listener writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// server accepts on a capped loopback listener and keeps every accepted
// connection open until the test closes it.
type server struct {
	t        *testing.T
	ln       *connlimit.Listener
	log      *syncBuffer
	accepted chan net.Conn
}

func listen(t *testing.T, cfg connlimit.Config) *server {
	t.Helper()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, log: &syncBuffer{}, accepted: make(chan net.Conn, 100)}
	cfg.Log = slog.New(slog.NewTextHandler(s.log, nil))
	s.ln = connlimit.New(inner, cfg)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := s.ln.Accept()
			if err != nil {
				return
			}
			s.accepted <- c
		}
	}()
	t.Cleanup(func() {
		_ = s.ln.Close()
		<-done
		close(s.accepted)
		for c := range s.accepted {
			_ = c.Close()
		}
	})
	return s
}

// dial connects from a loopback address of its own (127.0.0.0/8 is all
// loopback on Linux) and closes the connection when the test ends.
func (s *server) dial(from string) net.Conn {
	s.t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", s.ln.Addr().String())
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { _ = c.Close() })
	return c
}

// accept waits for the server to hand over the next connection it kept.
func (s *server) accept() net.Conn {
	s.t.Helper()
	select {
	case c := <-s.accepted:
		return c
	case <-time.After(10 * time.Second):
		s.t.Fatal("no connection accepted")
		return nil
	}
}

// refused reads what the server wrote to a connection before closing it;
// it fails the test if the connection stays open.
func refused(t *testing.T, c net.Conn) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the connection was kept open, want it refused")
	}
	return string(b)
}

func TestListener_CapPerAddress(t *testing.T) {
	s := listen(t, connlimit.Config{Max: 100, MaxPerAddr: 3, Refusal: connlimit.HTTPRefusal})
	var kept []net.Conn
	for i := 0; i < 3; i++ {
		s.dial("127.0.0.2")
		kept = append(kept, s.accept())
	}
	// The fourth from the same address is refused, with a 503, and closed.
	if got := refused(t, s.dial("127.0.0.2")); !strings.HasPrefix(got, "HTTP/1.1 503 ") {
		t.Fatalf("a refused connection read %q, want an HTTP 503", got)
	}
	refused(t, s.dial("127.0.0.2"))
	// Another address is not held back by the first.
	s.dial("127.0.0.3")
	s.accept()
	if st := s.ln.Stats(); st.Open != 4 || st.RefusedPerAddr != 2 || st.RefusedTotal != 0 {
		t.Fatalf("stats %+v, want 4 open, 2 refused per address", st)
	}
	// A closed connection frees its slot.
	_ = kept[0].Close()
	s.dial("127.0.0.2")
	s.accept()
	if st := s.ln.Stats(); st.Open != 4 {
		t.Fatalf("stats %+v after closing one and opening one, want 4 open", st)
	}
	// Closing twice frees one slot, not two.
	_ = kept[1].Close()
	_ = kept[1].Close()
	s.dial("127.0.0.2")
	s.accept()
	refused(t, s.dial("127.0.0.2"))
}

func TestListener_CapInTotal(t *testing.T) {
	s := listen(t, connlimit.Config{Max: 4, MaxPerAddr: 2})
	var kept []net.Conn
	for _, from := range []string{"127.0.0.2", "127.0.0.2", "127.0.0.3", "127.0.0.4"} {
		s.dial(from)
		kept = append(kept, s.accept())
	}
	// Without a refusal message the connection is closed without a word.
	if got := refused(t, s.dial("127.0.0.5")); got != "" {
		t.Fatalf("read %q, want nothing", got)
	}
	if st := s.ln.Stats(); st.Open != 4 || st.RefusedTotal != 1 || st.RefusedPerAddr != 0 {
		t.Fatalf("stats %+v, want 4 open, 1 refused in total", st)
	}
	_ = kept[3].Close()
	s.dial("127.0.0.5")
	s.accept()
}

func TestListener_RefusalsAreLoggedOncePerAddress(t *testing.T) {
	s := listen(t, connlimit.Config{Max: 100, MaxPerAddr: 1, LogEvery: time.Hour})
	s.dial("127.0.0.2")
	s.accept()
	s.dial("127.0.0.3")
	s.accept()
	for i := 0; i < 50; i++ {
		refused(t, s.dial("127.0.0.2"))
	}
	refused(t, s.dial("127.0.0.3"))
	if n := strings.Count(s.log.String(), "\n"); n != 2 {
		t.Fatalf("%d log lines for 51 refusals from two addresses within the hour, want 2:\n%s", n, s.log.String())
	}
	if !strings.Contains(s.log.String(), "addr=127.0.0.2") || !strings.Contains(s.log.String(), "addr=127.0.0.3") {
		t.Fatalf("the lines do not name the addresses:\n%s", s.log.String())
	}
	// Closing the listener reports the refusals not yet logged.
	_ = s.ln.Close()
	if !strings.Contains(s.log.String(), "refused=49") {
		t.Fatalf("the 49 later refusals were not reported:\n%s", s.log.String())
	}
}
