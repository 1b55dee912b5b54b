// Package store owns a chain directory: the files every bc binary shares.
//
//	node.chain        the chain, one canonical block per line (package chain)
//	node.hash         sha256sum-style digest of node.chain (bc-backup)
//	node.lock         flock'd by every writer of node.chain, never replaced
//	pending.jsonl     messages waiting to be mined, one JSON object per line
//	pending.lock      shared by appenders, exclusive for compaction
//	tiebreak.json     bc-gossip's request for an empty block on a tip
//	admin.token       bc-serve's admin token, mode 0600
//	inbox/            announcements handed from bc-serve to bc-gossip
//	backups/          bc-backup's timestamped copies
//	torn/             torn chain tails and damaged pending lines moved aside
//	<daemon>.pid      one per running daemon, flock'd for its lifetime
//	.fork-*.tmp       a fork bc-gossip is downloading
//
// Package node defines the files the daemons share besides these:
// neighbours.json and neighbours.lock (the neighbour book), and the status
// files bc-mine.status.json, bc-gossip.status.json, bc-serve.status.json.
// No file of the directory is opened through a symlink (see safe.go).
//
// Writers of node.chain take node.lock for each change, never for longer, and
// either append (one write of whole lines, then fdatasync) after checking
// that the tip is still the one they built on (compare-and-append), or
// replace the whole file atomically (temporary file in the directory, fsync,
// rename, fsync of the directory). Before its first write a writer runs
// Recover: a torn or corrupt last line is moved aside into torn/ and cut off;
// damage before the last line is refused, never silently truncated.
//
// Readers take no lock. A View indexes the file, consuming complete lines
// only, and follows appends (from the last offset) and replacements (a new
// inode: read again) through Watch, which watches the directory with
// fsnotify, treats events as hints and rescans every few seconds.
//
// A message is pending from the moment its line in pending.jsonl is on disk
// (AddPending returns after fdatasync) until a block carrying its id is in
// node.chain; compaction later drops such lines. No message can be lost
// between the two files: the chain append is the only commit point.
package store
