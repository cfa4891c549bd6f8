// The customer's tracking page: renders /track/{id} and re-renders on every
// message of the live stream. Served as its own file so the page's
// Content-Security-Policy can forbid every inline script. Whatever the API
// says (carrier and driver names, items, the store's proposal) is inserted
// as text, never as markup; a link is followed only if it is http(s).
const id = document.querySelector("main").dataset.publicId;
const $ = (sel) => document.getElementById(sel);
const when = (t) => new Date(t).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
function text(el, value) { el.textContent = value == null ? "" : String(value); }

// The server only hands out http(s) links; checked again here, where the
// href is set, so a javascript: or data: link can never become one.
function webLink(value) {
  try {
    const url = new URL(String(value));
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
  } catch {
    return null;
  }
}

function render(view) {
  const status = $("status");
  text(status, view.label);
  status.dataset.status = view.status;
  text($("message"), view.message);
  text($("expected"), view.expected_by && !view.terminal ? "Expected by " + when(view.expected_by) : "");
  $("substitutions").hidden = !view.awaiting_answer;
  text($("proposal"), view.proposal);
  renderProposal(view.substitutions, view.currency);

  const timeline = $("timeline");
  timeline.replaceChildren(...view.timeline.map((step) => {
    const li = document.createElement("li");
    const strong = document.createElement("strong");
    text(strong, step.label);
    const span = document.createElement("div");
    span.className = "muted";
    text(span, when(step.occurred_at));
    li.append(strong, span);
    return li;
  }));

  $("packages").hidden = view.shipments.length === 0;
  $("package-list").replaceChildren(...view.shipments.map((s) => {
    const div = document.createElement("div");
    div.className = "package";
    const line = document.createElement("div");
    if (s.tracking_code) {
      const carrier = document.createElement("span");
      text(carrier, (s.carrier || "Carrier") + " ");
      line.append(carrier);
      const link = webLink(s.tracking_url);
      if (link) {
        const a = document.createElement("a");
        a.href = link;
        a.rel = "noopener noreferrer";
        text(a, s.tracking_code);
        line.append(a);
      } else {
        const code = document.createElement("span");
        text(code, s.tracking_code);
        line.append(code);
      }
    } else {
      text(line, "Tracking number pending");
    }
    const message = document.createElement("div");
    message.className = "muted";
    text(message, s.message);
    div.append(line, message);
    if (s.estimated_delivery) {
      const eta = document.createElement("div");
      eta.dataset.eta = s.estimated_delivery;
      text(eta, "Expected " + when(s.estimated_delivery));
      div.append(eta);
    }
    if (s.last_scan_at || s.last_location) {
      const scan = document.createElement("div");
      scan.className = "muted";
      scan.dataset.lastScan = "";
      text(scan, "Last scan" + (s.last_location ? ": " + s.last_location : "") + (s.last_scan_at ? " · " + when(s.last_scan_at) : ""));
      div.append(scan);
    }
    return div;
  }));

  const delivery = view.delivery;
  $("delivery").hidden = !delivery;
  if (delivery) {
    const parts = [];
    if (delivery.driver_name) parts.push(delivery.driver_name + (delivery.vehicle ? " · " + delivery.vehicle : ""));
    if (delivery.eta) parts.push("Arriving around " + when(delivery.eta));
    if (delivery.location) parts.push("Last seen at " + delivery.location.lat.toFixed(4) + ", " + delivery.location.lng.toFixed(4));
    $("driver").replaceChildren(...parts.map((p) => { const d = document.createElement("div"); text(d, p); return d; }));
  }

  $("items").replaceChildren(...view.items.map((i) => { const d = document.createElement("div"); text(d, i.quantity + " × " + i.name); return d; }));
  text($("total"), "Total " + money(view.total, view.currency) +
    (view.original_total != null ? " (was " + money(view.original_total, view.currency) + " at checkout)" : ""));
  $("total").dataset.total = view.total;
  text($("payment"), view.payment ? view.payment.message : "");
  $("cancel").hidden = !view.can_cancel;
  renderUpdates(view.notifications);
}

// What the customer is told, by which channel: their choices, sent whole.
let updates = null;
function renderUpdates(settings) {
  updates = settings;
  $("updates").hidden = !settings || (!settings.can_email && !settings.can_sms);
  if ($("updates").hidden) return;
  $("updates-on").checked = !settings.opted_out;
  const channels = [["email", "Email", settings.can_email], ["sms", "Text message", settings.can_sms]].filter((c) => c[2]);
  const head = document.createElement("tr");
  head.append(document.createElement("th"), ...channels.map(([, label]) => { const th = document.createElement("th"); text(th, label); return th; }));
  const rows = settings.news.map((news) => {
    const row = document.createElement("tr");
    const name = document.createElement("td");
    text(name, news.replaceAll("_", " "));
    row.append(name, ...channels.map(([channel]) => {
      const cell = document.createElement("td");
      const box = document.createElement("input");
      box.type = "checkbox";
      box.dataset.channel = channel;
      box.dataset.news = news;
      box.checked = settings[channel].includes(news);
      box.disabled = settings.opted_out;
      box.onchange = saveUpdates;
      cell.append(box);
      return cell;
    }));
    return row;
  });
  $("updates-choices").replaceChildren(head, ...rows);
}

async function saveUpdates() {
  const chosen = (channel) => [...document.querySelectorAll("#updates-choices input[data-channel=" + channel + "]")]
    .filter((box) => box.checked).map((box) => box.dataset.news);
  const body = { opted_out: !$("updates-on").checked, email: chosen("email"), sms: chosen("sms") };
  if (!updates.can_email) delete body.email;
  if (!updates.can_sms) delete body.sms;
  const response = await fetch("/track/" + id + "/notifications", {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
  });
  if (response.ok) render(await response.json());
}
$("updates-on").onchange = saveUpdates;

$("cancel-order").onclick = async () => {
  if (!confirm("Cancel this order?")) return;
  const response = await fetch("/track/" + id + "/cancel", {
    method: "POST", headers: { "content-type": "application/json" }, body: "{}",
  });
  if (response.ok) render(await response.json());
  else refresh();
};

async function refresh() {
  const response = await fetch("/track/" + id);
  if (!response.ok) { text($("status"), "We could not find this order."); return; }
  render(await response.json());
}

const money = (minor, currency) => (minor / 100).toFixed(2) + " " + currency;
const signed = (minor, currency) => (minor > 0 ? "+" : "") + money(minor, currency);

// A proposal of lines: one choice per line (keep the original, take the
// replacement, or drop the units), sent together.
function renderProposal(proposal, currency) {
  const lines = proposal ? proposal.lines : [];
  $("send-answers").hidden = lines.length === 0;
  text($("proposal-deadline"), proposal
    ? "Please answer by " + when(proposal.answer_by) + "; otherwise: " + proposal.on_no_answer.replaceAll("_", " ") + "."
    : "");
  $("proposal-lines").replaceChildren(...lines.map((line, i) => {
    const row = document.createElement("div");
    row.className = "proposed-line";
    row.dataset.line = i;
    const what = document.createElement("div");
    text(what, line.quantity + " × " + line.name + " → " +
      (line.replacement ? line.replacement.quantity + " × " + line.replacement.name : "removed") +
      " (" + signed(line.price_difference, currency) + ")");
    const choice = document.createElement("select");
    choice.dataset.answer = i;
    for (const [value, label] of [["approve", line.replacement ? "Take the replacement" : "Remove it"], ["reject", "Keep the original"], ["cancel_line", "Remove it, no replacement"]]) {
      const option = document.createElement("option");
      option.value = value;
      text(option, label);
      choice.append(option);
    }
    row.append(what, choice);
    return row;
  }));
}

async function answer(body) {
  await fetch("/track/" + id + "/substitutions", {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  await refresh();
}
$("approve").onclick = () => answer({ decision: "approve" });
$("reject").onclick = () => answer({ decision: "reject" });
$("send-answers").onclick = () =>
  answer({ answers: [...document.querySelectorAll("#proposal-lines select")].map((s) => s.value) });

// The live channel: the WebSocket where the page names one (data-live),
// else Server-Sent Events. A socket that never opens (a proxy that drops
// upgrades) makes the page fall back to SSE for good; one that opened and
// closed (API Gateway ends idle sockets) reconnects with the last id seen,
// and `resume` asks for what it missed — on AWS the catch-up waits for it,
// the local stack has already sent it. Every message is just a nudge to
// re-read the view, so a repeat or a late one changes nothing.
const socketAt = document.querySelector("main").dataset.live;
let lastSeq = 0;
function live(on, label) {
  $("live").className = on ? "live" : "live off";
  text($("live-label"), label);
}

function socketUrl(query) {
  const url = new URL(socketAt, location.href);
  url.protocol = url.protocol.replace("http", "ws");
  url.search = query;
  return url.href;
}

function connect() {
  if (!socketAt) return follow();
  let query = "public_id=" + encodeURIComponent(id);
  if (lastSeq) query += "&last_event_id=" + lastSeq;
  const socket = new WebSocket(socketUrl(query), ["order-tracking.v1"]);
  let opened = false;
  socket.onopen = () => {
    opened = true;
    document.body.dataset.transport = "websocket";
    live(true, "live");
    socket.send(JSON.stringify({ action: "resume" }));
  };
  socket.onmessage = (message) => {
    const seq = Number(JSON.parse(message.data).id);
    if (seq > lastSeq) lastSeq = seq;
    refresh();
  };
  socket.onclose = () => {
    live(false, "reconnecting…");
    if (opened) setTimeout(connect, 1000);
    else follow();
  };
}

function follow() {
  // EventSource sends Last-Event-ID itself when it reconnects.
  const source = new EventSource("/track/" + id + "/events");
  document.body.dataset.transport = "sse";
  source.onopen = () => live(true, "live");
  source.onerror = () => live(false, "reconnecting…");
  for (const type of ["placed", "status", "history", "shipment", "delivery", "payment", "substitutions"]) {
    source.addEventListener(type, refresh);
  }
}
refresh();
connect();
