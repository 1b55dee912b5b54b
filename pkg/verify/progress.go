package verify

import (
	"fmt"
	"io"
	"time"

	"github.com/bc-chain/bc/pkg/cli"
)

// progressMinBytes is the input size from which "auto" shows a progress bar.
const progressMinBytes = 8 << 20

// progress draws a one-line progress bar on a terminal, at most ten times a
// second.
type progress struct {
	w     io.Writer
	on    bool
	size  int64
	start time.Time
	last  time.Time
	drawn bool
}

func newProgress(w io.Writer, mode string, size int64, quiet bool) *progress {
	on := false
	switch {
	case quiet || mode == "never":
	case mode == "always":
		on = true
	default:
		on = cli.IsTerminal(w) && (size < 0 || size >= progressMinBytes)
	}
	return &progress{w: w, on: on, size: size, start: time.Now()}
}

func (p *progress) update(bytes int64, blocks uint64) {
	if !p.on || time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	secs := time.Since(p.start).Seconds()
	rate := float64(blocks) / max(secs, 1e-9)
	if p.size > 0 {
		pct := float64(bytes) * 100 / float64(p.size)
		const width = 30
		filled := int(pct / 100 * width)
		bar := make([]byte, width)
		for i := range bar {
			bar[i] = ' '
			if i < filled {
				bar[i] = '#'
			}
		}
		fmt.Fprintf(p.w, "\r[%s] %5.1f%% %d blocks, %.0f blocks/s ", bar, pct, blocks, rate)
	} else {
		fmt.Fprintf(p.w, "\r%d blocks, %.1f MB, %.0f blocks/s ", blocks, float64(bytes)/1e6, rate)
	}
	p.drawn = true
}

func (p *progress) finish() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
