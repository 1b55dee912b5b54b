// The teaching views: a block's page, proof of work, the network and its
// reorgs, the tamper lab, a message's journey and the experiments. Values
// from the node go into the page as text (see app.js).
"use strict";

const learn = { params: null, genesisLine: null, lab: null, labStop: false };

const STRATEGIES = { // README: Proof-of-work strategies (each plugin's --help says the same)
  default: "SHA-256 of the whole 96-byte header (the block hash) starts with d zero bits: the hash, read as a number, is below 2^(256−d).",
  classic: "the seed's rule: SHA-256 of decimal(previous proof) + decimal(proof) ends with d zero hex digits. It does not commit to the block's contents: anyone can rewrite a message and keep every proof valid.",
  scrypt: "memory-hard: scrypt(header, N, r, p) starts with d zero bits; each attempt uses 128·N·r bytes of memory.",
};

async function getText(path) {
  const r = await fetch(path, { headers: { Accept: "application/json" } });
  const t = await r.text();
  if (!r.ok) { let m = t; try { m = JSON.parse(t).error || t; } catch (e) { /* text */ } throw new Error(m); }
  return t.trim();
}

async function chainParams() {
  if (!learn.params) {
    learn.genesisLine = await getText("/blocks/0");
    learn.params = bcfmt.parse(learn.genesisLine).params;
  }
  return learn.params;
}

function link(href, text, cls) { const a = el("a", cls || "", text); a.href = href; return a; }
function blockLink(hash, text) { return link(`#/block/${hash}`, text || short(hash), "mono"); }
function bits(hexHash) { return [...hexHash].map((c) => parseInt(c, 16).toString(2).padStart(4, "0")).join(""); }
function fmtCount(n) { return Number(n).toLocaleString("en-US"); }
function fmtSecs(s) {
  if (!isFinite(s)) return "–";
  if (s < 1) return (s * 1000).toFixed(0) + " ms";
  if (s < 120) return s.toFixed(1) + " s";
  if (s < 7200) return (s / 60).toFixed(1) + " min";
  if (s < 172800) return (s / 3600).toFixed(1) + " h";
  return (s / 86400).toFixed(0) + " days";
}
function mark(ok) { return ok === null ? "? not checked here" : ok ? "✓ passes" : "✗ fails"; }

// ---- router -----------------------------------------------------------------

function route() {
  const parts = location.hash.replace(/^#\/?/, "").split("/");
  const view = ({ block: "block", pow: "pow", network: "network", lab: "lab", message: "message", learn: "learn" })[parts[0]] || "home";
  for (const m of document.querySelectorAll("main.view")) m.hidden = m.id !== "view-" + view;
  for (const a of document.querySelectorAll("nav.tabs a")) a.classList.toggle("active", a.dataset.view === view);
  const arg = decodeURIComponent(parts[1] || "");
  const show = { block: () => showBlock(arg), pow: showPow, network: showNetwork, lab: () => showLab(arg), message: () => showJourney(arg), learn: showExperiments }[view];
  if (show) show().catch((e) => { const v = $("view-" + view); v.prepend(el("p", "error", "Could not show this: " + e.message)); });
  window.scrollTo(0, 0);
}

// ---- the block page ------------------------------------------------------------

async function showBlock(ref) {
  const params = await chainParams();
  let line;
  try { line = await getText(`/blocks/${ref}`); } catch (e) { return showGoneBlock(ref, e); }
  const b = bcfmt.parse(line);
  const parent = b.index > 0n ? bcfmt.parse(await getText(`/blocks/${b.index - 1n}`)) : null;
  if (parent) parent.realHash = (await bcfmt.hashOf(parent, true)).hash;
  const res = await bcfmt.checks(b, parent, params);
  $("block-title").textContent = `Block #${b.index}` + (b.data.length === 0 ? " (empty: a tie-break block)" : "");
  const origin = $("block-origin");
  origin.textContent = b.index === 0n ? "The genesis: a pure function of the chain's parameters, the same on every node of this chain." : "";
  if (b.index > 0n) {
    fetch(`/origins/${b.hash}`).then((r) => r.ok ? r.json() : null).then((o) => {
      origin.textContent = o ? `Where it came from: ${o.origin} (recorded ${fmtTime(o.time)}).` : "Where it came from: not recorded on this node (it keeps the newest few thousand blocks' origins).";
    }).catch(() => {});
  }
  const bad = res.list.find((c) => c.ok === false);
  const v = $("block-verdict");
  v.className = "verdict " + (bad ? "bad" : "good");
  v.textContent = bad ? `✗ Invalid: breaks the rule “${bad.rule}”: ${bad.text}` : "✓ Valid: every rule below holds (recomputed in your browser).";
  const f = $("block-fields");
  f.replaceChildren();
  const row = (k, ...v) => { const dd = el("dd"); dd.append(...v); f.append(el("dt", "", k), dd); };
  row("index", String(b.index));
  row("timestamp", `${b.timestamp} (Unix ms) = ${fmtTime(Number(b.timestamp))} ${zoneName()}`);
  if (b.params) row("params", JSON.stringify(b.params));
  row("proof", String(b.proof));
  row("previous_hash", b.index > 0n ? blockLink(b.previous_hash, b.previous_hash) : el("span", "", b.previous_hash + " (none: the genesis)"));
  row("hash", b.hash);
  const ul = $("block-messages");
  ul.replaceChildren(...b.data.map((m) => {
    const li = el("li");
    li.append(...messageNodes(m.message), el("br"), link(`#/message/${m.id}`, "id " + m.id + " — its journey", "small mono"));
    return li;
  }));
  if (!b.data.length) ul.append(el("li", "muted", "No message: an empty block is mined only to settle a tie between two forks of the same height (README: Validity)."));
  const t = $("block-header");
  t.replaceChildren();
  const h = res.head;
  const fields = [["magic “bc-head1”", 0, 8], ["index (u64)", 8, 16], ["timestamp (u64)", 16, 24], ["previous_hash", 24, 56], ["data root", 56, 88], ["proof (u64)", 88, 96]];
  for (const [name, a, z] of fields) {
    const tr = el("tr");
    tr.append(el("td", "", name), el("td", "", `${a}–${z - 1}`), el("td", "hexcell", bcfmt.hex(h.slice(a, z))));
    t.append(tr);
  }
  $("block-body-size").textContent = `${bcfmt.body(b).length} bytes (“bc-data1”, the message count, each id and text${b.params ? ", the parameters" : ""})`;
  showBits(params, b, res.hash);
  const checks = $("block-checks");
  checks.replaceChildren(...res.list.map((c) => {
    const li = el("li", c.ok === null ? "unknown" : c.ok ? "ok" : "bad");
    li.append(el("b", "", mark(c.ok)), document.createTextNode(` ${c.rule}: ${c.text}`));
    return li;
  }));
  $("block-lab-link").href = `#/lab/${b.index}`;
}

// showGoneBlock explains a block this chain does not hold: one a reorg
// dropped (from the node's records), or one it never had. A dropped block
// is never shown as if it were on the chain.
async function showGoneBlock(ref, err) {
  const rgs = (await getJSON("/reorgs")).reorgs || [];
  const rg = rgs.find((r) => (r.dropped || []).some((b) => b.hash === ref));
  $("block-title").textContent = rg ? "A dropped block" : "Not in this chain";
  $("block-origin").textContent = "";
  const v = $("block-verdict");
  v.className = "verdict bad";
  if (rg) {
    const b = rg.dropped.find((x) => x.hash === ref);
    v.textContent = `Block #${b.index} (${short(ref)}) is no longer on this node's chain: the reorg of ${fmtTime(rg.time)} dropped it (${rg.cause || "the chain was replaced"}). ` +
      `Its ${plural(b.messages, "message")} went back to pending unless the winning branch carried them. See Network & forks.`;
  } else v.textContent = `This node's chain has no block ${ref}: ${err.message}.`;
  for (const id of ["block-fields", "block-messages", "block-header", "block-bits", "block-checks"]) $(id).replaceChildren();
  $("block-target-text").textContent = "";
  $("block-body-size").textContent = "";
}

function showBits(params, b, hash) {
  const d = params.difficulty;
  const box = $("block-bits");
  box.replaceChildren();
  const text = $("block-target-text");
  if (params.strategy !== "default") {
    text.textContent = `This chain's strategy is ${params.strategy}: ${STRATEGIES[params.strategy] || "a plugin's own rule"} The block hash below is not what its proof of work is judged on.`;
  } else {
    text.textContent = `Difficulty ${d}: the hash, read as a 256-bit number, must be below the target 2^(256−${d}); that is, its first ${d} bits (boxed) must all be 0. ` +
      `A random hash passes with probability 2^−${d}, so a miner expects ${fmtCount(2 ** d)} attempts per block. This hash has ${bcfmt.leadingZeroBits(hash)} leading zero bits.`;
  }
  const all = bits(hash);
  const lead = params.strategy === "default" ? d : 0;
  const target = el("span", "target", all.slice(0, lead));
  target.title = `the first ${d} bits: all must be 0`;
  box.append(target, el("span", "", all.slice(lead)));
}

// ---- proof of work -------------------------------------------------------------------

// The strategies as their plugins describe themselves (GET /strategies),
// or README's words when this bc-serve cannot start them.
async function strategies() {
  if (!learn.strategies) {
    try {
      const d = await getJSON("/strategies");
      if (!d.strategies) throw new Error("no strategies");
      learn.strategies = Object.fromEntries(d.strategies.map((s) => [s.name, `${s.description} (default difficulty ${s.default_difficulty}, in ${s.difficulty_unit}${s.options.length ? "; options " + s.options.map((o) => `${o.name}=${o.default}: ${o.description}`).join(", ") : ""})`]));
    } catch (e) { return STRATEGIES; }
  }
  return learn.strategies;
}

// The proof-of-work facts and the neighbours' tips stay live while their
// page is open (bc-gossip writes its view every 2 s).
setInterval(() => {
  if (document.hidden) return;
  if (location.hash.startsWith("#/pow")) powFacts().catch(() => {});
  if (location.hash.startsWith("#/network")) showNeighbours().catch(() => {});
}, 2000);

async function showPow() {
  await powFacts();
  $("pow-explain").textContent = "Nothing makes one attempt likelier than another: each is a fresh lottery ticket. So a block may come at once or take several times the mean, and the intervals between blocks follow an exponential distribution.";
  const st = $("pow-strategies");
  st.replaceChildren();
  for (const [k, v] of Object.entries(await strategies())) st.append(el("dt", "", k), el("dd", "", v));
  await drawHistogram((state.health || await getJSON("/health")).height);
}

async function powFacts() {
  const params = await chainParams();
  const h = await getJSON("/health");
  const descs = await strategies();
  const d = params.difficulty;
  const rate = h.miner && h.miner.running ? h.miner.hash_rate : 0;
  const expected = params.strategy === "classic" ? 16 ** d : 2 ** d;
  const dl = $("pow-facts");
  dl.replaceChildren();
  const tip = bcfmt.parse(await getText(`/blocks/${h.height}`));
  const rows = [
    ["strategy", `${params.strategy}: ${descs[params.strategy] || "a plugin's own rule (see bc-pow-" + params.strategy + " --help)"}`],
    ["difficulty", params.strategy === "classic" ? `${d} zero hex digits: about 16^${d} = ${fmtCount(expected)} attempts per block` : `${d} bits: about 2^${d} = ${fmtCount(expected)} attempts per block`],
    ["hash rate", rate ? `${fmtRate(rate)} (this node's miner, now)` : "the miner is not running"],
    ["expected time per block", rate ? `${fmtCount(expected)} / ${fmtRate(rate)} ≈ ${fmtSecs(expected / rate)}` : "–"],
    ["current search", rate ? `${fmtSecs((Date.now() - Number(tip.timestamp)) / 1000)} since block #${tip.index}` : "–"],
  ];
  for (const [k, v] of rows) dl.append(el("dt", "", k), el("dd", "", v));
}

async function drawHistogram(height) {
  const page = await getJSON(`/blocks?before=${height + 1}&limit=500`);
  const ts = (page.blocks || []).filter((b) => b.index > 0).map((b) => b.timestamp);
  const gaps = [];
  for (let i = 1; i < ts.length; i++) gaps.push((ts[i] - ts[i - 1]) / 1000);
  const svg = $("pow-hist");
  svg.replaceChildren();
  const legend = $("pow-hist-legend");
  if (gaps.length < 5) { legend.textContent = "Too few blocks yet for a histogram (it needs 5 intervals)."; return; }
  const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
  const top = Math.max(...gaps.slice().sort((a, b) => a - b).slice(0, Math.ceil(gaps.length * 0.98)), mean * 3);
  const nbins = 20, w = top / nbins;
  const counts = new Array(nbins).fill(0);
  for (const g of gaps) counts[Math.min(nbins - 1, Math.floor(g / w))]++;
  const expect = counts.map((_, i) => gaps.length * (Math.exp(-i * w / mean) - Math.exp(-(i + 1) * w / mean)));
  const ymax = Math.max(...counts, ...expect);
  const NS = "http://www.w3.org/2000/svg", X = (i) => 40 + i * 540 / nbins, Y = (v) => 190 - v / ymax * 170;
  const mk = (tag, attrs) => { const e = document.createElementNS(NS, tag); for (const k in attrs) e.setAttribute(k, attrs[k]); svg.append(e); return e; };
  counts.forEach((c, i) => mk("rect", { x: X(i) + 1, y: Y(c), width: 540 / nbins - 2, height: 190 - Y(c), class: "bar" }).append(Object.assign(document.createElementNS(NS, "title"), { textContent: `${c} intervals of ${fmtSecs(i * w)}–${fmtSecs((i + 1) * w)}` })));
  mk("polyline", { points: expect.map((v, i) => `${X(i + 0.5)},${Y(v)}`).join(" "), class: "curve" });
  mk("line", { x1: 40, y1: 190, x2: 580, y2: 190, class: "axis" });
  const label = (x, text) => { const t = mk("text", { x, y: 210, class: "label" }); t.textContent = text; };
  label(40, "0"); label(300, fmtSecs(top / 2)); label(560, fmtSecs(top));
  legend.textContent = `Bars: the last ${gaps.length} intervals between blocks (mean ${fmtSecs(mean)}). Line: the exponential distribution with that mean, which a fair lottery gives.`;
}

// ---- network and reorgs ------------------------------------------------------------------

async function showNetwork() {
  await showNeighbours();
  await showReorgs();
}

async function showNeighbours() {
  const h = await getJSON("/health");
  const body = $("net-table").tBodies[0];
  body.replaceChildren();
  const peers = (h.gossip && h.gossip.peers) || [];
  for (const p of peers) {
    const tr = el("tr");
    const node = el("td");
    node.append(link(`http://${p.addr}/`, p.addr, "mono"));
    let agrees = "not heard from yet";
    if (p.tip) {
      if (p.tip === h.tip) agrees = "✓ same tip";
      else if (p.height < h.height) agrees = `behind by ${h.height - p.height}`;
      else if (p.height > h.height) agrees = `ahead by ${p.height - h.height}`;
      else agrees = "✗ a fork: same height, another tip";
    }
    tr.append(node, el("td", "", p.tip ? String(p.height) : "–"), el("td", "mono", p.tip ? short(p.tip) : "–"),
      el("td", "", agrees), el("td", "", p.reachable ? "yes" : p.failures ? `no (${plural(p.failures, "failure")})` : "not yet"));
    body.append(tr);
  }
  $("net-empty").hidden = peers.length > 0;
}

function branch(title, blocks, count, cls) {
  const col = el("div", "branch " + cls);
  col.append(el("h4", "", `${title}: ${plural(count, "block")}`));
  const ol = el("ol");
  for (const b of blocks) {
    const li = el("li");
    li.append(el("span", "", `#${b.index} `), blockLink(b.hash), el("span", "muted", ` · ${b.messages ? plural(b.messages, "message") : "empty (tie-break)"}` + (b.origin ? ` · ${b.origin}` : "")));
    ol.append(li);
  }
  if (count > blocks.length) ol.append(el("li", "muted", `… and ${count - blocks.length} more`));
  col.append(ol);
  return col;
}

async function showReorgs() {
  const d = await getJSON("/reorgs");
  const box = $("reorgs");
  box.replaceChildren();
  const params = await chainParams();
  for (const r of d.reorgs || []) {
    const card = el("div", "reorg");
    card.append(el("p", "", `${fmtTime(r.time)} — ${r.cause || "the chain was replaced"}`));
    card.append(el("p", "small muted", `Both branches grow from block #${r.base.index}. Work: the dropped branch ${plural(r.dropped_count, "block")}, the winning one ${plural(r.added_count, "block")}, ` +
      `each about 2^${params.difficulty} attempts: more work wins (README: fork choice).`));
    const cols = el("div", "branches");
    cols.append(branch("Dropped", r.dropped || [], r.dropped_count, "dropped"), branch("Adopted", r.added || [], r.added_count, "adopted"));
    card.append(cols);
    if (r.repended_count) {
      const p = el("p", "small");
      p.append(`${plural(r.repended_count, "message")} of the dropped blocks went back to pending: `);
      for (const id of r.repended || []) p.append(link(`#/message/${id}`, id.slice(0, 8) + "…", "mono"), " ");
      card.append(p);
    }
    box.append(card);
  }
  $("reorgs-empty").hidden = (d.reorgs || []).length > 0;
}

// ---- a message's journey --------------------------------------------------------------------

async function showJourney(id) {
  $("journey-id").textContent = "id " + id;
  const ol = $("journey");
  ol.replaceChildren();
  const r = await fetch(`/data/${id}`, { headers: { Accept: "application/json" } });
  const s = await r.json().catch(() => ({}));
  const tracked = state.tracked.get(id);
  $("journey-text").textContent = s.message || (tracked && tracked.message) || "";
  const step = (cls, text, extra) => { const li = el("li", cls, text); if (extra) li.append(" ", extra); ol.append(li); };
  if (tracked) step("", "You added it from this page.");
  if (s.received) step("", `Received by this node ${fmtTime(s.received)}: pending, waiting for a miner.`);
  const reorgs = ((await getJSON("/reorgs")).reorgs || []).slice().reverse();
  for (const rg of reorgs) {
    if (!(rg.repended || []).includes(id)) continue;
    step("back", `${fmtTime(rg.time)}: back to pending. ${rg.cause || "The chain was replaced"}; the blocks after #${rg.base.index} that held it were dropped, and the winning branch did not carry it.`);
  }
  if (r.status === 404) step("unknown", "This node does not know the message (another chain, or it never reached this node).");
  else if (s.status === "pending") step("pending", "Now: pending. The next block this node's miner seals will carry it, if the pending set's order allows.");
  else if (s.status === "mined") {
    step("mined", `Now: in block #${s.block}`, blockLink(s.block_hash));
    step("mined", `${plural(s.confirmations, "confirmation")}: the blocks on top of it. Each one more is more work an attacker would have to redo to remove it.`);
  }
}

// ---- the tamper lab -----------------------------------------------------------------------------

const LAB_BLOCKS = 12;

async function loadLab(upto) {
  const h = await getJSON("/health");
  const last = upto >= 0 ? Math.min(h.height, upto + LAB_BLOCKS - 1) : h.height;
  const first = Math.max(0, last - LAB_BLOCKS + 1);
  const lines = await Promise.all(Array.from({ length: last - first + 1 }, (_, i) => getText(`/blocks/${first + i}`)));
  learn.lab = { blocks: lines.map(bcfmt.parse), anchor: first > 0 ? bcfmt.parse(await getText(`/blocks/${first - 1}`)) : null };
}

async function showLab(arg) {
  const params = await chainParams();
  const want = arg === "" ? -1 : Number(arg);
  if (!learn.lab || arg !== "") await loadLab(want);
  const dEl = $("lab-difficulty");
  if (!dEl.dataset.set) { dEl.value = params.strategy === "classic" ? Math.min(params.difficulty, 4) : Math.min(params.difficulty, 16); dEl.dataset.set = "1"; }
  await renderLab();
}

// labVerdicts judges every block of the copy against its parent in the
// copy (its real, recomputed hash), as bc-verify would, at the lab's
// difficulty.
async function labVerdicts() {
  const params = await chainParams();
  const d = Number($("lab-difficulty").value);
  const { blocks, anchor } = learn.lab;
  const out = [];
  let parent = anchor;
  if (parent) parent.realHash = (await bcfmt.hashOf(parent, false)).hash;
  for (const b of blocks) {
    const res = await bcfmt.checks(b, parent, params, { difficulty: d });
    b.realHash = res.hash;
    out.push({ res, bad: res.list.find((c) => c.ok === false) });
    parent = b;
  }
  return out;
}

async function renderLab() {
  const params = await chainParams();
  const verdicts = await labVerdicts();
  const ol = $("lab-blocks");
  ol.replaceChildren();
  const first = verdicts.findIndex((v) => v.bad);
  const top = $("lab-verdict");
  if (first < 0) { top.className = "verdict good"; top.textContent = "✓ The copy is valid: every hash, link and proof holds."; }
  else {
    const b = learn.lab.blocks[first], bad = verdicts[first].bad;
    top.className = "verdict bad";
    top.textContent = `✗ The first broken link: block #${b.index}, rule “${bad.rule}”: ${bad.text}. Every later block rests on it.`;
  }
  top.dataset.rule = first < 0 ? "" : verdicts[first].bad.rule;
  top.dataset.block = first < 0 ? "" : String(learn.lab.blocks[first].index);
  learn.lab.blocks.forEach((b, i) => ol.append(labBlock(b, i, verdicts[i], first >= 0 && i > first, params)));
}

function labBlock(b, i, v, downstream, params) {
  const li = el("li", "lab-block " + (v.bad ? "bad" : downstream ? "shaky" : "good"));
  li.dataset.index = String(b.index);
  const head = el("div", "row");
  head.append(el("b", "", `#${b.index}`), el("span", "state", v.bad ? `✗ ${v.bad.rule}: ${v.bad.text}` : downstream ? "✓ its own rules hold, but it rests on a broken block" : "✓ valid"));
  li.append(head);
  if (b.index === 0n) { li.append(el("p", "small muted", "The genesis: fixed by the chain's parameters (not editable here).")); return li; }
  const edit = (label, value, onchange, cls) => {
    const wrap = el("label", "field " + (cls || ""));
    wrap.append(el("span", "muted small", label));
    const input = el(cls === "text" ? "textarea" : "input");
    input.value = value;
    input.addEventListener("change", () => { onchange(input.value); renderLab(); });
    wrap.append(input);
    return wrap;
  };
  b.data.forEach((m, j) => li.append(edit(`message ${j + 1}`, m.message, (x) => { b.data[j].message = x; }, "text")));
  li.append(edit("timestamp (Unix ms)", String(b.timestamp), (x) => { if (/^\d+$/.test(x)) b.timestamp = BigInt(x); }),
    edit("proof", String(b.proof), (x) => { if (/^\d+$/.test(x)) b.proof = BigInt(x); }));
  const kv = el("dl", "kv mono small");
  kv.append(el("dt", "", "stated hash"), el("dd", "", b.hash), el("dt", "", "real hash"), el("dd", b.hash === b.realHash ? "" : "bad", b.realHash),
    el("dt", "", "previous_hash"), el("dd", "", b.previous_hash));
  li.append(kv);
  const buttons = el("div", "row buttons");
  const button = (text, title, fn) => { const x = el("button", "secondary", text); x.type = "button"; x.title = title; x.addEventListener("click", fn); buttons.append(x); return x; };
  if (b.data.length) button("Rebind its message ids", "derive each id again from its text (an id commits to its text), as a forger would", async () => {
    for (const m of b.data) m.id = await bcfmt.idFor(m.id, m.message);
    await renderLab();
  });
  button("Restate its hash", "write the real hash into the block, as a forger would", () => { b.hash = b.realHash; renderLab(); });
  if (i > 0 || learn.lab.anchor) button("Relink to its parent", "write the parent's real hash into previous_hash", () => {
    const parent = i > 0 ? learn.lab.blocks[i - 1] : learn.lab.anchor;
    b.previous_hash = parent.realHash || parent.hash; renderLab();
  });
  if (params.strategy !== "scrypt") {
    const m = button("Re-mine at the lab difficulty", "search a proof in this page, then restate the hash", async () => {
      const d = Number($("lab-difficulty").value);
      const status = el("span", "muted small", "mining…");
      buttons.append(status);
      m.disabled = true;
      learn.labStop = false;
      const parent = i > 0 ? learn.lab.blocks[i - 1] : learn.lab.anchor;
      const start = performance.now();
      const proof = await bcfmt.mine(params.strategy, d, b, parent ? parent.proof : 0n, (tries, rate) => {
        const realD = params.difficulty;
        const per = params.strategy === "classic" ? 16 ** realD : 2 ** realD;
        status.textContent = `${fmtCount(tries)} attempts, ${fmtRate(rate)} in this page; the chain's difficulty ${realD} would take about ${fmtSecs(per / rate)} here`;
        learn.lastRate = rate;
      }, () => learn.labStop);
      if (proof === null) return;
      b.proof = proof;
      b.hash = (await bcfmt.hashOf(b, false)).hash;
      learn.lastMine = { ms: performance.now() - start, status: status.textContent };
      await renderLab();
    });
  }
  const ask = button("Ask the node", "POST this block to the node's /check: it validates it where its index puts it on its own chain, and writes nothing", async () => {
    const r = await fetch("/check", { method: "POST", body: bcfmt.line(b) });
    const a = await r.json().catch(() => ({}));
    const p = el("p", "node-answer small " + (a.valid ? "good" : "bad"));
    p.textContent = !r.ok ? `The node could not check it: ${a.error || r.statusText}` : a.valid ? "The node says: valid where it stands on its chain." : `The node says: ✗ ${a.rule}: ${a.error}`;
    p.dataset.rule = a.rule || "";
    li.append(p);
  });
  ask.classList.add("ask");
  li.append(buttons);
  return li;
}

// ---- experiments ------------------------------------------------------------------------------------

const EXPERIMENTS = [
  ["Tamper with block 3", "Open the tamper lab on block 3, change one letter of its message. Its hash changes, so its stated hash is wrong: block 3 breaks the rule “hash”. Its message id no longer matches its text either (“Rebind its message ids”). Click “Restate its hash”: the proof of work of block 3 no longer holds. Re-mine it: now block 4's previous_hash no longer matches. Relink block 4: block 4's hash changes, and so on to the tip. Rewriting history means redoing the work of every later block, faster than the whole network adds new ones.",
    ["#/lab/3", "open the lab on block 3"], []],
  ["Why the rule is a number below a target", "Open any block and look at its hash in bits: the first d bits are boxed. Each attempt gives a random 256-bit number; the chance that it is below 2^(256−d) is 2^−d. The histogram on the Proof of work page shows the waiting times: exponential, as a lottery gives.",
    ["#/pow", "open the proof-of-work page"], []],
  ["Make a fork and watch the reorg", "Two nodes that do not talk mine two forks of one chain (the same parameters give the same genesis). Give one side more blocks, then connect them: the node with less work adopts the other's chain. Its Network & forks page shows the dropped and the adopted branch side by side, and the dropped blocks' messages go back to pending; follow one, its journey says why, and watch it mined again.",
    null, ["D=$(mktemp -d)",
      "bc-mine --dir $D/a --difficulty 16 & bc-serve --dir $D/a --listen 127.0.0.1:7001 &",
      "bc-mine --dir $D/b --difficulty 16 & bc-serve --dir $D/b --listen 127.0.0.1:7002 &",
      "bc-add --node 127.0.0.1:7002 'mined on the short side'",
      "bc-add --node 127.0.0.1:7001 'one'; bc-add --node 127.0.0.1:7001 'two'; bc-add --node 127.0.0.1:7001 'three'",
      "bc-gossip --dir $D/b --peers 127.0.0.1:7001 --advertise 127.0.0.1:7002 &",
      "# open http://127.0.0.1:7002/#/network, then: kill %1 %2 %3 %4 %5; rm -r $D"]],
  ["Check a whole chain from the shell", "bc-verify reads a chain and names the first block that breaks a rule, with the same rule names as this page.",
    null, ["bc-verify network/node1/node.chain", "sed '3s/a/b/' network/node1/node.chain | bc-verify -   # a tampered copy"]],
];

async function showExperiments() {
  const box = $("experiments");
  box.replaceChildren();
  for (const [title, text, go, cmds] of EXPERIMENTS) {
    const card = el("div", "experiment");
    card.append(el("h3", "", title), el("p", "small", text));
    if (go) card.append(link(go[0], go[1]));
    if (cmds.length) card.append(el("pre", "mono small", cmds.join("\n")));
    box.append(card);
  }
}

// Each ⓘ explains on hover (its title) and on a tap or Enter, which also
// works on a phone: the explanation opens below the heading.
function setupHelp() {
  for (const i of document.querySelectorAll(".info")) {
    i.tabIndex = 0;
    i.setAttribute("role", "button");
    i.setAttribute("aria-label", "explain: " + i.title);
    const toggle = () => {
      const host = i.closest("h2, h3") || i.parentElement;
      const next = host.nextElementSibling;
      if (next && next.classList.contains("info-text")) { next.remove(); return; }
      host.after(el("p", "info-text small", i.title));
    };
    i.addEventListener("click", toggle);
    i.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); toggle(); } });
  }
}

document.addEventListener("DOMContentLoaded", () => {
  setupHelp();
  window.addEventListener("hashchange", route);
  $("lab-reset").addEventListener("click", async () => { learn.labStop = true; await loadLab(-1); await renderLab(); });
  $("lab-difficulty").addEventListener("change", () => renderLab());
  route();
});
