package chain

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/bc-chain/bc/pkg/sha256block"
)

var (
	errEmptyMessage   = errors.New("message is empty")
	errBlankMessage   = errors.New("message is only white space")
	errMessageTooLong = fmt.Errorf("message is longer than %d bytes", MaxMessageBytes)
	errMessageNotUTF8 = errors.New("message is not valid UTF-8")
)

// ParseError says why a line is not a canonical block: where (line and
// column, both 1-based) and what.
type ParseError struct {
	Line   int // 0 when the parser was given a line without context
	Column int
	Msg    string
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Msg)
	}
	return fmt.Sprintf("column %d: %s", e.Column, e.Msg)
}

// Summary is what validation needs of a block: its header, the hash the line
// states, the genesis parameters if any, and the number of messages.
type Summary struct {
	Header
	Hash     Hash
	Params   *Params
	Messages int
}

// Parser parses canonical block lines. A Parser reuses its buffers between
// calls, so ParseSummary does not allocate (except for genesis parameters).
// It is not safe for concurrent use.
type Parser struct {
	line  []byte
	pos   int
	body  []byte      // canonical body encoding, built while parsing
	spans []span      // where each message's id and text sit in body
	err   *ParseError // the last failure
}

type span struct{ id, idEnd, text, textEnd int }

// block field names in canonical order; params is optional.
var blockFields = []string{"index", "timestamp", "params", "data", "proof", "previous_hash", "hash"}
var paramFields = []string{"version", "network", "strategy", "difficulty", "options"}
var messageFields = []string{"id", "message"}

// Parse parses one canonical line (without its newline) into b, including
// copies of every message.
func (p *Parser) Parse(line []byte, b *Block) error {
	var s Summary
	if err := p.parse(line, &s); err != nil {
		return err
	}
	b.Index, b.Timestamp, b.Params, b.Proof = s.Index, s.Timestamp, s.Params, s.Proof
	b.PrevHash, b.Hash = s.PrevHash, s.Hash
	b.Data = b.Data[:0]
	for _, sp := range p.spans {
		b.Data = append(b.Data, Message{ID: string(p.body[sp.id:sp.idEnd]), Text: string(p.body[sp.text:sp.textEnd])})
	}
	return nil
}

// ParseSummary parses one canonical line into s without keeping the messages;
// the data root is computed on the way.
func (p *Parser) ParseSummary(line []byte, s *Summary) error {
	return p.parse(line, s)
}

// NumMessages returns how many messages the last successful parse found.
func (p *Parser) NumMessages() int { return len(p.spans) }

// ID returns the id of message i of the last successful parse, as a view
// into the parser's buffer, valid until the next call.
func (p *Parser) ID(i int) []byte { return p.body[p.spans[i].id:p.spans[i].idEnd] }

// Text returns the text of message i of the last successful parse, as a view
// into the parser's buffer, valid until the next call.
func (p *Parser) Text(i int) []byte { return p.body[p.spans[i].text:p.spans[i].textEnd] }

func (p *Parser) parse(line []byte, s *Summary) error {
	p.line, p.pos = line, 0
	p.body = append(p.body[:0], bodyTag...)
	p.body = append(p.body, 0, 0, 0, 0) // message count, filled in below
	p.spans = p.spans[:0]
	*s = Summary{}
	if len(line) > MaxLineBytes {
		return p.fail(MaxLineBytes, "line is longer than %d bytes", MaxLineBytes)
	}
	if !p.lit('{') {
		return p.unexpected("'{' to open a block")
	}
	var ok bool
	if !p.key(blockFields, 0) {
		return p.err
	}
	if s.Index, ok = p.uint("index", 1<<63-1); !ok {
		return p.err
	}
	if !p.next(blockFields, 1) {
		return p.err
	}
	if s.Timestamp, ok = p.uint("timestamp", 1<<63-1); !ok {
		return p.err
	}
	if !p.lit(',') {
		return p.unexpectedAfter(blockFields, 1)
	}
	if p.peekKey("params") {
		p.key(blockFields, 2)
		if s.Params, ok = p.params(); !ok {
			return p.err
		}
		if !p.lit(',') {
			return p.unexpectedAfter(blockFields, 2)
		}
	}
	if !p.key(blockFields, 3) {
		return p.err
	}
	if !p.messages() {
		return p.err
	}
	binary.BigEndian.PutUint32(p.body[len(bodyTag):], uint32(len(p.spans)))
	p.body = appendParams(p.body, s.Params)
	s.Messages = len(p.spans)
	if !p.next(blockFields, 4) {
		return p.err
	}
	if s.Proof, ok = p.uint("proof", 1<<64-1); !ok {
		return p.err
	}
	if !p.next(blockFields, 5) || !p.hash("previous_hash", &s.PrevHash) {
		return p.err
	}
	if !p.next(blockFields, 6) || !p.hash("hash", &s.Hash) {
		return p.err
	}
	if !p.closeObject(blockFields, 6) {
		return p.err
	}
	if p.pos != len(p.line) {
		return p.fail(p.pos, "unexpected data after the block (one block per line)")
	}
	s.DataRoot = sha256block.Sum(p.body)
	return nil
}

// messages parses the data array into p.body and p.spans.
func (p *Parser) messages() bool {
	if !p.lit('[') {
		p.wrongType("data", "array")
		return false
	}
	if p.lit(']') {
		return true
	}
	for {
		if len(p.spans) == MaxMessages {
			p.fail(p.pos, "block carries more than %d messages", MaxMessages)
			return false
		}
		if !p.lit('{') {
			p.wrongType("data element", "object")
			return false
		}
		var sp span
		if !p.key(messageFields, 0) {
			return false
		}
		idAt := p.pos
		if !p.str("id", 36, &sp.id, &sp.idEnd) {
			return false
		}
		if !validID(p.body[sp.id:sp.idEnd]) {
			p.fail(idAt, "message id %q is not a lowercase UUID (8-4-4-4-12 hex digits)", truncate(string(p.body[sp.id:sp.idEnd]), 40))
			return false
		}
		if !p.next(messageFields, 1) {
			return false
		}
		textAt := p.pos
		if !p.str("message", MaxMessageBytes, &sp.text, &sp.textEnd) {
			return false
		}
		// str checked the length and UTF-8; only emptiness is left.
		if sp.textEnd == sp.text {
			p.fail(textAt, "%v", errEmptyMessage)
			return false
		}
		if !p.closeObject(messageFields, 1) {
			return false
		}
		p.spans = append(p.spans, sp)
		if p.lit(']') {
			return true
		}
		if !p.lit(',') {
			p.unexpected("',' or ']' in data")
			return false
		}
	}
}

// params parses the genesis parameters object.
func (p *Parser) params() (*Params, bool) {
	if !p.lit('{') {
		p.wrongType("params", "object")
		return nil, false
	}
	var pr Params
	var v uint64
	var ok bool
	if !p.key(paramFields, 0) {
		return nil, false
	}
	if v, ok = p.uint("version", 1<<32-1); !ok {
		return nil, false
	}
	pr.Version = uint32(v)
	if !p.next(paramFields, 1) {
		return nil, false
	}
	if pr.Network, ok = p.name("network"); !ok {
		return nil, false
	}
	if !p.next(paramFields, 2) {
		return nil, false
	}
	if pr.Strategy, ok = p.name("strategy"); !ok {
		return nil, false
	}
	if !p.next(paramFields, 3) {
		return nil, false
	}
	if v, ok = p.uint("difficulty", 1<<32-1); !ok {
		return nil, false
	}
	pr.Difficulty = uint32(v)
	if !p.next(paramFields, 4) {
		return nil, false
	}
	if !p.lit('{') {
		p.wrongType("options", "object")
		return nil, false
	}
	if !p.lit('}') {
		for {
			if len(pr.Options) == MaxOptions {
				p.fail(p.pos, "more than %d options", MaxOptions)
				return nil, false
			}
			at := p.pos
			name, ok := p.name("option name")
			if !ok {
				return nil, false
			}
			if n := len(pr.Options); n > 0 && pr.Options[n-1].Name >= name {
				if pr.Options[n-1].Name == name {
					p.fail(at, "duplicate option %q", name)
				} else {
					p.fail(at, "option %q out of order (non-canonical: options are sorted by name)", name)
				}
				return nil, false
			}
			if !p.lit(':') {
				p.unexpected("':' after option name")
				return nil, false
			}
			if v, ok = p.uint("option "+name, 1<<64-1); !ok {
				return nil, false
			}
			pr.Options = append(pr.Options, Option{Name: name, Value: v})
			if p.lit('}') {
				break
			}
			if !p.lit(',') {
				p.unexpected("',' or '}' in options")
				return nil, false
			}
		}
	}
	if !p.closeObject(paramFields, 4) {
		return nil, false
	}
	return &pr, true
}

// name parses a short string without escapes (network, strategy, option names).
func (p *Parser) name(field string) (string, bool) {
	at := p.pos
	var a, b int
	mark := len(p.body)
	if !p.str(field, MaxNameBytes, &a, &b) {
		return "", false
	}
	s := string(p.body[a:b])
	p.body = p.body[:mark]
	if err := checkName(field, s, field == "network"); err != nil {
		p.fail(at, "%v", err)
		return "", false
	}
	return s, true
}

// str parses a canonical JSON string, appending its length-prefixed unescaped
// bytes to p.body; [*start, *end) is where the bytes landed.
func (p *Parser) str(field string, max int, start, end *int) bool {
	if !p.lit('"') {
		p.wrongType(field, "string")
		return false
	}
	lenAt := len(p.body)
	p.body = append(p.body, 0, 0, 0, 0)
	*start = len(p.body)
	line := p.line
	i := p.pos
	for {
		// Copy the run of bytes that need no attention in one go.
		runStart := i
		for i < len(line) && line[i] >= 0x20 && line[i] != '"' && line[i] != '\\' {
			i++
		}
		p.body = append(p.body, line[runStart:i]...)
		if len(p.body)-*start > max {
			return p.failB(runStart, "%s is longer than %d bytes", field, max)
		}
		if i >= len(line) {
			return p.failB(i, "unterminated string in %s", field)
		}
		c := line[i]
		if c == '"' {
			i++
			break
		}
		if c < 0x20 {
			return p.failB(i, "raw control character 0x%02x in %s (must be escaped)", c, field)
		}
		// A backslash escape; only the canonical ones are accepted.
		if i+1 >= len(line) {
			return p.failB(i, "unterminated escape in %s", field)
		}
		switch e := line[i+1]; e {
		case '"', '\\':
			p.body = append(p.body, e)
			i += 2
		case 'b':
			p.body = append(p.body, '\b')
			i += 2
		case 'f':
			p.body = append(p.body, '\f')
			i += 2
		case 'n':
			p.body = append(p.body, '\n')
			i += 2
		case 'r':
			p.body = append(p.body, '\r')
			i += 2
		case 't':
			p.body = append(p.body, '\t')
			i += 2
		case 'u':
			if i+6 > len(line) || line[i+2] != '0' || line[i+3] != '0' || !isLowerHex(line[i+4]) || !isLowerHex(line[i+5]) {
				return p.failB(i, "non-canonical escape in %s: only \\u00xx (lowercase) for control characters", field)
			}
			v := unhex(line[i+4])<<4 | unhex(line[i+5])
			if v >= 0x20 || v == '\b' || v == '\f' || v == '\n' || v == '\r' || v == '\t' {
				return p.failB(i, "non-canonical escape \\u%s in %s (write the character itself or its short escape)", line[i+2:i+6], field)
			}
			p.body = append(p.body, v)
			i += 6
		default:
			return p.failB(i, "non-canonical or invalid escape \\%c in %s", e, field)
		}
	}
	*end = len(p.body)
	if *end-*start > max {
		return p.failB(p.pos, "%s is longer than %d bytes", field, max)
	}
	if !utf8.Valid(p.body[*start:*end]) {
		return p.failB(p.pos, "%s is not valid UTF-8", field)
	}
	binary.BigEndian.PutUint32(p.body[lenAt:], uint32(*end-*start))
	p.pos = i
	return true
}

// hexValue maps a lowercase hex digit to its value and anything else to 0xff.
var hexValue = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = byte(c - '0')
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = byte(c-'a') + 10
	}
	return t
}()

func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c - 'a' + 10
}

// uint parses a canonical unsigned decimal integer no larger than max.
func (p *Parser) uint(field string, max uint64) (uint64, bool) {
	line := p.line
	i := p.pos
	if i >= len(line) || line[i] < '0' || line[i] > '9' {
		if i < len(line) && line[i] == '-' {
			p.fail(i, "%s must not be negative", field)
			return 0, false
		}
		p.wrongType(field, "unsigned integer")
		return 0, false
	}
	if line[i] == '0' && i+1 < len(line) && line[i+1] >= '0' && line[i+1] <= '9' {
		p.fail(i, "%s has a leading zero (non-canonical)", field)
		return 0, false
	}
	var v uint64
	for ; i < len(line) && line[i] >= '0' && line[i] <= '9'; i++ {
		d := uint64(line[i] - '0')
		if v > (max-d)/10 {
			p.fail(p.pos, "%s is larger than %d", field, max)
			return 0, false
		}
		v = v*10 + d
	}
	if i < len(line) && (line[i] == '.' || line[i] == 'e' || line[i] == 'E') {
		p.fail(i, "%s must be an integer without fraction or exponent", field)
		return 0, false
	}
	p.pos = i
	return v, true
}

// hash parses "<64 lowercase hex digits>".
func (p *Parser) hash(field string, h *Hash) bool {
	line := p.line
	i := p.pos
	if i >= len(line) || line[i] != '"' {
		p.wrongType(field, "string")
		return false
	}
	if i+66 > len(line) || line[i+65] != '"' {
		return p.failB(i, "%s must be 64 lowercase hex digits", field)
	}
	src := line[i+1 : i+65]
	var bad byte
	for j := 0; j < 32; j++ {
		hi, lo := hexValue[src[2*j]], hexValue[src[2*j+1]]
		bad |= hi | lo
		h[j] = hi<<4 | lo&0x0f
	}
	if bad&0x80 != 0 {
		for j, c := range src {
			if hexValue[c]&0x80 != 0 {
				return p.failB(i+1+j, "%s must be 64 lowercase hex digits", field)
			}
		}
	}
	p.pos = i + 66
	return true
}

// lit consumes c if it is next.
func (p *Parser) lit(c byte) bool {
	if p.pos < len(p.line) && p.line[p.pos] == c {
		p.pos++
		return true
	}
	return false
}

// peekKey reports whether `"name":` is next.
func (p *Parser) peekKey(name string) bool {
	rest := p.line[p.pos:]
	return len(rest) >= len(name)+3 && rest[0] == '"' && string(rest[1:1+len(name)]) == name && rest[1+len(name)] == '"' && rest[2+len(name)] == ':'
}

// key consumes `"fields[i]":` or explains what is there instead.
func (p *Parser) key(fields []string, i int) bool {
	if p.peekKey(fields[i]) {
		p.pos += len(fields[i]) + 3
		return true
	}
	p.badKey(fields, i)
	return false
}

// next consumes `,"fields[i]":`.
func (p *Parser) next(fields []string, i int) bool {
	if !p.lit(',') {
		p.unexpectedAfter(fields, i-1)
		return false
	}
	return p.key(fields, i)
}

// closeObject consumes '}' after fields[last] or explains what is there.
func (p *Parser) closeObject(fields []string, last int) bool {
	if p.lit('}') {
		return true
	}
	p.unexpectedAfter(fields, last)
	return false
}

// unexpectedAfter explains a byte that is neither ',' nor '}' after a field,
// or an extra field after the last one.
func (p *Parser) unexpectedAfter(fields []string, i int) error {
	if p.pos < len(p.line) && p.line[p.pos] == ',' && i == len(fields)-1 {
		p.pos++
		p.badKey(fields, len(fields))
		return p.err
	}
	if p.pos < len(p.line) && p.line[p.pos] == '}' && i < len(fields)-1 {
		return p.fail(p.pos, "missing field %q", fields[i+1])
	}
	return p.unexpected(fmt.Sprintf("',' after field %q", fields[i]))
}

// badKey explains why the expected key fields[i] is not next: a duplicate,
// a field out of canonical order, an unknown field, or something else.
func (p *Parser) badKey(fields []string, i int) {
	at := p.pos
	rest := p.line[at:]
	if len(rest) == 0 || rest[0] != '"' {
		if len(rest) > 0 && rest[0] == '}' && i < len(fields) {
			p.fail(at, "missing field %q", fields[i])
			return
		}
		want := "end of object"
		if i < len(fields) {
			want = fmt.Sprintf("field %q", fields[i])
		}
		p.unexpected(want)
		return
	}
	end := 1
	for end < len(rest) && end < 80 && rest[end] != '"' {
		end++
	}
	got := string(rest[1:end])
	for j, f := range fields {
		if f != got {
			continue
		}
		if j < i {
			p.fail(at, "duplicate field %q", got)
		} else {
			p.fail(at, "field %q out of order (canonical order: %s)", got, joinQuoted(fields))
		}
		return
	}
	p.fail(at, "unknown field %q", truncate(got, 40))
}

func joinQuoted(fields []string) string {
	s := ""
	for i, f := range fields {
		if i > 0 {
			s += ", "
		}
		s += f
	}
	return s
}

// unexpected reports the byte at the cursor when want was expected.
func (p *Parser) unexpected(want string) error {
	if p.pos >= len(p.line) {
		return p.fail(p.pos, "unexpected end of line, want %s", want)
	}
	c := p.line[p.pos]
	if c == ' ' || c == '\t' || c == '\r' || c == '\n' {
		return p.fail(p.pos, "whitespace is not allowed (non-canonical), want %s", want)
	}
	return p.fail(p.pos, "unexpected %q, want %s", c, want)
}

// wrongType reports a value of the wrong JSON type for field.
func (p *Parser) wrongType(field, want string) {
	if p.pos >= len(p.line) {
		p.fail(p.pos, "unexpected end of line, want %s for %s", want, field)
		return
	}
	got := ""
	switch c := p.line[p.pos]; {
	case c == '"':
		got = "string"
	case c == '{':
		got = "object"
	case c == '[':
		got = "array"
	case c == 't' || c == 'f':
		got = "boolean"
	case c == 'n':
		got = "null"
	case c == '-' || c >= '0' && c <= '9':
		got = "number"
	case c == ' ' || c == '\t' || c == '\r' || c == '\n':
		p.fail(p.pos, "whitespace is not allowed (non-canonical), want %s for %s", want, field)
		return
	default:
		got = fmt.Sprintf("%q", c)
	}
	p.fail(p.pos, "%s: want %s, got %s", field, want, got)
}

func (p *Parser) fail(at int, format string, args ...any) error {
	p.err = &ParseError{Column: at + 1, Msg: fmt.Sprintf(format, args...)}
	return p.err
}

func (p *Parser) failB(at int, format string, args ...any) bool {
	p.fail(at, format, args...)
	return false
}
