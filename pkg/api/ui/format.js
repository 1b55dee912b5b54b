// bc's chain format in the browser (README: The chain format): parse a
// block line, encode its body and header, compute its hash, check its
// proof of work and its rules. Integers that may pass 2^53 (index,
// timestamp, proof) are BigInts, read from the line's text.
"use strict";

const bcfmt = (() => {
  // ---- SHA-256, in JavaScript (FIPS 180-4), for the lab's miner --------
  const K = new Uint32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2]);
  const IV = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
  const W = new Uint32Array(64);

  // compress runs one SHA-256 compression of the 64 bytes of m at off
  // into st (an Uint32Array of 8).
  function compress(st, m, off) {
    for (let i = 0; i < 16; i++) {
      const j = off + 4 * i;
      W[i] = (m[j] << 24 | m[j + 1] << 16 | m[j + 2] << 8 | m[j + 3]) >>> 0;
    }
    for (let i = 16; i < 64; i++) {
      const a = W[i - 15], b = W[i - 2];
      const s0 = (a >>> 7 | a << 25) ^ (a >>> 18 | a << 14) ^ (a >>> 3);
      const s1 = (b >>> 17 | b << 15) ^ (b >>> 19 | b << 13) ^ (b >>> 10);
      W[i] = (W[i - 16] + s0 + W[i - 7] + s1) >>> 0;
    }
    let a = st[0], b = st[1], c = st[2], d = st[3], e = st[4], f = st[5], g = st[6], h = st[7];
    for (let i = 0; i < 64; i++) {
      const S1 = (e >>> 6 | e << 26) ^ (e >>> 11 | e << 21) ^ (e >>> 25 | e << 7);
      const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[i] + W[i]) | 0;
      const S0 = (a >>> 2 | a << 30) ^ (a >>> 13 | a << 19) ^ (a >>> 22 | a << 10);
      const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      h = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
    }
    st[0] = (st[0] + a) >>> 0; st[1] = (st[1] + b) >>> 0; st[2] = (st[2] + c) >>> 0; st[3] = (st[3] + d) >>> 0;
    st[4] = (st[4] + e) >>> 0; st[5] = (st[5] + f) >>> 0; st[6] = (st[6] + g) >>> 0; st[7] = (st[7] + h) >>> 0;
  }

  function padded(bytes) {
    const n = bytes.length, total = Math.ceil((n + 9) / 64) * 64;
    const m = new Uint8Array(total);
    m.set(bytes);
    m[n] = 0x80;
    const bits = BigInt(n) * 8n;
    for (let i = 0; i < 8; i++) m[total - 1 - i] = Number((bits >> BigInt(8 * i)) & 0xffn);
    return m;
  }

  function stateBytes(st) {
    const out = new Uint8Array(32);
    for (let i = 0; i < 8; i++) { out[4 * i] = st[i] >>> 24; out[4 * i + 1] = st[i] >>> 16; out[4 * i + 2] = st[i] >>> 8; out[4 * i + 3] = st[i]; }
    return out;
  }

  // sha256 hashes bytes in JavaScript (synchronous).
  function sha256(bytes) {
    const m = padded(bytes), st = new Uint32Array(IV);
    for (let off = 0; off < m.length; off += 64) compress(st, m, off);
    return stateBytes(st);
  }

  // sha256web hashes bytes with the browser's Web Crypto.
  async function sha256web(bytes) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  }

  // ---- bytes ------------------------------------------------------------
  const enc = new TextEncoder();
  const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  function unhex(s) {
    const out = new Uint8Array(s.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(s.substr(2 * i, 2), 16);
    return out;
  }
  function u32(n) { return new Uint8Array([n >>> 24 & 255, n >>> 16 & 255, n >>> 8 & 255, n & 255]); }
  function u64(n) {
    const out = new Uint8Array(8);
    let v = BigInt.asUintN(64, BigInt(n));
    for (let i = 7; i >= 0; i--) { out[i] = Number(v & 0xffn); v >>= 8n; }
    return out;
  }
  function str(s) { const b = enc.encode(s); return concat([u32(b.length), b]); }
  function concat(parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let off = 0;
    for (const p of parts) { out.set(p, off); off += p.length; }
    return out;
  }

  // ---- blocks ------------------------------------------------------------
  const HEAD = /^\{"index":(\d+),"timestamp":(\d+),/;
  const TAIL = /,"proof":(\d+),"previous_hash":"([0-9a-f]{64})","hash":"([0-9a-f]{64})"\}$/;

  // parse reads a block line; the big integers come from its text.
  function parse(line) {
    const obj = JSON.parse(line);
    const h = HEAD.exec(line), t = TAIL.exec(line);
    if (!h || !t) throw new Error("not a canonical block line");
    return { index: BigInt(h[1]), timestamp: BigInt(h[2]), params: obj.params || null,
      data: obj.data.map((m) => ({ id: m.id, message: m.message })), proof: BigInt(t[1]), previous_hash: t[2], hash: t[3] };
  }

  function paramsJSON(p) {
    const names = Object.keys(p.options || {}).sort();
    const opts = names.map((n) => `${JSON.stringify(n)}:${p.options[n]}`).join(",");
    return `{"version":${p.version},"network":${JSON.stringify(p.network)},"strategy":${JSON.stringify(p.strategy)},"difficulty":${p.difficulty},"options":{${opts}}}`;
  }

  // line writes a block as its canonical line (JSON.stringify escapes
  // strings exactly as the format wants).
  function line(b) {
    const data = b.data.map((m) => `{"id":${JSON.stringify(m.id)},"message":${JSON.stringify(m.message)}}`).join(",");
    return `{"index":${b.index},"timestamp":${b.timestamp},` + (b.params ? `"params":${paramsJSON(b.params)},` : "") +
      `"data":[${data}],"proof":${b.proof},"previous_hash":"${b.previous_hash}","hash":"${b.hash}"}`;
  }

  function body(b) {
    const parts = [enc.encode("bc-data1"), u32(b.data.length)];
    for (const m of b.data) parts.push(str(m.id), str(m.message));
    const p = b.params;
    if (!p) parts.push(new Uint8Array([0]));
    else {
      const names = Object.keys(p.options || {}).sort();
      parts.push(new Uint8Array([1]), u32(p.version), str(p.network), str(p.strategy), u32(p.difficulty), u32(names.length));
      for (const n of names) parts.push(str(n), u64(p.options[n]));
    }
    return concat(parts);
  }

  // header is the 96 bytes the hash commits to, given the data root.
  function header(b, dataRoot) {
    return concat([enc.encode("bc-head1"), u64(b.index), u64(b.timestamp), unhex(b.previous_hash), dataRoot, u64(b.proof)]);
  }

  // hashOf computes a block's hash; web picks Web Crypto.
  async function hashOf(b, web) {
    const h = web ? sha256web : async (x) => sha256(x);
    const root = await h(body(b));
    const head = header(b, root);
    return { root, head, hash: hex(await h(head)) };
  }

  // ---- proofs of work -------------------------------------------------------
  function leadingZeroBits(hexHash) {
    let n = 0;
    for (const c of hexHash) {
      const v = parseInt(c, 16);
      if (v === 0) { n += 4; continue; }
      return n + Math.clz32(v) - 28;
    }
    return n;
  }
  function zeroBits(st) {
    let n = 0;
    for (let i = 0; i < 8; i++) {
      const z = Math.clz32(st[i]);
      n += z;
      if (z < 32) break;
    }
    return n;
  }
  function trailingZeroNibbles(hexHash) { return hexHash.length - hexHash.replace(/0+$/, "").length; }

  // workOf says whether b's proof meets difficulty d under strategy, as far
  // as this page can tell (scrypt is not computed here: null).
  function workOf(strategy, d, b, hash, prevProof) {
    switch (strategy) {
      case "default": return { ok: leadingZeroBits(hash) >= d, got: leadingZeroBits(hash) + " leading zero bits", want: `at least ${d}` };
      case "classic": {
        const w = hex(sha256(enc.encode(String(prevProof) + String(b.proof))));
        return { ok: trailingZeroNibbles(w) >= d, got: `SHA-256("${prevProof}${b.proof}") = …${w.slice(-12)}`, want: `ends with ${d} zero hex digits` };
      }
      default: return null;
    }
  }

  // mine searches proofs from b.proof on for one that meets d under the
  // default strategy (or classic), yielding to the page every chunk.
  // onProgress(tries, rate) reports; it returns the proof, or null if
  // stopped (shouldStop()).
  async function mine(strategy, d, b, prevProof, onProgress, shouldStop) {
    const root = sha256(body(b));
    const head = header(b, root);
    const m = padded(head); // 2 blocks: the first does not depend on the proof
    const mid = new Uint32Array(IV);
    compress(mid, m, 0);
    const st = new Uint32Array(8);
    const p0 = BigInt.asUintN(64, b.proof);
    let hi = Number(p0 >> 32n) >>> 0, lo = Number(p0 & 0xffffffffn) >>> 0, tries = 0;
    const start = performance.now();
    for (;;) {
      for (let i = 0; i < 20000; i++, tries++) {
        let ok;
        if (strategy === "classic") {
          const proof = (BigInt(hi) << 32n) | BigInt(lo);
          ok = trailingZeroNibbles(hex(sha256(enc.encode(String(prevProof) + String(proof))))) >= d;
        } else {
          // The proof is the header's last 8 bytes (88 to 95), big-endian.
          m[88] = hi >>> 24; m[89] = hi >>> 16; m[90] = hi >>> 8; m[91] = hi;
          m[92] = lo >>> 24; m[93] = lo >>> 16; m[94] = lo >>> 8; m[95] = lo;
          st.set(mid);
          compress(st, m, 64);
          ok = zeroBits(st) >= d;
        }
        if (ok) { onProgress(tries + 1, (tries + 1) / ((performance.now() - start) / 1000)); return (BigInt(hi) << 32n) | BigInt(lo); }
        lo = (lo + 1) >>> 0;
        if (lo === 0) hi = (hi + 1) >>> 0;
      }
      onProgress(tries, tries / ((performance.now() - start) / 1000));
      await new Promise((r) => setTimeout(r, 0));
      if (shouldStop()) return null;
    }
  }

  // ---- message ids -----------------------------------------------------------
  // idFor is the id a message's nonce (the id's first 6 bytes) and text give.
  async function idFor(id, text) {
    const nonce = unhex(id.replaceAll("-", "").slice(0, 12));
    const d = await sha256web(concat([enc.encode("bc-msid1"), nonce, enc.encode(text)]));
    const b = concat([nonce, d.slice(0, 10)]);
    b[6] = 0x80 | (b[6] & 0x0f);
    b[8] = 0x80 | (b[8] & 0x3f);
    const h = hex(b);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
  const GENESIS_ID = "00000000-0000-0000-0000-000000000000";
  const MAX_DRIFT_MS = 2n * 3600n * 1000n;

  // checks runs README's rules on block b against its parent (null for
  // the genesis), in bc-verify's order, and returns one entry per rule:
  // {rule, ok, text} (ok null: not checked here). Names are bc-verify's.
  async function checks(b, parent, chainParams, opts) {
    const out = [];
    const add = (rule, ok, text) => out.push({ rule, ok, text });
    const { hash, root, head } = await hashOf(b, true);
    add("hash", hash === b.hash, hash === b.hash ? "the stated hash is the SHA-256 of the header" :
      `the stated hash ${b.hash.slice(0, 16)}… is not the SHA-256 of the header, ${hash.slice(0, 16)}…`);
    const seen = new Set();
    const dup = b.data.find((m) => seen.size === seen.add(m.id).size);
    add("duplicate-id", !dup, dup ? `id ${dup.id} appears twice` : "every message id appears once");
    let unbound = null;
    for (const m of b.data) {
      if (b.index === 0n && m.id === GENESIS_ID) continue;
      if (await idFor(m.id, m.message) !== m.id) { unbound = m; break; }
    }
    add("unbound-id", !unbound, unbound ? `message id ${unbound.id} is not the one its text gives` : "every message id is bound to its text");
    if (!parent) {
      add("genesis-index", b.index === 0n, "the genesis has index 0");
      return { list: out, hash, root, head };
    }
    add("params-outside-genesis", !b.params, b.params ? "only the genesis may carry params" : "no params (only the genesis has them)");
    add("index", b.index === parent.index + 1n, `index ${b.index} ${b.index === parent.index + 1n ? "=" : "≠"} parent's ${parent.index} + 1`);
    const link = parent.realHash || parent.hash;
    add("previous-hash", b.previous_hash === link, b.previous_hash === link ? `previous_hash ${b.previous_hash.slice(0, 16)}… is the parent's real hash, recomputed: ${link.slice(0, 16)}…` :
      `previous_hash ${b.previous_hash.slice(0, 16)}… is not the parent's real hash ${link.slice(0, 16)}…`);
    add("timestamp", b.timestamp > parent.timestamp, b.timestamp > parent.timestamp ? "later than the parent's timestamp" : "not later than the parent's timestamp");
    const now = BigInt(Date.now());
    add("future-timestamp", b.timestamp <= now + MAX_DRIFT_MS, b.timestamp <= now + MAX_DRIFT_MS ? "at most 2 hours ahead of this computer's clock" : "more than 2 hours in the future");
    const d = opts && opts.difficulty !== undefined ? opts.difficulty : chainParams.difficulty;
    const w = workOf(chainParams.strategy, d, b, hash, parent.proof);
    if (w === null) add("proof", null, `checked by the node (the ${chainParams.strategy} strategy is not computed in this page): ask the node`);
    else add("proof", w.ok, `${w.got}; difficulty ${d} wants ${w.want}`);
    return { list: out, hash, root, head };
  }

  return { sha256, sha256web, hex, unhex, parse, line, body, header, hashOf, leadingZeroBits, workOf, mine, idFor, checks };
})();
