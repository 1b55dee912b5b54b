// Package sha256block exposes the SHA-256 compression function, which the
// standard library keeps internal, so that proof-of-work searches can hash
// the constant part of a preimage once (the midstate) and spend exactly one
// compression per attempt. On amd64 CPUs with the SHA extensions it runs the
// SHA-NI instructions; elsewhere a portable Go version.
package sha256block

import (
	"encoding/binary"
	"math/bits"
)

// IV is the SHA-256 initial state.
var IV = [8]uint32{
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
}

// Block compresses one 64-byte block into state.
func Block(state *[8]uint32, block *[64]byte) {
	if useSHANI {
		blockSHANI(state, block)
		return
	}
	blockGeneric(state, block)
}

// Accelerated reports whether Block uses the CPU's SHA instructions.
func Accelerated() bool { return useSHANI }

// Midstate returns the state after compressing block from the IV.
func Midstate(block *[64]byte) [8]uint32 {
	s := IV
	Block(&s, block)
	return s
}

// Digest writes the big-endian digest of state into out.
func Digest(state *[8]uint32, out *[32]byte) {
	for i, v := range state {
		binary.BigEndian.PutUint32(out[4*i:], v)
	}
}

// Pad fills the tail of a final block: the 0x80 marker at n (the number of
// message bytes in this block) and the total message length in bits at the
// end. Bytes between are zeroed. n must be at most 55.
func Pad(block *[64]byte, n int, totalLen uint64) {
	block[n] = 0x80
	clear(block[n+1 : 56])
	binary.BigEndian.PutUint64(block[56:], totalLen*8)
}

var k = [64]uint32{
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
}

// blockGeneric is the portable compression function (FIPS 180-4, 6.2.2).
func blockGeneric(state *[8]uint32, p *[64]byte) {
	var w [64]uint32
	for i := 0; i < 16; i++ {
		w[i] = binary.BigEndian.Uint32(p[4*i:])
	}
	for i := 16; i < 64; i++ {
		s0 := bits.RotateLeft32(w[i-15], -7) ^ bits.RotateLeft32(w[i-15], -18) ^ w[i-15]>>3
		s1 := bits.RotateLeft32(w[i-2], -17) ^ bits.RotateLeft32(w[i-2], -19) ^ w[i-2]>>10
		w[i] = w[i-16] + s0 + w[i-7] + s1
	}
	a, b, c, d, e, f, g, h := state[0], state[1], state[2], state[3], state[4], state[5], state[6], state[7]
	for i := 0; i < 64; i++ {
		S1 := bits.RotateLeft32(e, -6) ^ bits.RotateLeft32(e, -11) ^ bits.RotateLeft32(e, -25)
		ch := e&f ^ ^e&g
		t1 := h + S1 + ch + k[i] + w[i]
		S0 := bits.RotateLeft32(a, -2) ^ bits.RotateLeft32(a, -13) ^ bits.RotateLeft32(a, -22)
		maj := a&b ^ a&c ^ b&c
		t2 := S0 + maj
		h, g, f, e, d, c, b, a = g, f, e, d+t1, c, b, a, t1+t2
	}
	state[0] += a
	state[1] += b
	state[2] += c
	state[3] += d
	state[4] += e
	state[5] += f
	state[6] += g
	state[7] += h
}

// Sum returns the SHA-256 digest of data, like crypto/sha256.Sum256 but
// without its bookkeeping, which matters for the short inputs bc hashes a
// million times in a row.
func Sum(data []byte) [32]byte {
	s := IV
	n := len(data)
	for len(data) >= 64 {
		Block(&s, (*[64]byte)(data[:64]))
		data = data[64:]
	}
	var blk [64]byte
	copy(blk[:], data)
	if len(data) > 55 {
		blk[len(data)] = 0x80
		Block(&s, &blk)
		blk = [64]byte{}
		binary.BigEndian.PutUint64(blk[56:], uint64(n)*8)
	} else {
		Pad(&blk, len(data), uint64(n))
	}
	Block(&s, &blk)
	var out [32]byte
	Digest(&s, &out)
	return out
}
