package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/renameio/v2"

	"github.com/bc-chain/bc/pkg/chain"
)

// WriteFileAtomic replaces the named file in the directory with data
// (see AtomicFile). Readers see the old or the new content, never a mix,
// and the new content survives a crash once this returns.
func (d *Dir) WriteFileAtomic(name string, data []byte, perm os.FileMode) error {
	f, err := d.CreateAtomic(name, perm)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", f.path, err)
	}
	return f.Commit()
}

// CopyAtomic writes the first n bytes of src as the named file,
// atomically (see AtomicFile).
func (d *Dir) CopyAtomic(name string, src io.ReaderAt, n int64) error {
	f, err := d.CreateAtomic(name, FileMode)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := io.Copy(f, io.NewSectionReader(src, 0, n)); err != nil {
		return fmt.Errorf("write %s: %w", f.path, err)
	}
	return f.Commit()
}

// AtomicFile is a file being written that replaces its destination on
// Commit (durably) or vanishes on Abort: the one way bc writes a file
// whole (temporary file in the same directory, fsync, rename, fsync of the
// directory), whether it replaces one (the chain after a reorg, node.hash,
// the small files) or creates one (a backup, a torn tail moved aside).
type AtomicFile struct {
	pf   *renameio.PendingFile
	dir  string
	path string
	done bool
}

// CreateAtomic starts writing a replacement for the named file.
func (d *Dir) CreateAtomic(name string, perm os.FileMode) (*AtomicFile, error) {
	path := d.File(name)
	dir := filepath.Dir(path)
	if sub := filepath.Dir(filepath.Clean(name)); sub != "." {
		if _, err := d.subdir(sub); err != nil {
			return nil, err
		}
	}
	pf, err := renameio.NewPendingFile(path, renameio.WithTempDir(dir), renameio.WithStaticPermissions(perm))
	if err != nil {
		return nil, fmt.Errorf("create temporary file for %s: %w", path, err)
	}
	return &AtomicFile{pf: pf, dir: dir, path: path}, nil
}

// Write appends to the pending file.
func (a *AtomicFile) Write(p []byte) (int, error) { return a.pf.Write(p) }

// File exposes the pending *os.File (for io.Copy fast paths).
func (a *AtomicFile) File() *os.File { return a.pf.File }

// Commit makes the new content the file's content, durably.
func (a *AtomicFile) Commit() error {
	if err := a.pf.CloseAtomicallyReplace(); err != nil {
		_ = a.pf.Cleanup()
		return fmt.Errorf("replace %s: %w", a.path, err)
	}
	a.done = true
	return syncDir(a.dir)
}

// Abort removes the pending file; it is a no-op after Commit.
func (a *AtomicFile) Abort() {
	if !a.done {
		_ = a.pf.Cleanup()
		a.done = true
	}
}

// RemoveStaleTemps deletes temporary files left by writers that crashed
// before their rename (the hidden ".<name>…" files AtomicFile writes, in
// the directory and in backups/ and torn/) and forks bc-gossip was
// downloading (".fork-*"), once older than olderThan. Only bc writes
// hidden files there; others are left alone in the directory itself.
func (d *Dir) RemoveStaleTemps(olderThan time.Duration) {
	mine := []string{ChainFile, HashFile, PendingFile, NeighboursFile, TokenFile, TiebreakFile, "fork-", "bc-"}
	for _, sub := range []string{"", BackupDir, TornDir} {
		entries, err := os.ReadDir(filepath.Join(d.path, sub))
		if err != nil {
			continue
		}
		for _, e := range entries {
			n := e.Name()
			if !strings.HasPrefix(n, ".") || !e.Type().IsRegular() {
				continue
			}
			ours := sub != ""
			for _, base := range mine {
				ours = ours || strings.HasPrefix(n, "."+base)
			}
			if info, err := e.Info(); err == nil && ours && time.Since(info.ModTime()) > olderThan {
				if os.Remove(filepath.Join(d.path, sub, n)) == nil {
					d.log.Info("removed a temporary file left by a crash", "file", filepath.Join(sub, n))
				}
			}
		}
	}
}

// WriteHash writes node.hash: the digest and file name in sha256sum's
// format, so `sha256sum -c node.hash` checks node.chain.
func (d *Dir) WriteHash(digest chain.Hash) error {
	return d.WriteFileAtomic(HashFile, []byte(FormatHashLine(digest)), FileMode)
}

// FormatHashLine is the line sha256sum prints for node.chain.
func FormatHashLine(digest chain.Hash) string {
	return digest.String() + "  " + ChainFile + "\n"
}

// ReadHash parses node.hash.
func (d *Dir) ReadHash() (chain.Hash, error) {
	b, err := d.ReadFile(HashFile)
	if err != nil {
		return chain.Hash{}, err
	}
	if b == nil {
		return chain.Hash{}, fmt.Errorf("open %s: %w", d.File(HashFile), os.ErrNotExist)
	}
	line := strings.TrimRight(string(b), "\n")
	hexPart, name, ok := strings.Cut(line, "  ")
	if !ok || name != ChainFile || strings.Contains(line, "\n") {
		return chain.Hash{}, fmt.Errorf("%s: not a sha256sum line for %s", d.File(HashFile), ChainFile)
	}
	return chain.ParseHash(hexPart)
}

// AdminToken returns the node's admin token, creating it (0600) on first use.
func (d *Dir) AdminToken() (string, error) {
	if b, err := d.ReadFile(TokenFile); err == nil {
		tok := strings.TrimSpace(string(b))
		if len(tok) >= 32 {
			return tok, nil
		}
	}
	var raw [24]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	tok := hex.EncodeToString(raw[:])
	if err := d.WriteFileAtomic(TokenFile, []byte(tok+"\n"), 0o600); err != nil {
		return "", err
	}
	return tok, nil
}

// NodeID returns a stable identifier of this node (derived from its admin
// token, so that it needs no file of its own): bc-serve shows it in /health
// and bc-gossip uses it to recognise an address that points back at itself.
func (d *Dir) NodeID() (string, error) {
	tok, err := d.AdminToken()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte("bc-node-id\x00" + tok))
	return hex.EncodeToString(sum[:8]), nil
}

// maxSmallFile bounds what ReadFile reads: the small files of the
// directory (status, neighbour list, requests, announcements) are far
// smaller, and a planted huge one must not cost memory.
const maxSmallFile = 16 << 20

// ReadFile reads a small file of the directory (never through a symlink);
// a missing file gives nil, nil.
func (d *Dir) ReadFile(name string) ([]byte, error) {
	f, err := d.openRead(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSmallFile+1))
	if err == nil && len(b) > maxSmallFile {
		err = fmt.Errorf("%s is larger than %d bytes", d.File(name), maxSmallFile)
	}
	if err != nil {
		return nil, err
	}
	return b, nil
}

// ReadJSON decodes the named small JSON file (a status or request file) into
// v; ok is false when it is missing or unreadable, which callers treat alike.
func (d *Dir) ReadJSON(name string, v any) (ok bool) {
	b, err := d.ReadFile(name)
	return err == nil && b != nil && json.Unmarshal(b, v) == nil
}

// WriteJSON replaces the named file with v as one JSON line, atomically.
func (d *Dir) WriteJSON(name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("write %s: %w", d.File(name), err)
	}
	return d.WriteFileAtomic(name, append(b, '\n'), FileMode)
}

// Update runs fn on the named file's content under the file's lock and
// writes fn's result atomically, for read-modify-write by several programs.
func (d *Dir) Update(ctx context.Context, name, lockName string, fn func(old []byte) ([]byte, error)) error {
	l, err := d.lock(ctx, lockName, false, d.lockWait)
	if err != nil {
		return err
	}
	defer l.Unlock()
	old, err := d.ReadFile(name)
	if err != nil {
		return err
	}
	data, err := fn(old)
	if err != nil || data == nil {
		return err
	}
	return d.WriteFileAtomic(name, data, FileMode)
}

// copyPrefix copies the first n bytes of src to dst.
func copyPrefix(dst io.Writer, src *os.File, n int64) error {
	if _, err := src.Seek(0, io.SeekStart); err != nil {
		return err
	}
	written, err := io.CopyN(dst, src, n)
	if err != nil {
		return fmt.Errorf("copy %d of %d bytes: %w", written, n, err)
	}
	return nil
}

// tiebreak is the content of TiebreakFile.
type tiebreak struct {
	Tip chain.Hash `json:"tip"`
}

// RequestTiebreak asks the miner for one empty block on tip, to settle a tie
// with a fork of equal work (see the README).
func (d *Dir) RequestTiebreak(tip chain.Hash) error {
	return d.WriteJSON(TiebreakFile, tiebreak{Tip: tip})
}

// Tiebreak returns the tip a tie-break block was asked for, if any.
func (d *Dir) Tiebreak() (chain.Hash, bool) {
	var t tiebreak
	ok := d.ReadJSON(TiebreakFile, &t)
	return t.Tip, ok
}

// ClearTiebreak removes the request.
func (d *Dir) ClearTiebreak() {
	_ = os.Remove(d.File(TiebreakFile))
}
