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
  text($("payment"), view.payment ? view.payment.message : "");
}

async function refresh() {
  const response = await fetch("/track/" + id);
  if (!response.ok) { text($("status"), "We could not find this order."); return; }
  render(await response.json());
}

async function decide(decision) {
  await fetch("/track/" + id + "/substitutions", {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ decision }),
  });
  await refresh();
}
$("approve").onclick = () => decide("approve");
$("reject").onclick = () => decide("reject");

function connect() {
  // EventSource sends Last-Event-ID itself when it reconnects.
  const source = new EventSource("/track/" + id + "/events");
  source.onopen = () => { $("live").className = "live"; text($("live-label"), "live"); };
  source.onerror = () => { $("live").className = "live off"; text($("live-label"), "reconnecting…"); };
  for (const type of ["placed", "status", "history", "shipment", "delivery", "payment"]) {
    source.addEventListener(type, refresh);
  }
}
refresh();
connect();
