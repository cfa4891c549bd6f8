// The board's Analytics tab: the SLA report drawn as inline SVG charts —
// time in each stage (p50 and p90 against the SLA) per store, one stage's
// time by day and by hour of day (the slowest, or the one chosen), orders
// and breaches by day and by hour of day, orders and amounts by status. Drawn
// here from the report's JSON, with nothing fetched from elsewhere, so it
// works offline and under the page's Content-Security-Policy. Uses the
// board's `api`, `el` and `$` (board.js, loaded first).
const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child ?? "")));
  return node;
}

// A horizontal bar chart. Each row: { label, bars: [{ value, kind }], mark?, note? }:
// bars are drawn over each other, widest first; `mark` is a line (an SLA).
function chart(title, rows, unit) {
  const row = 22, left = 170, width = 340, right = 190;
  const max = Math.max(1, ...rows.flatMap((r) => [...r.bars.map((b) => b.value), r.mark || 0]));
  const x = (v) => left + (v / max) * width;
  const height = rows.length * row + 28;
  const figure = svg("svg", { viewBox: `0 0 ${left + width + right} ${height}`, role: "img", "aria-label": title, class: "chart" });
  rows.forEach((r, i) => {
    const y = 8 + i * row;
    figure.append(svg("text", { x: left - 6, y: y + 14, "text-anchor": "end", class: "label" }, r.label));
    for (const b of [...r.bars].sort((a, c) => c.value - a.value)) {
      figure.append(svg("rect", { x: left, y: y + 3, width: Math.max(1, x(b.value) - left), height: row - 8, class: "bar " + b.kind },
        svg("title", {}, `${b.kind}: ${b.value} ${unit}`)));
    }
    if (r.mark) figure.append(svg("line", { x1: x(r.mark), x2: x(r.mark), y1: y, y2: y + row - 2, class: "mark" }, svg("title", {}, `SLA ${r.mark} ${unit}`)));
    figure.append(svg("text", { x: left + width + 8, y: y + 14, class: "note" }, r.note ?? ""));
  });
  figure.append(svg("text", { x: left, y: height - 4, class: "axis" }, `0 – ${Math.round(max * 10) / 10} ${unit}`));
  return el("section", { class: "chart-card", "data-chart": title }, el("h3", {}, title), figure);
}

const breaches = (figures) => figures.stages.reduce((n, s) => n + s.breaches, 0);

function stageRows(stages) {
  return stages.map((s) => ({
    label: `${s.from_state} → ${s.to_state}`.replaceAll("_", " "),
    bars: [{ value: s.p90_minutes, kind: "p90" }, { value: s.p50_minutes, kind: "p50" }],
    mark: s.sla_minutes,
    note: `p50 ${s.p50_minutes} · p90 ${s.p90_minutes}${s.breaches ? ` · ${s.breaches} late` : ""}`,
  }));
}

function countRows(groups, suffix = "") {
  return groups.map((g) => ({
    label: g.key + suffix,
    bars: [{ value: g.orders, kind: "orders" }, { value: breaches(g), kind: "breaches" }],
    note: `${g.orders} orders · ${breaches(g)} stage breaches`,
  }));
}

// One stage's times (p50, p90 against the SLA) in each group: a day, an
// hour of the day. `stage` is "lifecycle from to", as the select names it.
function stageByGroup(title, groups, stage, suffix = "") {
  const rows = groups.flatMap((g) => g.stages
    .filter((s) => `${s.lifecycle} ${s.from_state} ${s.to_state}` === stage)
    .map((s) => ({ ...stageRows([s])[0], label: g.key + suffix })));
  return chart(title, rows, "min");
}

// Which stage the by-day and by-hour charts show; the slowest at first.
let chosenStage = null;

async function showAnalytics(store) {
  const only = store ? "&store=" + encodeURIComponent(store) : "";
  const [byStore, byDay, byHour] = await Promise.all(
    ["store", "day", "hour"].map((by) => api(`/admin/reports/sla?by=${by}${only}`)));
  const charts = [];
  for (const group of byStore.groups || []) {
    if (group.stages.length) charts.push(chart(`Time in each stage (minutes) · ${group.key}`, stageRows(group.stages), "min"));
  }
  const stages = byStore.stages.map((s) => `${s.lifecycle} ${s.from_state} ${s.to_state}`);
  if (!stages.includes(chosenStage)) {
    const slowest = [...byStore.stages].sort((a, b) => b.p90_minutes - a.p90_minutes)[0];
    chosenStage = slowest ? `${slowest.lifecycle} ${slowest.from_state} ${slowest.to_state}` : null;
  }
  const picker = el("select", { id: "analytics-stage", "aria-label": "Stage", onchange: () => { chosenStage = picker.value; showAnalytics(store); } },
    ...stages.map((s) => el("option", { value: s, selected: s === chosenStage }, s.replaceAll("_", " "))));
  if (chosenStage) {
    const name = chosenStage.split(" ").slice(1).join(" → ").replaceAll("_", " ");
    charts.push(stageByGroup(`${name} (minutes) by day`, byDay.groups || [], chosenStage));
    charts.push(stageByGroup(`${name} (minutes) by hour of day`, byHour.groups || [], chosenStage, ":00"));
  }
  if (byDay.groups) charts.push(chart("Orders and breaches by day", countRows(byDay.groups), "orders"));
  if (byHour.groups) charts.push(chart("Orders and breaches by hour of day", countRows(byHour.groups, ":00"), "orders"));
  charts.push(chart("Orders by status", byStore.by_status.map((s) => ({
    label: s.status.replaceAll("_", " "),
    bars: [{ value: s.count, kind: "orders" }],
    note: `${s.count} · ${(s.amount / 100).toFixed(2)} ${s.currency}`,
  })), "orders"));
  $("analytics").replaceChildren(
    el("p", { class: "muted" }, `${byStore.orders} orders placed ${when(byStore.from)} – ${when(byStore.to)}`, " · stage by day and hour: ", picker),
    el("p", { class: "legend" }, el("span", { class: "key p50" }, "p50"), " ", el("span", { class: "key p90" }, "p90"), " ",
      el("span", { class: "key mark" }, "SLA"), " ", el("span", { class: "key orders" }, "orders"), " ", el("span", { class: "key breaches" }, "breaches")),
    ...charts);
  document.body.dataset.analytics = "drawn";
}
