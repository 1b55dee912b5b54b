package chain

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
)

// Message ids commit to their text (format version 2). An id is a
// version-8 UUID made of a 48-bit nonce, chosen at random by whoever
// creates the message, and 74 bits of SHA-256 over the nonce and the text:
//
//	d  = SHA-256("bc-msid1" || nonce (6 bytes) || text (its UTF-8 bytes))
//	id = nonce || d[0:10], then id[6] = 0x80 | id[6]&0x0f  (version 8)
//	                            id[8] = 0x80 | id[8]&0x3f  (variant 10)
//
// written in the lowercase 8-4-4-4-12 form. A block whose message carries an
// id that its text does not produce is invalid, so nobody can mine a known
// id with other text: squatting a pending message's id would take a second
// preimage of 74 bits. Two messages with the same text get different ids
// through their nonces; the genesis message keeps the all-zero id, which is
// valid in the genesis only.

// idTag separates id preimages from every other use of SHA-256 in bc.
const idTag = "bc-msid1"

// idNonceBytes is the length of the nonce at the start of an id.
const idNonceBytes = 6

// ErrUnboundID is returned for an id that its message's text does not
// produce.
var ErrUnboundID = errors.New("message id is not bound to the message text (ids are made from the text: see the format's \"Message ids\")")

// NewMessageID returns a fresh id for a message with text.
func NewMessageID(text string) string {
	var nonce [idNonceBytes]byte
	_, _ = rand.Read(nonce[:]) // crypto/rand.Read never fails on supported platforms
	return MessageID(nonce, text)
}

// MessageID returns the id of text made with nonce.
func MessageID(nonce [idNonceBytes]byte, text string) string {
	raw := boundID(nonce[:], text)
	return formatID(&raw)
}

// IDBound reports whether id (in canonical form) is the id its nonce and
// text produce. It does not allocate.
func IDBound[T string | []byte](id, text T) bool {
	raw, ok := parseID(id)
	if !ok {
		return false
	}
	return boundID(raw[:idNonceBytes], text) == raw
}

// CheckMessageID reports why id cannot be the id of text, or nil.
func CheckMessageID(id, text string) error {
	if !ValidID(id) {
		return errors.New("message id must be a lowercase UUID (8-4-4-4-12 hex digits)")
	}
	if !IDBound(id, text) {
		return ErrUnboundID
	}
	return nil
}

// boundID computes the 16 id bytes of text with nonce.
func boundID[T string | []byte](nonce []byte, text T) [16]byte {
	var buf [len(idTag) + idNonceBytes + MaxMessageBytes]byte
	n := copy(buf[:], idTag)
	n += copy(buf[n:], nonce)
	var d [32]byte
	if len(text) <= MaxMessageBytes {
		n += copy(buf[n:], text)
		d = sha256.Sum256(buf[:n])
	} else {
		h := sha256.New()
		h.Write(buf[:n])
		h.Write([]byte(text))
		h.Sum(d[:0])
	}
	var raw [16]byte
	copy(raw[:idNonceBytes], nonce)
	copy(raw[idNonceBytes:], d[:16-idNonceBytes])
	raw[6] = 0x80 | raw[6]&0x0f
	raw[8] = 0x80 | raw[8]&0x3f
	return raw
}

func formatID(u *[16]byte) string {
	var out [36]byte
	hex.Encode(out[0:8], u[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], u[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], u[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], u[8:10])
	out[23] = '-'
	hex.Encode(out[24:36], u[10:16])
	return string(out[:])
}
