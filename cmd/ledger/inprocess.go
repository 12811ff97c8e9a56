package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sync"
	"time"
)

// syncBuffer is a bytes.Buffer that serve may write while another
// goroutine reads it.
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

// servingURL is how serve announces the address it listens on.
var servingURL = regexp.MustCompile(`serving (http://[0-9.:]+)`)

// serveInProcess runs `ledger serve args…` in this process until ctx ends
// and returns once it listens (ready or not): its URL, and the channel that
// receives serve's result. `ledger bench` and the tests run it so.
func serveInProcess(ctx context.Context, args []string, getenv func(string) string, stdout *syncBuffer, stderr io.Writer) (string, <-chan error, error) {
	done := make(chan error, 1)
	go func() { done <- serve(ctx, args, getenv, stdout, stderr) }()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		if m := servingURL.FindStringSubmatch(stdout.String()); m != nil {
			return m[1], done, nil
		}
		select {
		case err := <-done:
			return "", nil, fmt.Errorf("serve stopped: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			return "", nil, errors.New("serve did not start within a minute")
		}
	}
}
