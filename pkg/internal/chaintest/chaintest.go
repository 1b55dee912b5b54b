// Package chaintest builds valid (or deliberately broken) chains in memory
// for tests and benchmarks, sealing blocks with a strategy in-process.
package chaintest

import (
	"bufio"
	"context"
	"fmt"
	"io"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/pow"
)

// Builder appends sealed blocks to a chain.
type Builder struct {
	Params   chain.Params
	Strategy pow.Strategy
	Blocks   []*chain.Block
	// Clock is the timestamp (Unix ms) the next block gets; each block
	// advances it by Step.
	Clock, Step uint64
	ids         uint64
}

// BaseTime is the timestamp of the first block after the genesis
// (2024-01-01T00:00:00Z), so that generated chains are reproducible.
const BaseTime = 1704067200000

// NewBuilder starts a chain with s at the given difficulty (other params
// default) and network "test".
func NewBuilder(s pow.Strategy, difficulty uint32) (*Builder, error) {
	p, err := pow.NewParams(s.Describe(), "test", &difficulty, nil)
	if err != nil {
		return nil, err
	}
	return NewBuilderParams(s, p)
}

// NewBuilderParams starts a chain with the given params.
func NewBuilderParams(s pow.Strategy, p chain.Params) (*Builder, error) {
	g, err := chain.Genesis(p)
	if err != nil {
		return nil, err
	}
	return &Builder{Params: p, Strategy: s, Blocks: []*chain.Block{g}, Clock: BaseTime, Step: 1000}, nil
}

// NextID returns a message id for text with a deterministic nonce (so
// that generated files are reproducible), bound to text as the format
// requires.
func (b *Builder) NextID(text string) string {
	b.ids++
	var nonce [6]byte
	for i := range nonce {
		nonce[i] = byte(b.ids >> (8 * (5 - i)))
	}
	return chain.MessageID(nonce, text)
}

// Tip returns the last block.
func (b *Builder) Tip() *chain.Block { return b.Blocks[len(b.Blocks)-1] }

// Next returns an unsealed block that continues the chain with messages.
func (b *Builder) Next(messages ...string) *chain.Block {
	tip := b.Tip()
	nb := &chain.Block{Index: tip.Index + 1, Timestamp: b.Clock, PrevHash: tip.Hash}
	for _, m := range messages {
		nb.Data = append(nb.Data, chain.Message{ID: b.NextID(m), Text: m})
	}
	return nb
}

// Seal finds a proof for nb (whose previous block's proof is prevProof)
// and sets its Proof and Hash.
func (b *Builder) Seal(nb *chain.Block, prevProof uint64) error {
	h := nb.Header()
	req := pow.SealRequest{Params: b.Params, PrevProof: prevProof, Threads: 1}
	h.Encode(&req.Header)
	res, err := b.Strategy.Seal(context.Background(), req, nil)
	if err != nil {
		return err
	}
	nb.Proof = res.Proof
	nb.Hash = nb.ComputeHash()
	return nil
}

// Append seals nb and adds it to the chain (nb may break rules on purpose;
// only its proof and hash are filled in).
func (b *Builder) Append(nb *chain.Block) error {
	if err := b.Seal(nb, b.Tip().Proof); err != nil {
		return err
	}
	b.Blocks = append(b.Blocks, nb)
	b.Clock += b.Step
	return nil
}

// Add appends a valid block carrying messages.
func (b *Builder) Add(messages ...string) (*chain.Block, error) {
	nb := b.Next(messages...)
	return nb, b.Append(nb)
}

// AddN appends n valid blocks with perBlock messages each.
func (b *Builder) AddN(n, perBlock int) error {
	msgs := make([]string, perBlock)
	for i := 0; i < n; i++ {
		for j := range msgs {
			msgs[j] = fmt.Sprintf("message %d.%d", len(b.Blocks), j)
		}
		if _, err := b.Add(msgs...); err != nil {
			return err
		}
	}
	return nil
}

// Bytes returns the chain file.
func (b *Builder) Bytes() []byte {
	var out []byte
	for _, blk := range b.Blocks {
		out = append(blk.AppendJSON(out), '\n')
	}
	return out
}

// Lines returns each block's canonical line.
func (b *Builder) Lines() [][]byte {
	out := make([][]byte, len(b.Blocks))
	for i, blk := range b.Blocks {
		out[i] = blk.AppendJSON(nil)
	}
	return out
}

// Generate writes a valid chain of n blocks after the genesis, perBlock
// messages each, to w without keeping it in memory.
func Generate(w io.Writer, s pow.Strategy, p chain.Params, n, perBlock int) error {
	b, err := NewBuilderParams(s, p)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	var line []byte
	line = b.Tip().AppendJSON(line[:0])
	if _, err := bw.Write(append(line, '\n')); err != nil {
		return err
	}
	msgs := make([]string, perBlock)
	for i := 1; i <= n; i++ {
		for j := range msgs {
			msgs[j] = fmt.Sprintf("message %d.%d", i, j)
		}
		nb := b.Next(msgs...)
		if err := b.Seal(nb, b.Tip().Proof); err != nil {
			return err
		}
		b.Blocks[0] = nb // keep only the tip
		b.Clock += b.Step
		line = nb.AppendJSON(line[:0])
		if _, err := bw.Write(append(line, '\n')); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// Continue returns a builder that appends to a chain of params whose last
// block is tip (read back from a file, say). Its message ids start far from
// those of NewBuilder, so the two never collide.
func Continue(s pow.Strategy, p chain.Params, tip *chain.Block) *Builder {
	return &Builder{Params: p, Strategy: s, Blocks: []*chain.Block{tip}, Clock: tip.Timestamp + 1000, Step: 1000, ids: 1<<48 + tip.Index<<16}
}

// Load reads a chain file into a builder that continues it, sealing new
// blocks with s (whose parameters the genesis gives).
func Load(r io.Reader, s pow.Strategy) (*Builder, error) {
	lr := chain.NewLineReader(r)
	var p chain.Parser
	var blocks []*chain.Block
	for {
		line, err := lr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		var b chain.Block
		if err := p.Parse(line, &b); err != nil {
			return nil, fmt.Errorf("line %d: %w", lr.Line(), err)
		}
		blocks = append(blocks, &b)
	}
	if len(blocks) == 0 || blocks[0].Params == nil {
		return nil, fmt.Errorf("no genesis")
	}
	tip := blocks[len(blocks)-1]
	return &Builder{Params: *blocks[0].Params, Strategy: s, Blocks: blocks, Clock: max(tip.Timestamp+1000, BaseTime), Step: 1000, ids: 1<<40 + uint64(len(blocks))<<16}, nil
}

// Fork returns a builder that shares b's blocks up to and including index
// at, to grow another branch from there.
func (b *Builder) Fork(at uint64) *Builder {
	f := *b
	f.Blocks = append([]*chain.Block(nil), b.Blocks[:at+1]...)
	f.Clock = b.Blocks[at].Timestamp + 777
	f.ids = b.ids + 1<<32
	return &f
}
