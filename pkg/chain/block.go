package chain

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/bc-chain/bc/pkg/sha256block"
)

// Limits every reader enforces. They bound the memory a hostile line can make
// a reader use and are part of the format: a block that exceeds one is invalid.
const (
	// MaxLineBytes bounds one encoded block, excluding the newline.
	MaxLineBytes = 1 << 20
	// MaxMessageBytes bounds one message, counted in bytes of UTF-8 text
	// (after JSON unescaping).
	MaxMessageBytes = 4096
	// MaxMessages bounds the messages of one block.
	MaxMessages = 1024
	// MaxOptions bounds the strategy options recorded in a genesis.
	MaxOptions = 16
	// MaxNameBytes bounds a network, strategy or option name.
	MaxNameBytes = 64
)

// FormatVersion is the version of this format that a genesis records.
// Version 2 binds message ids to their text (see MessageID); chains of
// version 1, whose ids were free, are refused.
const FormatVersion = 2

// GenesisMessage is the text the genesis block carries, as in the seed.
const GenesisMessage = "This is the workload of the very first Block in this chain!"

// GenesisID is the message id of the genesis message.
const GenesisID = "00000000-0000-0000-0000-000000000000"

// GenesisTimestamp is the fixed genesis time (2020-02-09T00:00:00Z, the date of
// the seed's documentation) in Unix milliseconds. A fixed time is what makes
// the genesis a pure function of the chain parameters.
const GenesisTimestamp = 1581206400000

// DefaultNetwork is the network name used when none is given.
const DefaultNetwork = "bc"

// Hash is a SHA-256 digest.
type Hash [32]byte

// String returns the lowercase hex form used everywhere in bc.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// IsZero reports whether every byte is zero (the genesis previous_hash).
func (h Hash) IsZero() bool { return h == Hash{} }

// MarshalText encodes the hash as lowercase hex.
func (h Hash) MarshalText() ([]byte, error) {
	out := make([]byte, 64)
	hex.Encode(out, h[:])
	return out, nil
}

// UnmarshalText accepts exactly 64 lowercase hex digits.
func (h *Hash) UnmarshalText(b []byte) error {
	v, err := ParseHash(string(b))
	if err != nil {
		return err
	}
	*h = v
	return nil
}

// ParseHash parses 64 lowercase hex digits.
func ParseHash(s string) (Hash, error) {
	var h Hash
	if len(s) != 64 {
		return h, fmt.Errorf("hash %q: want 64 hex digits, got %d characters", truncate(s, 80), len(s))
	}
	for i := 0; i < 64; i++ {
		if !isLowerHex(s[i]) {
			return h, fmt.Errorf("hash %q: character %d is not a lowercase hex digit", truncate(s, 80), i+1)
		}
	}
	_, _ = hex.Decode(h[:], []byte(s))
	return h, nil
}

// Message is one piece of data carried by a block: the seed's Data(id, message).
type Message struct {
	ID   string `json:"id"`
	Text string `json:"message"`
}

// Option is one named strategy parameter recorded in the genesis, such as
// scrypt's cost N.
type Option struct {
	Name  string
	Value uint64
}

// Params are the chain parameters fixed in its genesis. Every node that starts
// with the same Params builds the same genesis, and every reader of a chain
// learns from its first line how to verify the rest.
type Params struct {
	Version    uint32   // format version, FormatVersion
	Network    string   // a free name that tells chains with equal strategy apart
	Strategy   string   // the proof-of-work strategy (plugin bc-pow-<Strategy>)
	Difficulty uint32   // its meaning is the strategy's (zero bits, zero hex digits)
	Options    []Option // strategy options, sorted by name, names unique
}

// Option returns the value of the named option and whether it is set.
func (p *Params) Option(name string) (uint64, bool) {
	for _, o := range p.Options {
		if o.Name == name {
			return o.Value, true
		}
	}
	return 0, false
}

// Equal reports whether two parameter sets are identical.
func (p *Params) Equal(q *Params) bool {
	if p == nil || q == nil {
		return p == q
	}
	if p.Version != q.Version || p.Network != q.Network || p.Strategy != q.Strategy ||
		p.Difficulty != q.Difficulty || len(p.Options) != len(q.Options) {
		return false
	}
	for i := range p.Options {
		if p.Options[i] != q.Options[i] {
			return false
		}
	}
	return true
}

// Validate checks the names and bounds of the parameters (not whether the
// strategy accepts them; that is the strategy's job).
func (p *Params) Validate() error {
	if p.Version == 1 {
		return errors.New("params: format version 1 is no longer supported: its message ids were not bound to their text, so a peer could censor any message; start a new chain (the old one stays readable as JSON)")
	}
	if p.Version != FormatVersion {
		return fmt.Errorf("params: format version %d is not supported (want %d)", p.Version, FormatVersion)
	}
	if err := checkName("network", p.Network, true); err != nil {
		return err
	}
	if err := checkName("strategy", p.Strategy, false); err != nil {
		return err
	}
	if len(p.Options) > MaxOptions {
		return fmt.Errorf("params: %d options, at most %d allowed", len(p.Options), MaxOptions)
	}
	for i, o := range p.Options {
		if err := checkName("option", o.Name, false); err != nil {
			return err
		}
		if i > 0 && p.Options[i-1].Name >= o.Name {
			return fmt.Errorf("params: options must be sorted by name without repeats (%q before %q)", p.Options[i-1].Name, o.Name)
		}
	}
	return nil
}

// checkName enforces the character set of parameter names: lowercase letters,
// digits and '-', '_' (plus '.' for network names), 1 to MaxNameBytes long,
// starting with a letter or digit.
func checkName(what, s string, allowDot bool) error {
	if s == "" || len(s) > MaxNameBytes {
		return fmt.Errorf("params: %s name %q must be 1 to %d characters", what, truncate(s, 80), MaxNameBytes)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || i > 0 && (c == '-' || c == '_' || allowDot && c == '.')
		if !ok {
			return fmt.Errorf("params: %s name %q: character %q not allowed (use a-z, 0-9, '-', '_')", what, truncate(s, 80), c)
		}
	}
	return nil
}

// Block is one line of a chain file.
type Block struct {
	Index     uint64    // 0 for the genesis, then +1 per block
	Timestamp uint64    // Unix milliseconds
	Params    *Params   // present on the genesis only
	Data      []Message // at least one message
	Proof     uint64    // the proof-of-work solution (0 in the genesis)
	PrevHash  Hash      // hash of the preceding block (all zero in the genesis)
	Hash      Hash      // hash of this block as stated in the line
}

// Time returns the block timestamp as a time.Time.
func (b *Block) Time() time.Time { return time.UnixMilli(int64(b.Timestamp)) }

// DataRoot returns the SHA-256 of the block body (see the package doc).
func (b *Block) DataRoot() Hash {
	body := AppendBody(nil, b.Data, b.Params)
	return sha256block.Sum(body)
}

// Header returns the fixed-size header whose SHA-256 is the block hash.
func (b *Block) Header() Header {
	return Header{Index: b.Index, Timestamp: b.Timestamp, PrevHash: b.PrevHash, DataRoot: b.DataRoot(), Proof: b.Proof}
}

// ComputeHash returns the canonical hash of the block's contents (ignoring
// the stated Hash field).
func (b *Block) ComputeHash() Hash {
	h := b.Header()
	return h.Hash()
}

// Summary returns the block's summary (with its stated hash).
func (b *Block) Summary() Summary {
	return Summary{Header: b.Header(), Hash: b.Hash, Params: b.Params, Messages: len(b.Data)}
}

// Clone returns a deep copy.
func (b *Block) Clone() *Block {
	c := *b
	c.Data = append([]Message(nil), b.Data...)
	if b.Params != nil {
		p := *b.Params
		p.Options = append([]Option(nil), b.Params.Options...)
		c.Params = &p
	}
	return &c
}

// HeaderSize is the length of an encoded header.
const HeaderSize = 96

// Header tags. They separate the two preimages from each other and from any
// other use of SHA-256, and carry the format version.
const (
	headerTag = "bc-head1"
	bodyTag   = "bc-data1"
)

// Header is the fixed-size summary of a block that its hash and proof of work
// commit to. The body (messages, genesis parameters) enters through DataRoot.
type Header struct {
	Index     uint64
	Timestamp uint64
	PrevHash  Hash
	DataRoot  Hash
	Proof     uint64
}

// Offset of the proof in an encoded header; strategies that search for a proof
// rewrite these 8 bytes.
const ProofOffset = HeaderSize - 8

// Encode writes the 96-byte header preimage into dst.
func (h *Header) Encode(dst *[HeaderSize]byte) {
	copy(dst[0:8], headerTag)
	binary.BigEndian.PutUint64(dst[8:16], h.Index)
	binary.BigEndian.PutUint64(dst[16:24], h.Timestamp)
	copy(dst[24:56], h.PrevHash[:])
	copy(dst[56:88], h.DataRoot[:])
	binary.BigEndian.PutUint64(dst[88:96], h.Proof)
}

// Hash returns SHA-256 of the encoded header: the block hash.
func (h *Header) Hash() Hash {
	var buf [HeaderSize]byte
	h.Encode(&buf)
	return sha256block.Sum(buf[:])
}

// DecodeHeader is the inverse of Encode.
func DecodeHeader(src []byte) (Header, error) {
	var h Header
	if len(src) != HeaderSize || string(src[0:8]) != headerTag {
		return h, errors.New("not a bc header: want 96 bytes starting with \"" + headerTag + "\"")
	}
	h.Index = binary.BigEndian.Uint64(src[8:16])
	h.Timestamp = binary.BigEndian.Uint64(src[16:24])
	copy(h.PrevHash[:], src[24:56])
	copy(h.DataRoot[:], src[56:88])
	h.Proof = binary.BigEndian.Uint64(src[88:96])
	return h, nil
}

// AppendBody appends the canonical body encoding of messages and optional
// genesis parameters to dst (see the package documentation).
func AppendBody(dst []byte, data []Message, params *Params) []byte {
	dst = append(dst, bodyTag...)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(data)))
	for _, m := range data {
		dst = appendStr(dst, m.ID)
		dst = appendStr(dst, m.Text)
	}
	return appendParams(dst, params)
}

func appendParams(dst []byte, p *Params) []byte {
	if p == nil {
		return append(dst, 0)
	}
	dst = append(dst, 1)
	dst = binary.BigEndian.AppendUint32(dst, p.Version)
	dst = appendStr(dst, p.Network)
	dst = appendStr(dst, p.Strategy)
	dst = binary.BigEndian.AppendUint32(dst, p.Difficulty)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(p.Options)))
	for _, o := range p.Options {
		dst = appendStr(dst, o.Name)
		dst = binary.BigEndian.AppendUint64(dst, o.Value)
	}
	return dst
}

func appendStr(dst []byte, s string) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(s)))
	return append(dst, s...)
}

// Genesis returns the genesis block for the given parameters. It is a pure
// function of params: equal parameters give byte-identical genesis lines.
func Genesis(params Params) (*Block, error) {
	if err := params.Validate(); err != nil {
		return nil, err
	}
	p := params
	p.Options = append([]Option(nil), params.Options...)
	b := &Block{
		Index:     0,
		Timestamp: GenesisTimestamp,
		Params:    &p,
		Data:      []Message{{ID: GenesisID, Text: GenesisMessage}},
	}
	b.Hash = b.ComputeHash()
	return b, nil
}

func isLowerHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// RecordSize is the length of a work record: what a strategy plugin needs to
// verify or hash one block's proof of work. A record is the 96-byte header
// followed by the previous block's proof as a big-endian uint64 (the classic
// strategy's input).
const RecordSize = HeaderSize + 8

// AppendRecord appends the work record of h (whose predecessor's proof is
// prevProof) to dst.
func AppendRecord(dst []byte, h *Header, prevProof uint64) []byte {
	var buf [HeaderSize]byte
	h.Encode(&buf)
	dst = append(dst, buf[:]...)
	return binary.BigEndian.AppendUint64(dst, prevProof)
}
