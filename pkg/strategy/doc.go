// Package strategy holds bc's built-in proof-of-work strategies, each served
// as a plugin by a main under plugins/ (bc-pow-default, bc-pow-classic,
// bc-pow-scrypt):
//
//   - default: SHA-256 of the whole 96-byte block header (the block hash
//     itself) must start with difficulty zero bits. The first 64 header
//     bytes do not depend on the proof, so a search hashes them once and
//     spends one SHA-256 compression per attempt.
//   - classic: the seed's rule. SHA-256 of the decimal previous proof
//     followed by the decimal proof must end with difficulty zero hex digits.
//     It does not commit to the block's contents; the hash links do.
//   - scrypt: memory-hard. scrypt(header, "bc-scrypt-pow", N, r, p) must start
//     with difficulty zero bits; N, r and p are recorded in the genesis.
package strategy
