// bc node UI. Every value from the node is put into the page with
// textContent or as an attribute value, never parsed as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const PAGE = 50;
const state = { tip: -1, oldest: null, tracked: new Map(), pending: new Map(), health: null };

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
    ["miner", h.miner ? (h.miner.running ? `mining, ${fmtRate(h.miner.hash_rate)}, ${h.miner.blocks_mined} blocks` : "stopped") : "not running"],
    ["gossip", h.gossip ? (h.gossip.running ? `${h.gossip.neighbours} neighbours, ${h.gossip.blocks_adopted} blocks adopted` : "stopped") : "not running"],
    ["version", h.version || "–"],
  ];
  for (const [k, v] of rows) {
    dl.append(el("dt", "", k), el("dd", "", String(v)));
  }
}

async function refreshHealth() {
  try { showHealth(await getJSON("/health")); } catch (e) { $("status").textContent = "unreachable"; $("status").className = "pill down"; }
}

// ---- chain ----------------------------------------------------------------

function blockNode(b, fresh) {
  const node = $("block-template").content.firstElementChild.cloneNode(true);
  node.dataset.index = b.index;
  node.querySelector(".index").textContent = "#" + b.index;
  const t = node.querySelector("time");
  const when = new Date(b.timestamp);
  t.textContent = when.toLocaleString();
  t.dateTime = when.toISOString();
  node.querySelector(".count").textContent = b.data.length === 1 ? "1 message" : `${b.data.length} messages`;
  const ul = node.querySelector(".messages");
  for (const m of b.data) {
    const li = el("li", state.tracked.has(m.id) ? "mine" : "", m.message);
    li.title = "id " + m.id;
    ul.append(li);
  }
  const hash = node.querySelector(".hash");
  hash.textContent = b.hash; hash.title = b.hash;
  node.querySelector(".prev").textContent = b.previous_hash;
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
    const li = el("li", "", m.message);
    li.title = "id " + m.id;
    ul.append(li);
  }
  $("pending-empty").hidden = state.pending.size > 0;
  $("pending-total").textContent = state.pending.size ? `(${state.pending.size})` : "";
}

async function loadPending() {
  const d = await getJSON("/data");
  state.pending = new Map((d.data || []).map((m) => [m.id, m]));
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
    st.textContent = t.status === "mined" ? `in block #${t.block} · ${t.confirmations} confirmation${t.confirmations === 1 ? "" : "s"}` : "pending…";
    li.append(st, el("span", "text", t.message));
    ul.append(li);
  }
}

async function refreshTracked() {
  for (const t of state.tracked.values()) {
    if (t.status === "mined" && t.confirmations >= 6) continue;
    try {
      const s = await getJSON(`/data/${t.id}`);
      if (s.status) Object.assign(t, { status: s.status, block: s.block, confirmations: s.confirmations });
    } catch (e) { /* unknown yet: keep waiting */ }
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
    $("chars").textContent = "0 / 4096";
    renderTracked();
  } catch (e) {
    err.textContent = "Not added: " + e.message;
    err.hidden = false;
  } finally {
    $("add-button").disabled = false;
  }
}

// ---- live updates -----------------------------------------------------------

function connect() {
  const es = new EventSource("/events");
  const live = $("live");
  es.addEventListener("open", () => { live.textContent = "● live"; live.classList.remove("muted"); });
  es.addEventListener("error", () => { live.textContent = "○ reconnecting"; live.classList.add("muted"); });
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
    state.pending.set(m.id, m);
    renderPending();
    $("pending-count").textContent = state.pending.size;
  });
  es.addEventListener("replaced", () => { resync(); refreshTracked(); refreshHealth(); });
  es.addEventListener("neighbours", (e) => renderNeighbours(JSON.parse(e.data).neighbours));
}

async function resync() {
  await Promise.allSettled([loadNewest(), loadPending(), loadNeighbours()]);
}

document.addEventListener("DOMContentLoaded", () => {
  $("add-form").addEventListener("submit", submit);
  $("message").addEventListener("input", () => { $("chars").textContent = `${new TextEncoder().encode($("message").value).length} / 4096`; });
  $("message").addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) $("add-form").requestSubmit(); });
  $("older").addEventListener("click", loadOlder);
  refreshHealth();
  resync();
  connect();
  setInterval(refreshHealth, 5000);
  setInterval(() => { if (state.tracked.size) refreshTracked(); }, 3000);
});
