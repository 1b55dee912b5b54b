package cmdline

import (
	"io"
	"sync"
)

// StatusWriter shows a live status line at the bottom of a terminal while
// other output (the log) scrolls above it: every write first clears the
// status line, then redraws it.
type StatusWriter struct {
	mu     sync.Mutex
	w      io.Writer
	status string
}

// NewStatusWriter wraps a terminal.
func NewStatusWriter(w io.Writer) *StatusWriter { return &StatusWriter{w: w} }

const clearLine = "\r\033[K"

// Write writes p above the status line.
func (s *StatusWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.status != "" {
		io.WriteString(s.w, clearLine)
	}
	n, err := s.w.Write(p)
	if s.status != "" {
		io.WriteString(s.w, s.status)
	}
	return n, err
}

// SetStatus replaces the status line ("" removes it).
func (s *StatusWriter) SetStatus(line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	io.WriteString(s.w, clearLine+line)
	s.status = line
}
