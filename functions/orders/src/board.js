// The staff board. Served as its own file so the page's
// Content-Security-Policy can forbid every inline script; everything the API
// says is inserted as text, never as markup.
//
// The staff token is kept in this page's memory only (the token field), never
// in localStorage or sessionStorage, which every script on this origin could
// read — the customer's page included. A reload asks for it again.
const $ = (id) => document.getElementById(id);
const orders = new Map();
let lastEventId = null;
let streaming = null;
let socket = null;
let noSocket = false;
let following = 0;
// The store the board shows ("" for all the token sees).
let store = "";
const storeQuery = (sep) => (store ? sep + "store=" + encodeURIComponent(store) : "");

function text(el, value) { el.textContent = value == null ? "" : String(value); }
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("data-")) node.setAttribute(k, v);
    else if (k === "onclick") node.onclick = v;
    else node[k] = v;
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child ?? "")));
  return node;
}
const when = (t) => new Date(t).toLocaleString([], { dateStyle: "short", timeStyle: "short" });
const token = () => $("token").value.trim();

async function api(path, options = {}) {
  const response = await fetch(path, {
    ...options,
    headers: { authorization: "Bearer " + token(), "content-type": "application/json", ...(options.headers || {}) },
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) { text($("error"), body.detail || body.title || response.status); throw new Error(body.detail); }
  text($("error"), "");
  return body;
}

// A row from the live channel; one older than the row shown (a catch-up
// that crossed a live message on AWS) changes nothing.
function update(id, summary) {
  if (id && (!lastEventId || id > lastEventId)) lastEventId = id;
  const shown = orders.get(summary.id);
  if (shown && shown.updated_at > summary.updated_at) return;
  orders.set(summary.id, summary);
  renderBoard();
}

function renderBoard() {
  const byStatus = new Map();
  for (const order of [...orders.values()].sort((a, b) => b.updated_at.localeCompare(a.updated_at))) {
    if (!byStatus.has(order.status)) byStatus.set(order.status, []);
    byStatus.get(order.status).push(order);
  }
  $("columns").replaceChildren(...[...byStatus.entries()].map(([status, list]) =>
    el("section", { class: "column", "data-column": status },
      el("h2", {}, status.replaceAll("_", " ") + " · " + list.length),
      ...list.map((o) => el("div", { class: "card", "data-order-id": o.id, "data-status": o.status, onclick: () => openOrder(o.id) },
        el("div", {}, o.id.slice(0, 12) + "…"),
        el("div", { class: "muted" }, o.customer_id + " · " + (o.total / 100).toFixed(2) + " " + o.currency),
        el("div", {}, ...(o.issue ? [el("span", { class: "flag severity-" + o.issue }, o.issue + " issue")] : []),
          ...(o.flags || []).map((f) => el("span", { class: "flag" }, f.replaceAll("_", " ")))),
        el("div", { class: "muted" }, when(o.updated_at)))))));
}

// The stores the token sees, to choose from. A token of several stores
// follows one at a time, so it starts on its first; one that sees every
// store starts on all of them.
async function loadStores() {
  const { stores, all_stores: all } = await api("/stores");
  const options = [...(all ? [el("option", { value: "" }, "All stores")] : []),
    ...stores.map((s) => el("option", { value: s.id }, s.name))];
  $("store").replaceChildren(...options);
  $("store").hidden = options.length < 2;
  store = $("store").value = all || !stores.length ? "" : stores[0].id;
}

async function load() {
  await loadStores();
  await reload();
}

async function reload() {
  const page = await api("/orders?limit=200" + storeQuery("&"));
  orders.clear();
  for (const o of page.orders) orders.set(o.id, o);
  renderBoard();
  follow();
}

async function openOrder(id) {
  const o = await api("/orders/" + id);
  const act = (to, needsTracking) => async () => {
    const body = { to, expected_version: o.version };
    if (needsTracking) {
      const code = prompt("Tracking code (leave empty if the tenant allows 'tracking pending')");
      if (code) body.tracking = { carrier: prompt("Carrier", "UPS") || "UPS", code };
    }
    await api("/orders/" + id + "/transitions", { method: "POST", body: JSON.stringify(body) });
    openOrder(id);
  };
  const post = (path, body) => async () => { await api("/orders/" + id + path, { method: "POST", body: JSON.stringify(body()) }); openOrder(id); };
  $("detail").hidden = false;
  $("detail").replaceChildren(
    el("button", { class: "secondary", onclick: () => { $("detail").hidden = true; } }, "Close"),
    el("h2", { "data-detail-status": o.status }, o.status_label),
    el("div", { class: "muted" }, o.id + " · v" + o.version + " · " + o.customer_id),
    el("h3", {}, "Next"),
    el("div", { class: "actions" }, ...o.allowed_actions.map((a) =>
      el("button", { "data-action": a.to, onclick: act(a.to, a.requires_tracking) }, a.label))),
    el("div", { class: "actions" },
      el("button", { class: "secondary", onclick: post("/notes", () => ({ text: prompt("Note") || "" })) }, "Add note"),
      el("button", { class: "secondary", onclick: post("/flags/resolve", () => ({ reason: prompt("How was it resolved?") || "" })) }, "Resolve flags"),
      el("button", { class: "secondary", onclick: post("/refetch", () => ({})) }, "Re-fetch carrier")),
    el("h3", {}, "Lines"),
    ...(o.amended ? o.amended.lines : o.items).map((l) => el("div", { "data-line-sku": l.sku }, l.quantity + " × " + l.name + " · " + (l.unit_price / 100).toFixed(2))),
    el("div", { class: "muted" }, "Total " + ((o.amended ? o.amended.total : o.total) / 100).toFixed(2) + " " + o.currency +
      (o.amended ? " (checkout: " + (o.total / 100).toFixed(2) + ")" : "")),
    ...(o.proposal ? [el("div", { class: "proposal" }, "Waiting for the customer: " + o.proposal.lines.map((p) =>
      p.original.quantity + " × " + p.original.name + " → " + (p.replacement ? p.replacement.quantity + " × " + p.replacement.name : "removed")).join("; "))] : []),
    el("div", { class: "actions" },
      el("button", { class: "secondary", "data-propose": "", onclick: post("/substitutions", () => {
        const sku = prompt("SKU the store cannot supply") || "";
        const replacement = prompt("Replacement SKU (leave empty to remove the item)");
        return { lines: [{ sku, replacement: replacement ? {
          sku: replacement, name: prompt("Replacement name") || replacement,
          unit_price: Number(prompt("Replacement unit price, in cents") || 0), quantity: Number(prompt("Quantity", "1") || 1) } : undefined }] };
      }) }, "Propose substitution")),
    ...(o.dispatch ? [el("h3", {}, "Delivery partner"), el("div", { "data-dispatch": o.dispatch.state },
      o.dispatch.state.replaceAll("_", " ") + (o.dispatch.delivery_id ? " · " + o.dispatch.delivery_id : "") +
      (o.dispatch.due_at ? " · next call " + when(o.dispatch.due_at) : ""))] : []),
    el("h3", {}, "Issues"),
    ...((o.issues || []).length ? o.issues.map((i) => el("div", { class: "issue", "data-issue": i.issue_id, "data-issue-state": i.state },
      el("span", { class: "flag severity-" + i.severity }, i.severity), " " + i.kind.replaceAll("_", " ") + " · " + i.summary + " · " + i.state +
        (i.assignee ? " · " + i.assignee : "") + (i.resolution ? " · " + i.resolution : ""),
      ...(i.state === "open" ? [el("button", { class: "secondary", "data-issue-step": "acknowledged", onclick: post("/issues/" + i.issue_id, () => ({ step: "acknowledged" })) }, "Acknowledge")] : []),
      ...(i.state !== "resolved" ? [
        el("button", { class: "secondary", "data-issue-step": "assigned", onclick: post("/issues/" + i.issue_id, () => ({ step: "assigned", assignee: prompt("Assign to") || "" })) }, "Assign"),
        el("button", { class: "secondary", "data-issue-step": "resolved", onclick: post("/issues/" + i.issue_id, () => ({ step: "resolved", resolution: prompt("How was it resolved?") || "" })) }, "Resolve")] : []))) : [el("div", { class: "muted" }, "none")]),
    el("div", { class: "actions" },
      el("button", { class: "secondary", "data-open-issue": "", onclick: post("/issues", () => ({
        kind: prompt("Kind: missing_item, damaged, late, wrong_address, payment_problem, delivery_exception, other", "other") || "other",
        severity: prompt("Severity: low, medium, high, critical", "medium") || "medium",
        summary: prompt("What is wrong?") || "" })) }, "Open issue")),
    el("h3", {}, "Flags"),
    ...(o.flags.length ? o.flags.map((f) => el("div", {}, el("span", { class: "flag" }, f.kind), " " + f.reason)) : [el("div", { class: "muted" }, "none")]),
    el("h3", {}, "Parked facts"),
    ...(o.parked_facts.length ? o.parked_facts.map((p) => el("div", {}, p.target + " from " + p.source + " ",
      el("button", { class: "secondary", onclick: post("/parked/" + p.event_id, () => ({ action: "discard", reason: prompt("Why discard?") || "" })) }, "Discard"))) : [el("div", { class: "muted" }, "none")]),
    el("h3", {}, "Packages"),
    ...(o.shipments.length ? o.shipments.map((s) => el("div", {}, (s.carrier || "") + " " + (s.tracking_code || "tracking pending") + " · " + s.status)) : [el("div", { class: "muted" }, "none")]),
    el("h3", {}, "Timeline"),
    ...o.timeline.map((t) => el("div", {}, when(t.occurred_at) + " · " + t.label + (t.late ? " (arrived late)" : "") + " · " + t.source)),
    el("h3", {}, "Customer messages"),
    ...((o.notifications || []).length ? o.notifications.map((n) => el("div", { "data-notification": n.channel },
      when(n.at) + " · " + n.channel + " · " + n.news.replaceAll("_", " ") + " · " +
      (n.message_id ? "sent" : "not sent: " + String(n.suppressed).replaceAll("_", " ") + (n.detail ? " (" + n.detail + ")" : "")))) : [el("div", { class: "muted" }, "none yet")]),
    el("p", {}, el("a", { href: "/t/" + encodeURIComponent(o.public_id), target: "_blank", rel: "noopener noreferrer" }, "Customer view")));
}

async function showHealth() {
  const health = await api("/admin/health");
  $("health").replaceChildren(...(health.orders.length ? health.orders.map((h) =>
    el("div", { class: "entry", "data-health-order": h.id },
      el("strong", {}, h.id + " · " + h.status + " · " + h.age_minutes + " min"),
      ...(h.order_issues || []).map((i) => el("div", {}, el("span", { class: "flag severity-" + i.severity }, i.severity), " " + i.kind.replaceAll("_", " ") + " · " + i.summary + " · " + i.state)),
      ...h.issues.map((i) => el("div", {}, el("span", { class: "flag" }, i.kind + " L" + i.level), " " + i.reason + " → " + i.suggested_actions.join(", "))),
      el("button", { onclick: () => openOrder(h.id) }, "Open"))) : [el("p", {}, "Nothing is stuck.")]));
}

// The store channel over the page's WebSocket (data-live): a browser
// cannot put the token on a WebSocket, so the API issues a single-use
// ticket that opens one. A socket that never opens makes the board use the
// stream below for good; one that opened and closed reconnects with a new
// ticket and the last id seen, and `resume` asks for what it missed (the
// catch-up on AWS waits for it; the local stack has already sent it).
async function follow() {
  const mine = ++following;
  if (streaming) streaming.abort();
  if (socket) { socket.onclose = null; socket.close(); socket = null; }
  const at = document.body.dataset.live;
  if (!at || noSocket) return stream();
  let ticket;
  try {
    ticket = (await api("/live/tickets" + storeQuery("?"), { method: "POST" })).ticket;
  } catch {
    noSocket = true;
    return stream();
  }
  // A newer follow() (another token) started while this one waited.
  if (mine !== following) return;
  const url = new URL(at, location.href);
  url.protocol = url.protocol.replace("http", "ws");
  url.search = "ticket=" + encodeURIComponent(ticket) + (lastEventId ? "&last_event_id=" + encodeURIComponent(lastEventId) : "");
  const current = new WebSocket(url.href, ["order-tracking.v1"]);
  socket = current;
  let opened = false;
  current.onopen = () => {
    opened = true;
    document.body.dataset.transport = "websocket";
    $("live").className = "live on"; text($("live-label"), "live");
    current.send(JSON.stringify({ action: "resume" }));
  };
  current.onmessage = (message) => {
    const { id, data } = JSON.parse(message.data);
    update(id, data);
  };
  current.onclose = () => {
    if (socket !== current) return;
    $("live").className = "live"; text($("live-label"), "reconnecting…");
    if (!opened) noSocket = true;
    setTimeout(follow, opened ? 1000 : 0);
  };
}

// The store channel: fetch() rather than EventSource, so the token travels
// in a header; Last-Event-ID is sent on every reconnect.
async function stream() {
  document.body.dataset.transport = "sse";
  if (streaming) streaming.abort();
  const controller = new AbortController();
  streaming = controller;
  try {
    const headers = { authorization: "Bearer " + token() };
    if (lastEventId) headers["last-event-id"] = lastEventId;
    const response = await fetch("/orders/stream" + storeQuery("?"), { headers, signal: controller.signal });
    if (!response.ok) throw new Error("stream refused");
    $("live").className = "live on"; text($("live-label"), "live");
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let id = null, data = "";
        for (const line of block.split("\n")) {
          if (line.startsWith("id:")) id = line.slice(3).trim();
          else if (line.startsWith("data:")) data += line.slice(5).trim();
        }
        if (data) update(id, JSON.parse(data));
      }
    }
  } catch (e) {
    if (controller.signal.aborted) return;
  }
  $("live").className = "live"; text($("live-label"), "reconnecting…");
  setTimeout(stream, 1000);
}

// Earlier boards kept the token in localStorage: forget it.
localStorage.removeItem("token");
// /board#token=<jwt> hands the token over once; it then leaves the address
// bar and the history, so it is not left behind in either.
const handed = new URLSearchParams(location.hash.slice(1)).get("token");
if (handed) history.replaceState(null, "", location.pathname + location.search);
$("token").value = handed || "";
$("token").onchange = () => load();
// One view at a time: the board's columns, the health view, the analytics.
const views = { board: "columns", health: "health", analytics: "analytics" };
function show(view) {
  for (const [name, id] of Object.entries(views)) {
    $("tab-" + name).className = name === view ? "active" : "";
    $(id).hidden = name !== view;
  }
  if (view === "health") showHealth();
  if (view === "analytics") showAnalytics(store);
}
for (const name of Object.keys(views)) $("tab-" + name).onclick = () => show(name);
$("store").onchange = () => {
  store = $("store").value;
  lastEventId = null;
  reload();
  if (!$("analytics").hidden) showAnalytics(store);
};
if (token()) load();
