package chain

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// ErrNoNewline is returned (wrapped in a *TailError) when the input ends in
// the middle of a line: the sign of a write torn by a crash.
var ErrNoNewline = errors.New("last line has no newline (torn write?)")

// TailError describes an incomplete last line.
type TailError struct {
	Line   int   // 1-based line number of the incomplete line
	Offset int64 // byte offset where it starts
	Bytes  int   // how many bytes it has
}

func (e *TailError) Error() string {
	return fmt.Sprintf("line %d (offset %d): %d bytes without a newline: %v", e.Line, e.Offset, e.Bytes, ErrNoNewline)
}

func (e *TailError) Unwrap() error { return ErrNoNewline }

// LineReader reads newline-terminated lines with a bounded length, keeping
// track of line numbers and byte offsets. Returned lines exclude the newline
// and are valid until the next call.
type LineReader struct {
	br       *bufio.Reader
	line     int
	off      int64 // offset of the line last returned
	next     int64 // offset of the line to come
	maxLen   int
	overlong bool // the last line was too long and is not consumed to its end
}

// NewLineReader reads from r, allowing lines of up to MaxLineBytes.
func NewLineReader(r io.Reader) *LineReader {
	return NewLineReaderSize(r, MaxLineBytes)
}

// NewLineReaderSize reads from r, allowing lines of up to maxLen bytes.
func NewLineReaderSize(r io.Reader, maxLen int) *LineReader {
	size := maxLen + 1
	if size < 64<<10 {
		size = 64 << 10
	}
	return &LineReader{br: bufio.NewReaderSize(r, size), maxLen: maxLen}
}

// Next returns the next line. At the clean end of input it returns io.EOF; if
// the input ends without a final newline it returns the partial bytes and a
// *TailError; a line longer than the limit gives a *ParseError.
func (r *LineReader) Next() ([]byte, error) {
	r.off = r.next
	r.line++
	b, err := r.br.ReadSlice('\n')
	switch {
	case err == nil:
		r.next += int64(len(b))
		if len(b)-1 > r.maxLen {
			return nil, &ParseError{Line: r.line, Column: r.maxLen + 1, Msg: fmt.Sprintf("line is longer than %d bytes", r.maxLen)}
		}
		return b[:len(b)-1], nil
	case errors.Is(err, bufio.ErrBufferFull):
		r.next += int64(len(b))
		r.overlong = true
		return nil, &ParseError{Line: r.line, Column: r.maxLen + 1, Msg: fmt.Sprintf("line is longer than %d bytes", r.maxLen)}
	case errors.Is(err, io.EOF):
		if len(b) == 0 {
			r.line--
			return nil, io.EOF
		}
		r.next += int64(len(b))
		return b, &TailError{Line: r.line, Offset: r.off, Bytes: len(b)}
	default:
		return nil, err
	}
}

// SkipLong consumes the rest of an over-long line that Next refused, so
// that reading can go on after it. It returns a *TailError when the input
// ends before the line does (a line still being written, or torn).
func (r *LineReader) SkipLong() error {
	for r.overlong {
		b, err := r.br.ReadSlice('\n')
		r.next += int64(len(b))
		switch {
		case err == nil:
			r.overlong = false
		case errors.Is(err, bufio.ErrBufferFull):
		case errors.Is(err, io.EOF):
			r.overlong = false
			return &TailError{Line: r.line, Offset: r.off, Bytes: int(r.next - r.off)}
		default:
			return err
		}
	}
	return nil
}

// Line is the 1-based number of the line last returned.
func (r *LineReader) Line() int { return r.line }

// Offset is the byte offset at which the line last returned starts.
func (r *LineReader) Offset() int64 { return r.off }

// End is the offset just past the line last returned (and its newline).
func (r *LineReader) End() int64 { return r.next }
