// Package chain defines bc's block and chain format: the canonical JSON line
// of a block, the binary preimages its hash commits to, the genesis, and a
// strict parser. This comment is the specification; a verifier in another
// language can be written from it alone.
//
// # Chain file
//
// A chain file (node.chain) holds one block per line, each line the block's
// canonical JSON followed by a newline (0x0A), genesis first. Lines are at
// most MaxLineBytes (1 MiB) long, excluding the newline.
//
// # Canonical JSON of a block
//
// Exactly these fields, in this order, with no whitespace anywhere:
//
//	{"index":I,"timestamp":T,["params":P,]"data":[M,...],"proof":N,"previous_hash":"H","hash":"H"}
//
// The fields are:
//
//   - index, timestamp, proof: unsigned decimal integers without sign, leading
//     zeros, fraction or exponent. index and timestamp are below 2^63; proof
//     is below 2^64. timestamp is in Unix milliseconds.
//   - params: only in the genesis (see below).
//   - data: an array of 0 to 1024 messages (the genesis has exactly one),
//     each {"id":"U","message":"S"}, in this field order. id is a UUID in
//     its lowercase 8-4-4-4-12 form, bound to the message's text (see
//     Message ids); message is 1 to 4096 bytes of valid UTF-8 (counted after
//     unescaping); no two messages of a block share an id.
//   - previous_hash and hash: 64 lowercase hex digits.
//
// Strings are canonical: '"' and '\' are written \" and \\; the control
// characters U+0008, U+000C, U+000A, U+000D, U+0009 as \b \f \n \r \t; other
// characters below U+0020 as \u00xx with lowercase hex; every other character,
// U+007F and non-ASCII included, as its raw UTF-8 bytes. No other escape
// (not \/, not \u0041) is accepted. The parser rejects any other spelling,
// unknown, missing, repeated or misplaced fields and wrong types, naming the
// line and column.
//
// params (genesis only) is
//
//	{"version":2,"network":"NAME","strategy":"NAME","difficulty":D,"options":{"NAME":V,...}}
//
// where names are 1 to 64 characters of a-z, 0-9, '-' and '_' (network names
// may also use '.'), starting with a letter or digit; difficulty is below
// 2^32; options are at most 16 unsigned integers sorted by name, and the
// strategy decides which exist.
//
// # Hashes
//
// Integers are encoded big-endian: u32 in 4 bytes, u64 in 8 bytes. A string
// str(s) is u32(len(s)) followed by its UTF-8 bytes (unescaped).
//
// The body of a block is
//
//	"bc-data1" (8 ASCII bytes)
//	u32(number of messages)
//	for each message, in order: str(id) str(message)
//	0x00                                   if the block has no params, else
//	0x01 u32(version) str(network) str(strategy) u32(difficulty)
//	     u32(number of options) then for each option, in order: str(name) u64(value)
//
// and data_root = SHA-256(body). The header is 96 bytes:
//
//	"bc-head1" (8 ASCII bytes)
//	u64(index) u64(timestamp)
//	previous_hash (32 bytes) data_root (32 bytes)
//	u64(proof)
//
// and the block hash is SHA-256(header): the "hash" field and the next
// block's "previous_hash". Since the header commits to the body, the hash
// commits to every message and, in the genesis, to the chain parameters.
//
// # Genesis
//
// The genesis is a pure function of the parameters: index 0, timestamp
// 1581206400000 (2020-02-09T00:00:00Z, the seed's documentation date), the
// params, one message with id 00000000-0000-0000-0000-000000000000 and text
// "This is the workload of the very first Block in this chain!", proof 0 and
// previous_hash of 64 zeros. Two nodes started with the same parameters
// therefore share their genesis, and a chain tells every reader how to verify
// it.
//
// # Message ids
//
// A message id commits to the message's text, so that no block can carry a
// known id with another text (a peer could otherwise "mine" someone's
// pending message with its own words and have the real one refused as
// already mined). The id is 16 bytes, a version-8 UUID:
//
//	nonce = 6 bytes chosen at random by whoever creates the message
//	d     = SHA-256("bc-msid1" || nonce || text)   text as its UTF-8 bytes
//	id    = nonce || d[0:10]
//	id[6] = 0x80 | (id[6] & 0x0f)                   version 8
//	id[8] = 0x80 | (id[8] & 0x3f)                   variant 10
//
// written as lowercase hex in the 8-4-4-4-12 form. A verifier recomputes it
// from the id's first 6 bytes and the text. 74 bits of the id depend on the
// text: forging one for other text is a second preimage of 74 bits. The
// nonce keeps two messages with equal text apart. The genesis message's
// all-zero id is exempt (the genesis is fixed by its params anyway), and
// is therefore invalid anywhere else. Vectors:
//
//	nonce 010203040506, "hello"  -> 01020304-0506-8668-b925-357d69b2d8cf
//	nonce 000000000000, "hello"  -> 00000000-0000-8205-8643-b28aa45e98a7
//	nonce 010203040506, "Hello"  -> 01020304-0506-8bc4-96e0-90f40a9e2175
//
// Format version 1 had free (random) ids; its chains are refused.
//
// # Proof of work
//
// A work record is what a strategy plugin sees of a block: the 96-byte header
// followed by u64(proof of the previous block). The strategies are described
// in package strategy; the default one requires the block hash to start with
// difficulty zero bits.
package chain
