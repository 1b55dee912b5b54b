// bc node UI. Every value from the node is put into the page with
// textContent or as an attribute value, never parsed as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const PAGE = 50;
const MAX_BYTES = 4096; // a message's limit (README: max_message_bytes)
const LONG_CHARS = 280, LONG_LINES = 6; // beyond: collapsed, with "show more"
const TRACKED_KEY = "bc.tracked", TRACKED_KEEP = 50; // "Your messages", kept across reloads
const state = { tip: -1, oldest: null, tracked: new Map(), pending: new Map(), health: null, downSince: null, liveSeq: 0 };

async function getJSON(path) {
  const r = await fetch(path, { headers: { Accept: "application/json" } });
  const body = await r.json().catch(() => ({}));
  if (!r.ok && r.status !== 503) throw new Error(body.error || body.message || r.statusText);
  return body;
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function short(h) { return h ? h.slice(0, 16) + "…" : ""; }

function plural(n, noun) { return `${n} ${noun}${n === 1 ? "" : "s"}`; }

// Times as everywhere in bc (README): local, YYYY-MM-DD HH:MM:SS, the zone
// said once (in the chain's heading, and in each time's tooltip).
function pad2(n) { return String(n).padStart(2, "0"); }
function fmtTime(ms) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}
function zoneName() {
  const off = -new Date().getTimezoneOffset();
  if (!off) return "UTC";
  const a = Math.abs(off);
  return `UTC${off < 0 ? "-" : "+"}${pad2(Math.floor(a / 60))}:${pad2(a % 60)}`;
}

// messageNodes shows a message as text; a long one is cut to its first
// LONG_CHARS characters or LONG_LINES lines, with a button for the rest.
function messageNodes(text) {
  const lines = text.split("\n");
  const cut = lines.length > LONG_LINES ? lines.slice(0, LONG_LINES).join("\n") : text;
  const head = cut.length > LONG_CHARS ? cut.slice(0, LONG_CHARS) : cut;
  const span = el("span", "msg", text);
  if (head === text) return [span];
  span.textContent = head + "…";
  const more = el("button", "more", "show more");
  more.type = "button";
  more.addEventListener("click", () => {
    const open = more.textContent === "show more";
    span.textContent = open ? text : head + "…";
    more.textContent = open ? "show less" : "show more";
  });
  return [span, more];
}

function fmtRate(r) {
  if (!r) return "–";
  if (r >= 1e6) return (r / 1e6).toFixed(1) + " M/s";
  if (r >= 1e3) return (r / 1e3).toFixed(1) + " k/s";
  return r.toFixed(0) + " /s";
}

function fmtUptime(s) {
  const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
  return (d ? d + "d " : "") + (h ? h + "h " : "") + m + "m";
}

// ---- health ---------------------------------------------------------------

function showHealth(h) {
  state.health = h;
  state.downSince = null;
  const st = $("status");
  st.textContent = h.status;
  st.className = "pill " + h.status;
  st.title = h.reason || "node health";
  $("height").textContent = h.status === "starting" ? "–" : h.height;
  $("peers").textContent = h.peers;
  $("pending-count").textContent = h.pending;
  $("rate").textContent = fmtRate(h.miner && h.miner.running ? h.miner.hash_rate : 0);
  $("params").textContent = h.strategy ? `${h.strategy} · difficulty ${h.difficulty} · ${h.network}` : "";
  $("node-name").textContent = location.host;
  const dl = $("health");
  dl.replaceChildren();
  const rows = [
    ["status", h.status + (h.reason ? " — " + h.reason : "")],
    ["height", h.height], ["tip", short(h.tip)], ["genesis", short(h.genesis)],
    ["strategy", h.strategy ? `${h.strategy}, difficulty ${h.difficulty}` : "–"],
    ["network", h.network || "–"], ["uptime", fmtUptime(h.uptime_seconds)],
    ["miner", h.miner ? (h.miner.running ? `mining, ${fmtRate(h.miner.hash_rate)}, ${plural(h.miner.blocks_mined, "block")} mined` : "stopped") : "not running"],
    ["gossip", h.gossip ? (h.gossip.running ? `${h.gossip.reachable} of ${plural(h.gossip.neighbours, "neighbour")} reachable, ${plural(h.gossip.blocks_adopted, "block")} adopted` : "stopped") : "not running"],
    ["version", h.version || "–"],
  ];
  for (const [k, v] of rows) {
    dl.append(el("dt", "", k), el("dd", "", String(v)));
  }
}

async function refreshHealth() {
  try { showHealth(await getJSON("/health")); } catch (e) { showUnreachable(); }
}

// showUnreachable: nothing the node said before is current any more, so
// the Node card shows only since when it has not answered.
function showUnreachable() {
  state.downSince = state.downSince || Date.now();
  const st = $("status");
  st.textContent = "unreachable";
  st.className = "pill down";
  st.title = "bc-serve does not answer";
  $("rate").textContent = "–";
  $("health").replaceChildren(el("dt", "", "status"),
    el("dd", "", `unreachable since ${fmtTime(state.downSince)}: bc-serve does not answer`));
}

// ---- chain ----------------------------------------------------------------

function blockNode(b, fresh) {
  const node = $("block-template").content.firstElementChild.cloneNode(true);
  node.dataset.index = b.index;
  node.querySelector(".index").textContent = "#" + b.index;
  const t = node.querySelector("time");
  const when = new Date(b.timestamp);
  t.textContent = fmtTime(b.timestamp);
  t.dateTime = when.toISOString();
  t.title = `${zoneName()} · ${when.toISOString()}`;
  node.querySelector(".count").textContent = plural(b.data.length, "message");
  const ul = node.querySelector(".messages");
  for (const m of b.data) {
    const li = el("li", state.tracked.has(m.id) ? "mine" : "");
    li.append(...messageNodes(m.message));
    li.title = "id " + m.id;
    ul.append(li);
  }
  const hash = node.querySelector(".hash");
  const a = el("a", "", b.hash);
  a.href = `#/block/${b.hash}`; a.title = "this block's page: every field, its checks, its proof in bits";
  hash.replaceChildren(a);
  const prev = node.querySelector(".prev");
  if (b.index > 0) {
    const p = el("a", "", b.previous_hash);
    p.href = `#/block/${b.previous_hash}`; p.title = "the block below: its hash is this link";
    prev.replaceChildren(p);
  } else prev.textContent = b.previous_hash;
  node.querySelector(".proof").textContent = String(b.proof);
  if (fresh) node.classList.add("new");
  return node;
}

function summary() {
  const n = $("blocks").children.length;
  $("chain-summary").textContent = state.tip >= 0 ? `showing ${n} of ${state.tip + 1} blocks` : "";
  $("older").hidden = !(state.oldest > 0);
}

async function loadNewest() {
  const page = await getJSON(`/blocks?before=${Number.MAX_SAFE_INTEGER}&limit=${PAGE}`);
  const list = $("blocks");
  list.replaceChildren();
  const blocks = page.blocks || [];
  for (let i = blocks.length - 1; i >= 0; i--) list.append(blockNode(blocks[i], false));
  state.tip = page.tip;
  state.oldest = blocks.length ? blocks[0].index : 0;
  summary();
}

async function loadOlder() {
  const btn = $("older");
  btn.disabled = true;
  try {
    const page = await getJSON(`/blocks?before=${state.oldest}&limit=${PAGE}`);
    const list = $("blocks");
    for (let i = page.blocks.length - 1; i >= 0; i--) list.append(blockNode(page.blocks[i], false));
    if (page.blocks.length) state.oldest = page.blocks[0].index;
    else state.oldest = 0;
    summary();
  } finally {
    btn.disabled = false;
  }
}

async function addNewBlock(index) {
  if (index <= state.tip) return;
  const b = await getJSON(`/blocks/${index}`);
  const list = $("blocks");
  list.prepend(blockNode(b, true));
  state.tip = Math.max(state.tip, b.index);
  // Keep the page light: drop what scrolled far below.
  while (list.children.length > 500) { list.lastElementChild.remove(); state.oldest = Number(list.lastElementChild.dataset.index); }
  for (const m of b.data) { state.pending.delete(m.id); }
  renderPending();
  summary();
}

// ---- pending and neighbours ----------------------------------------------

function renderPending() {
  const ul = $("pending");
  ul.replaceChildren();
  let shown = 0;
  for (const m of state.pending.values()) {
    if (shown++ >= 200) break;
    const li = el("li");
    li.append(...messageNodes(m.message));
    li.title = "id " + m.id;
    ul.append(li);
  }
  $("pending-empty").hidden = state.pending.size > 0;
  $("pending-total").textContent = state.pending.size ? `(${state.pending.size})` : "";
}

async function loadPending() {
  const since = state.liveSeq;
  const d = await getJSON("/data");
  const fresh = new Map((d.data || []).map((m) => [m.id, m]));
  // A message that arrived live while /data was on its way stays (the
  // answer was made before it); one mined meanwhile is gone from the map.
  for (const [id, m] of state.pending) {
    if (m.seq > since && !fresh.has(id)) fresh.set(id, m);
  }
  state.pending = fresh;
  renderPending();
}

function renderNeighbours(list) {
  const ul = $("neighbours");
  ul.replaceChildren(...(list || []).map((n) => el("li", "", n)));
  $("neighbours-empty").hidden = (list || []).length > 0;
}

async function loadNeighbours() {
  renderNeighbours((await getJSON("/neighbours")).neighbours);
}

// ---- your messages: follow each until it is in a block -------------------

function renderTracked() {
  const ul = $("tracked");
  ul.replaceChildren();
  for (const t of [...state.tracked.values()].reverse()) {
    const li = el("li");
    li.dataset.id = t.id;
    const st = el("span", "state " + t.status);
    st.textContent = t.status === "mined" ? `in block #${t.block} · ${plural(t.confirmations, "confirmation")}`
      : t.status === "unknown" ? "not known to this node"
      : t.reorged ? "back to pending: a reorg dropped its block (see its journey)" : "pending…";
    const text = el("span", "text");
    text.append(...messageNodes(t.message));
    const j = el("a", "small", "journey");
    j.href = `#/message/${t.id}`;
    li.append(st, text, j);
    ul.append(li);
  }
  saveTracked();
}

// "Your messages" outlive a reload: the newest TRACKED_KEEP, in this
// browser's storage for this node's address.
function saveTracked() {
  try {
    localStorage.setItem(TRACKED_KEY, JSON.stringify([...state.tracked.values()].slice(-TRACKED_KEEP)));
  } catch (e) { /* storage full or disabled: they live as long as the page */ }
}

function loadTracked() {
  try {
    for (const t of JSON.parse(localStorage.getItem(TRACKED_KEY) || "[]")) {
      if (t && typeof t.id === "string" && typeof t.message === "string") state.tracked.set(t.id, t);
    }
  } catch (e) { /* nothing usable stored */ }
}

async function refreshTracked() {
  for (const t of state.tracked.values()) {
    if (t.status === "mined" && t.confirmations >= 6) continue;
    try {
      const r = await fetch(`/data/${t.id}`, { headers: { Accept: "application/json" } });
      const s = await r.json().catch(() => ({}));
      if (r.status === 404) t.status = "unknown"; // another chain, or this node never had it
      else if (r.ok && s.status) {
        // Confirmed, then pending again: a reorg dropped its block. Say so.
        if (t.status === "mined" && s.status === "pending") t.reorged = true;
        if (s.status === "mined") t.reorged = false;
        Object.assign(t, { status: s.status, block: s.block, confirmations: s.confirmations });
      }
    } catch (e) { /* the node does not answer: keep waiting */ }
  }
  renderTracked();
}

async function submit(ev) {
  ev.preventDefault();
  const text = $("message").value;
  const err = $("add-error");
  err.hidden = true;
  $("add-button").disabled = true;
  try {
    const r = await fetch("/add", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ message: text }) });
    const body = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(body.error || body.message || r.statusText);
    state.tracked.set(body.id, { id: body.id, message: text, status: "pending" });
    $("message").value = "";
    renderTracked();
  } catch (e) {
    err.textContent = "Not added: " + e.message;
    err.hidden = false;
  } finally {
    countBytes();
  }
}

// countBytes shows the message's size in bytes (the limit is in bytes, as
// the node counts them) and allows sending only what the node would take.
function countBytes() {
  const text = $("message").value;
  const n = new TextEncoder().encode(text).length;
  const c = $("chars");
  c.textContent = `${n} / ${MAX_BYTES} bytes`;
  c.classList.toggle("error", n > MAX_BYTES);
  const b = $("add-button");
  b.disabled = n > MAX_BYTES || text.trim() === "";
  b.title = n > MAX_BYTES ? `a message holds at most ${MAX_BYTES} bytes` : text.trim() === "" ? "write a message first" : "";
}

// ---- live updates -----------------------------------------------------------

function connect() {
  const es = new EventSource("/events");
  const live = $("live");
  es.addEventListener("open", () => { live.textContent = "● live"; live.classList.remove("muted"); });
  es.addEventListener("error", () => { live.textContent = "○ reconnecting"; live.classList.add("muted"); refreshHealth(); });
  es.addEventListener("hello", (e) => { showHealth(JSON.parse(e.data)); resync(); });
  es.addEventListener("block", async (e) => {
    const b = JSON.parse(e.data);
    try { await addNewBlock(b.index); } catch (x) { resync(); }
    if (b.ids.some((id) => state.tracked.has(id))) refreshTracked();
    else if (state.tracked.size) refreshTracked();
    refreshHealth();
  });
  es.addEventListener("pending", (e) => {
    const m = JSON.parse(e.data);
    m.seq = ++state.liveSeq;
    state.pending.set(m.id, m);
    renderPending();
    $("pending-count").textContent = state.pending.size;
  });
  es.addEventListener("replaced", () => {
    resync(); refreshTracked(); refreshHealth();
    if (location.hash.startsWith("#/network")) showNetwork().catch(() => {});
  });
  es.addEventListener("neighbours", (e) => renderNeighbours(JSON.parse(e.data).neighbours));
}

async function resync() {
  await Promise.allSettled([loadNewest(), loadPending(), loadNeighbours()]);
}

document.addEventListener("DOMContentLoaded", () => {
  $("add-form").addEventListener("submit", submit);
  $("message").addEventListener("input", countBytes);
  $("zone").textContent = "· times in " + zoneName();
  loadTracked();
  renderTracked();
  countBytes();
  $("message").addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) $("add-form").requestSubmit(); });
  $("older").addEventListener("click", loadOlder);
  refreshHealth();
  resync();
  connect();
  setInterval(refreshHealth, 5000);
  setInterval(() => { if (state.tracked.size) refreshTracked(); }, 3000);
  if (state.tracked.size) refreshTracked();
});
