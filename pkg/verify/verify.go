// Package verify is bc-verify: it checks chains read from files, stdin, or
// the JSON document a node's /chain endpoint returns, streaming them so that
// memory does not grow with their length.
package verify

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/alecthomas/kong"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/cli"
	"github.com/bc-chain/bc/pkg/cmdline"
	"github.com/bc-chain/bc/pkg/validate"
)

// CLI is bc-verify's command line.
type CLI struct {
	cli.Common
	Files     []string      `arg:"" optional:"" name:"file" help:"Chains to verify: chain files (one block per line) or /chain JSON documents; - or none reads stdin."`
	JSON      bool          `help:"Print one JSON report per input on stdout."`
	Quiet     bool          `short:"q" help:"Print nothing; the exit code tells."`
	Progress  string        `help:"Progress bar on stderr: auto (when stderr is a terminal and the input is large), always or never." default:"auto" enum:"auto,always,never"`
	Genesis   string        `help:"Require this genesis hash (64 hex digits)." placeholder:"HASH"`
	MaxFuture time.Duration `help:"How far ahead of this machine's clock a block timestamp may be." default:"${max_future}"`
}

// Main runs bc-verify with args and returns its exit code.
func Main(args []string) int {
	var c CLI
	return cli.Main("bc-verify", c.Description(),
		&c, &c.Common, args, c.run)
}

// Description says what bc-verify does (--help, the man page).
func (*CLI) Description() string {
	return "Verify bc chains: every block's format, hash, link and proof of work. Exit 0 when all are valid, 1 when one is not, 2 on usage or I/O errors."
}

// Vars gives the defaults of the flags, kept in Go constants.
func (c *CLI) Vars() kong.Vars {
	return kong.Vars{"max_future": validate.DefaultMaxFuture.String()}
}

// Report is the outcome for one input (the --json output).
type Report struct {
	File       string        `json:"file"`
	Valid      bool          `json:"valid"`
	Blocks     uint64        `json:"blocks"`
	Bytes      int64         `json:"bytes"`
	Seconds    float64       `json:"seconds"`
	Network    string        `json:"network,omitempty"`
	Strategy   string        `json:"strategy,omitempty"`
	Difficulty uint32        `json:"difficulty,omitempty"`
	Genesis    string        `json:"genesis,omitempty"`
	TipIndex   *uint64       `json:"tip_index,omitempty"`
	TipHash    string        `json:"tip_hash,omitempty"`
	Error      *RuleReport   `json:"error,omitempty"`
	IOError    string        `json:"io_error,omitempty"`
	Params     *chain.Params `json:"-"`
	rule       *validate.RuleError
}

// RuleReport is a broken rule in --json output.
type RuleReport struct {
	Rule   string `json:"rule"`
	Line   int    `json:"line"`
	Index  uint64 `json:"index"`
	Hash   string `json:"hash,omitempty"`
	Got    string `json:"got,omitempty"`
	Want   string `json:"want,omitempty"`
	Detail string `json:"detail"`
}

func (c *CLI) run(ctx context.Context, env *cli.Env) error {
	opts := validate.Options{MaxFuture: c.MaxFuture}
	if c.Genesis != "" {
		g, err := chain.ParseHash(c.Genesis)
		if err != nil {
			return fmt.Errorf("--genesis: %w", err)
		}
		opts.Genesis = g
	}
	open, closePlugins := env.Opener()
	defer closePlugins()
	files := c.Files
	if len(files) == 0 {
		files = []string{"-"}
	}
	worst := cli.ExitOK
	for _, name := range files {
		rep, err := c.verifyFile(ctx, env, name, opts, open)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		c.print(env, rep)
		switch {
		case err != nil:
			worst = cli.ExitUsage
			if !c.JSON && !c.Quiet {
				fmt.Fprintf(env.Stderr, "bc-verify: %s: %v\n", name, err)
			}
		case !rep.Valid && worst == cli.ExitOK:
			worst = cli.ExitFailed
		}
	}
	if worst != cli.ExitOK {
		return cli.Quiet(worst)
	}
	return nil
}

func (c *CLI) verifyFile(ctx context.Context, env *cli.Env, name string, opts validate.Options, open validate.Opener) (Report, error) {
	rep := Report{File: name}
	var r io.Reader = env.Stdin
	size := int64(-1)
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			rep.IOError = err.Error()
			return rep, err
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			size = st.Size()
		}
		r = f
	} else {
		rep.File = "stdin"
	}
	prog := newProgress(env.Stderr, c.Progress, size, c.Quiet)
	defer prog.finish()
	start := time.Now()
	res, err := Verify(ctx, r, opts, open, prog.update)
	rep.Seconds = time.Since(start).Seconds()
	rep.Bytes = res.Bytes
	if res.Params != nil {
		rep.Params = res.Params
		rep.Network, rep.Strategy, rep.Difficulty = res.Params.Network, res.Params.Strategy, res.Params.Difficulty
		rep.Genesis = res.Genesis.String()
	}
	rep.Blocks = res.Blocks
	if err != nil {
		if re := validate.AsRuleError(err); re != nil {
			rep.rule = re
			rep.Error = &RuleReport{Rule: re.Rule.String(), Line: re.Line, Index: re.Index, Got: re.Got, Want: re.Want, Detail: re.Detail}
			if !re.Hash.IsZero() {
				rep.Error.Hash = re.Hash.String()
			}
			return rep, nil
		}
		rep.IOError = err.Error()
		return rep, err
	}
	rep.Valid = true
	tip := res.Tip.Index
	rep.TipIndex, rep.TipHash = &tip, res.Tip.Hash.String()
	return rep, nil
}

// rateFromBlocks is the chain length from which bc-verify reports blocks/s.
const rateFromBlocks = 1000

func (c *CLI) print(env *cli.Env, rep Report) {
	switch {
	case c.Quiet:
	case c.JSON:
		enc := json.NewEncoder(env.Stdout)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(rep)
	case rep.Valid:
		// The time includes starting the plugin: for a short chain a rate
		// would measure that, not the check, so it is given from
		// rateFromBlocks blocks on.
		took := fmt.Sprintf("%.2f s", rep.Seconds)
		if rep.Blocks >= rateFromBlocks {
			took += fmt.Sprintf(", %.0f blocks/s", float64(rep.Blocks)/rep.Seconds)
		}
		fmt.Fprintf(env.Stdout, "%s: OK: %s, tip %d %.16s…, strategy %s, difficulty %d, network %s (%s)\n",
			rep.File, cmdline.Count(rep.Blocks, "block"), *rep.TipIndex, rep.TipHash, rep.Strategy, rep.Difficulty, rep.Network, took)
	case rep.rule != nil:
		fmt.Fprintf(env.Stdout, "%s: INVALID: %v\n", rep.File, rep.rule)
	}
}

// Result summarises a valid chain.
type Result = validate.Result

// Verify checks the chain read from r, which may be a chain file or a
// /chain JSON document ({"chain": [blocks...], "length": n}, compact or
// pretty-printed). progress, if not nil, is called now and then.
func Verify(ctx context.Context, r io.Reader, opts validate.Options, open validate.Opener, progress func(bytes int64, blocks uint64)) (Result, error) {
	br := bufio.NewReaderSize(r, chain.MaxLineBytes+1)
	head, _ := br.Peek(64)
	trimmed := bytes.TrimLeft(head, " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '{' && !bytes.HasPrefix(trimmed, []byte(`{"index"`)) {
		return verifyDocument(ctx, br, opts, open, progress)
	}
	return validate.VerifyReader(ctx, br, opts, open, progress)
}

// verifyDocument streams the blocks of a /chain document through a
// validate.Stream, one array element at a time.
func verifyDocument(ctx context.Context, br *bufio.Reader, opts validate.Options, open validate.Opener, progress func(int64, uint64)) (Result, error) {
	s := validate.NewStream(ctx, opts, open)
	d := &docReader{r: br}
	var res Result
	length := int64(-1)
	count := 0
	err := d.object(func(key string) error {
		switch key {
		case "chain":
			return d.array(func(elem []byte) error {
				count++
				if err := s.Add(count, elem); err != nil {
					return err
				}
				if progress != nil && count&0x3fff == 0 {
					progress(d.n, s.Checker().Blocks())
				}
				return nil
			})
		case "length":
			n, err := d.number()
			length = n
			return err
		default:
			return fmt.Errorf("unexpected key %q in a /chain document", key)
		}
	})
	if err == nil && count == 0 {
		err = &validate.RuleError{Rule: validate.RuleGenesisIndex, Line: 1, Detail: "the chain is empty: no genesis"}
	}
	if cerr := s.Close(); cerr != nil && (err == nil || validate.AsRuleError(err) == nil || validate.AsRuleError(cerr) != nil) {
		err = cerr
	}
	res.Bytes = d.n
	if progress != nil {
		progress(d.n, s.Checker().Blocks())
	}
	if err != nil {
		return res, err
	}
	if length >= 0 && length != int64(count) {
		return res, fmt.Errorf("the document says length %d but holds %d blocks", length, count)
	}
	c := s.Checker()
	res.Blocks, res.Params, res.Genesis, res.Tip = c.Blocks(), c.Params(), c.Genesis(), c.Last()
	return res, nil
}

// docReader is a small streaming JSON reader for the shape of a /chain
// document; each block is handed over compacted, and none may exceed
// chain.MaxLineBytes, so memory stays bounded.
type docReader struct {
	r   *bufio.Reader
	n   int64
	buf []byte
	out bytes.Buffer
}

var errDoc = errors.New("not a /chain document")

func (d *docReader) byte() (byte, error) {
	b, err := d.r.ReadByte()
	if err == nil {
		d.n++
	}
	return b, err
}

func (d *docReader) skipSpace() (byte, error) {
	for {
		b, err := d.byte()
		if err != nil {
			return 0, fmt.Errorf("%w: unexpected end at byte %d", errDoc, d.n)
		}
		if b != ' ' && b != '\t' && b != '\r' && b != '\n' {
			return b, nil
		}
	}
}

func (d *docReader) expect(want byte) error {
	b, err := d.skipSpace()
	if err != nil {
		return err
	}
	if b != want {
		return fmt.Errorf("%w: want %q at byte %d, got %q", errDoc, want, d.n, b)
	}
	return nil
}

// object reads {"key": value, ...}, calling fn to read each value.
func (d *docReader) object(fn func(key string) error) error {
	if err := d.expect('{'); err != nil {
		return err
	}
	for first := true; ; first = false {
		b, err := d.skipSpace()
		if err != nil {
			return err
		}
		if b == '}' && first {
			return nil
		}
		if !first {
			if b == '}' {
				return nil
			}
			if b != ',' {
				return fmt.Errorf("%w: want ',' or '}' at byte %d", errDoc, d.n)
			}
			if b, err = d.skipSpace(); err != nil {
				return err
			}
		}
		if b != '"' {
			return fmt.Errorf("%w: want a key at byte %d", errDoc, d.n)
		}
		var key []byte
		for {
			c, err := d.byte()
			if err != nil || len(key) > 64 {
				return fmt.Errorf("%w: bad key at byte %d", errDoc, d.n)
			}
			if c == '"' {
				break
			}
			key = append(key, c)
		}
		if err := d.expect(':'); err != nil {
			return err
		}
		if err := fn(string(key)); err != nil {
			return err
		}
	}
}

// array reads [elem, ...] of objects, calling fn with each, compacted.
func (d *docReader) array(fn func(elem []byte) error) error {
	if err := d.expect('['); err != nil {
		return err
	}
	for first := true; ; first = false {
		b, err := d.skipSpace()
		if err != nil {
			return err
		}
		if b == ']' {
			return nil
		}
		if !first {
			if b != ',' {
				return fmt.Errorf("%w: want ',' or ']' at byte %d", errDoc, d.n)
			}
			if b, err = d.skipSpace(); err != nil {
				return err
			}
		}
		if b != '{' {
			return fmt.Errorf("%w: block %d is not an object (byte %d)", errDoc, d.n, d.n)
		}
		elem, err := d.element()
		if err != nil {
			return err
		}
		if err := fn(elem); err != nil {
			return err
		}
	}
}

// element reads the rest of an object whose '{' was consumed.
func (d *docReader) element() ([]byte, error) {
	d.buf = append(d.buf[:0], '{')
	depth, inString, escaped := 1, false, false
	for depth > 0 {
		c, err := d.byte()
		if err != nil {
			return nil, fmt.Errorf("%w: unexpected end inside a block", errDoc)
		}
		if len(d.buf) >= 2*chain.MaxLineBytes {
			return nil, fmt.Errorf("%w: a block is longer than %d bytes", errDoc, 2*chain.MaxLineBytes)
		}
		d.buf = append(d.buf, c)
		switch {
		case inString && escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case !inString && (c == '{' || c == '['):
			depth++
		case !inString && (c == '}' || c == ']'):
			depth--
		}
	}
	d.out.Reset()
	if err := json.Compact(&d.out, d.buf); err != nil {
		return nil, fmt.Errorf("%w: %v", errDoc, err)
	}
	return d.out.Bytes(), nil
}

func (d *docReader) number() (int64, error) {
	b, err := d.skipSpace()
	if err != nil {
		return 0, err
	}
	var n int64
	for digits := 0; ; digits++ {
		if b < '0' || b > '9' {
			if digits == 0 {
				return 0, fmt.Errorf("%w: want a number at byte %d", errDoc, d.n)
			}
			d.n--
			return n, d.r.UnreadByte()
		}
		if digits > 18 {
			return 0, fmt.Errorf("%w: number too long at byte %d", errDoc, d.n)
		}
		n = n*10 + int64(b-'0')
		if b, err = d.byte(); err != nil {
			return n, nil
		}
	}
}
