package strategy

import "math/bits"

// leadingZeroBits reports whether the digest held in state starts with at
// least d zero bits. The first word decides almost every attempt.
func leadingZeroBits(state *[8]uint32, d uint32) bool {
	for _, w := range state {
		if d <= 32 {
			return d == 0 || w>>(32-d) == 0
		}
		if w != 0 {
			return false
		}
		d -= 32
	}
	return true
}

// hashLeadingZeroBits is leadingZeroBits for a digest in bytes.
func hashLeadingZeroBits(h *[32]byte, d uint32) bool {
	for _, b := range h {
		if d <= 8 {
			return d == 0 || b>>(8-d) == 0
		}
		if b != 0 {
			return false
		}
		d -= 8
	}
	return true
}

// trailingZeroNibbles reports whether the digest held in state ends with at
// least d zero hex digits.
func trailingZeroNibbles(state *[8]uint32, d uint32) bool {
	zeroBits := 4 * d
	for i := 7; i >= 0; i-- {
		w := state[i]
		if zeroBits <= 32 {
			return zeroBits == 0 || uint32(bits.TrailingZeros32(w)) >= zeroBits
		}
		if w != 0 {
			return false
		}
		zeroBits -= 32
	}
	return true
}
