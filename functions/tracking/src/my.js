// The customer's "my orders" page: the orders the signed link opens, each
// linking to its tracking page. Everything is inserted as text.
const main = document.querySelector("main");
const note = document.getElementById("my-note");
const when = (t) => new Date(t).toLocaleDateString([], { dateStyle: "medium" });

async function load() {
  const response = await fetch("/my-orders/" + encodeURIComponent(main.dataset.link));
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    note.textContent = body.detail || "This link does not open any orders.";
    document.body.dataset.state = "refused";
    return;
  }
  note.textContent = body.orders.length + (body.orders.length === 1 ? " order" : " orders");
  document.getElementById("my-orders").replaceChildren(...body.orders.map((o) => {
    const li = document.createElement("li");
    li.dataset.publicId = o.public_id;
    li.dataset.status = o.status;
    const a = document.createElement("a");
    a.href = "/t/" + encodeURIComponent(o.public_id);
    a.textContent = o.label;
    const detail = document.createElement("span");
    detail.className = "muted";
    detail.textContent = " · placed " + when(o.placed_at) + " · " + o.items + " items · " + (o.total / 100).toFixed(2) + " " + o.currency;
    li.append(a, detail);
    return li;
  }));
  document.body.dataset.state = "listed";
}

load();
