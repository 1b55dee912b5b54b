package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// DefaultPoll is the safety-net rescan interval of Watch: fsnotify events
// are hints (they can be lost on overflow, and files are replaced by
// rename), so watchers also look every few seconds.
const DefaultPoll = 5 * time.Second

// Watch calls fn whenever files of the directory change, with the set of
// names (relative to the directory, e.g. "node.chain" or "inbox/x") that
// events mentioned; every poll interval it calls fn with a nil set, meaning
// "look at everything". Bursts of events are coalesced into one call. It
// watches the directory itself and the subdirectories named in subdirs
// (created if missing), never single files, which rename would detach. It
// returns when ctx ends.
func (d *Dir) Watch(ctx context.Context, poll time.Duration, subdirs []string, fn func(changed map[string]bool)) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch %s: %w", d.path, err)
	}
	defer w.Close()
	if err := w.Add(d.path); err != nil {
		return fmt.Errorf("watch %s: %w", d.path, err)
	}
	for _, sub := range subdirs {
		p := d.File(sub)
		if err := os.MkdirAll(p, DirMode); err != nil {
			return fmt.Errorf("create %s: %w", p, err)
		}
		if err := w.Add(p); err != nil {
			return fmt.Errorf("watch %s: %w", p, err)
		}
	}
	if poll <= 0 {
		poll = DefaultPoll
	}
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			fn(nil)
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			// Overflow or similar: events were lost, so look at everything.
			d.log.Debug("file watch error; rescanning", "error", err)
			fn(nil)
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			changed := map[string]bool{d.rel(ev.Name): true}
			// Take whatever else is already queued.
		drain:
			for {
				select {
				case ev := <-w.Events:
					changed[d.rel(ev.Name)] = true
				default:
					break drain
				}
			}
			fn(changed)
		}
	}
}

func (d *Dir) rel(name string) string {
	r, err := filepath.Rel(d.path, name)
	if err != nil {
		return name
	}
	return r
}
