package chain

import (
	"encoding/hex"
	"strconv"
	"strings"
	"unicode/utf8"
)

// AppendJSON appends the canonical JSON line of b (without the newline) to dst.
// The canonical form is the only form a chain file may contain; see the
// package documentation for its grammar.
func (b *Block) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"index":`...)
	dst = strconv.AppendUint(dst, b.Index, 10)
	dst = append(dst, `,"timestamp":`...)
	dst = strconv.AppendUint(dst, b.Timestamp, 10)
	if b.Params != nil {
		dst = append(dst, `,"params":`...)
		dst = b.Params.appendJSON(dst)
	}
	dst = append(dst, `,"data":[`...)
	for i, m := range b.Data {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"id":`...)
		dst = AppendString(dst, m.ID)
		dst = append(dst, `,"message":`...)
		dst = AppendString(dst, m.Text)
		dst = append(dst, '}')
	}
	dst = append(dst, `],"proof":`...)
	dst = strconv.AppendUint(dst, b.Proof, 10)
	dst = append(dst, `,"previous_hash":"`...)
	dst = hex.AppendEncode(dst, b.PrevHash[:])
	dst = append(dst, `","hash":"`...)
	dst = hex.AppendEncode(dst, b.Hash[:])
	dst = append(dst, `"}`...)
	return dst
}

// MarshalJSON returns the canonical encoding. Note that encoding/json escapes
// <, > and & inside strings unless SetEscapeHTML(false) is used; embed blocks
// with such an encoder to keep them canonical.
func (b *Block) MarshalJSON() ([]byte, error) { return b.AppendJSON(nil), nil }

// UnmarshalJSON parses the canonical encoding strictly.
func (b *Block) UnmarshalJSON(data []byte) error {
	var p Parser
	return p.Parse(data, b)
}

func (p *Params) appendJSON(dst []byte) []byte {
	dst = append(dst, `{"version":`...)
	dst = strconv.AppendUint(dst, uint64(p.Version), 10)
	dst = append(dst, `,"network":`...)
	dst = AppendString(dst, p.Network)
	dst = append(dst, `,"strategy":`...)
	dst = AppendString(dst, p.Strategy)
	dst = append(dst, `,"difficulty":`...)
	dst = strconv.AppendUint(dst, uint64(p.Difficulty), 10)
	dst = append(dst, `,"options":{`...)
	for i, o := range p.Options {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendString(dst, o.Name)
		dst = append(dst, ':')
		dst = strconv.AppendUint(dst, o.Value, 10)
	}
	return append(dst, `}}`...)
}

// MarshalJSON returns the canonical encoding of the parameters.
func (p *Params) MarshalJSON() ([]byte, error) { return p.appendJSON(nil), nil }

const hexDigits = "0123456789abcdef"

// StringLen returns len(AppendString(nil, s)) without building it.
func StringLen(s string) int {
	n := len(s) + 2
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t':
			n++
		case c < 0x20:
			n += 5
		}
	}
	return n
}

// AppendString appends s as a canonical JSON string: '"' and '\\' escaped,
// \b \f \n \r \t in their short form, other control characters below U+0020
// as \u00XX with lowercase hex, everything else (including non-ASCII and
// U+007F) as raw UTF-8. s must be valid UTF-8.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// ValidID reports whether s is a message id: a UUID in its canonical
// lowercase 8-4-4-4-12 hex form.
func ValidID(s string) bool { return validID(s) }

func validID[T string | []byte](s T) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		switch i {
		case 8, 13, 18, 23:
			if s[i] != '-' {
				return false
			}
		default:
			if hexValue[s[i]] == 0xff {
				return false
			}
		}
	}
	return true
}

// CheckMessage reports why text cannot be a message, or nil.
func CheckMessage(text string) error {
	switch {
	case text == "":
		return errEmptyMessage
	case len(text) > MaxMessageBytes:
		return errMessageTooLong
	case !utf8.ValidString(text):
		return errMessageNotUTF8
	}
	return nil
}

// CheckNewMessage is CheckMessage plus bc's policy for messages that
// clients add: text that is only white space is refused, as it would be
// mined as an empty line. It is a policy of the front doors (bc-serve's
// /add, bc-mine's stdin), not a rule of the chain: blocks that hold such
// messages stay valid.
func CheckNewMessage(text string) error {
	if err := CheckMessage(text); err != nil {
		return err
	}
	if strings.TrimSpace(text) == "" {
		return errBlankMessage
	}
	return nil
}

// ParseID turns a canonical id into its 16 bytes (for compact indexes).
func ParseID(id []byte) ([16]byte, bool) { return parseID(id) }

func parseID[T string | []byte](id T) ([16]byte, bool) {
	var out [16]byte
	if !validID(id) {
		return out, false
	}
	j := 0
	for i := 0; i < 36; i += 2 {
		if id[i] == '-' {
			i--
			continue
		}
		out[j] = unhex(id[i])<<4 | unhex(id[i+1])
		j++
	}
	return out, true
}
