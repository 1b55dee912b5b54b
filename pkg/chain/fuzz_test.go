package chain

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// seedLines adds every line of the committed test vectors as a seed.
func seedLines(f *testing.F) {
	files, _ := filepath.Glob("../validate/testdata/*.chain")
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			f.Add([]byte(line))
		}
	}
	b := sampleBlock()
	b.Hash = b.ComputeHash()
	f.Add(b.AppendJSON(nil))
}

// FuzzParse: the parser never panics, and whatever it accepts is canonical:
// encoding the parsed block gives back the exact input, and the summary
// parser agrees on the hash preimage.
func FuzzParse(f *testing.F) {
	seedLines(f)
	f.Fuzz(func(t *testing.T, line []byte) {
		var p Parser
		var b Block
		if err := p.Parse(line, &b); err != nil {
			if _, ok := err.(*ParseError); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		if out := b.AppendJSON(nil); !bytes.Equal(out, line) {
			t.Fatalf("accepted a non-canonical line:\n in %q\nout %q", line, out)
		}
		var s Summary
		if err := p.ParseSummary(line, &s); err != nil {
			t.Fatalf("ParseSummary refuses what Parse accepts: %v", err)
		}
		if s.DataRoot != b.DataRoot() || s.Messages != len(b.Data) {
			t.Fatal("ParseSummary's data root differs from the block's")
		}
	})
}

// FuzzLineReader: the reader never panics, never returns a line longer than
// its limit, and its offsets add up.
func FuzzLineReader(f *testing.F) {
	f.Add([]byte("a\nbb\n"), 4)
	f.Add([]byte("abc"), 2)
	f.Add([]byte("\n\n\n"), 1)
	f.Fuzz(func(t *testing.T, data []byte, max int) {
		if max < 1 || max > 1<<16 {
			return
		}
		r := NewLineReaderSize(bytes.NewReader(data), max)
		var total int64
		for {
			line, err := r.Next()
			if err != nil {
				return
			}
			if len(line) > max {
				t.Fatalf("line of %d bytes over a limit of %d", len(line), max)
			}
			if r.Offset() != total {
				t.Fatalf("offset %d, want %d", r.Offset(), total)
			}
			total += int64(len(line)) + 1
		}
	})
}
