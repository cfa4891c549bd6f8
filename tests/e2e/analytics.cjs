// The board of a tenant with two stores: the store selector narrows the
// columns to one store, an order's critical issue is acknowledged from its
// detail, and the Analytics tab draws the SLA report as charts (a screenshot lands in SCREENSHOTS). Run by tests/browser.rs with
// BASE, TOKEN, SOHO_ORDER, TRIBECA_ORDER and SCREENSHOTS set.
const { run } = require("./launch.cjs");

const { BASE, TOKEN, SOHO_ORDER, TRIBECA_ORDER, SCREENSHOTS } = process.env;

run(async (browser) => {
  const desk = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const board = await desk.newPage();
  await board.goto(`${BASE}/board#token=${TOKEN}`);
  await board.waitForSelector(`.card[data-order-id="${SOHO_ORDER}"]`);
  await board.waitForSelector(`.card[data-order-id="${TRIBECA_ORDER}"]`);

  // One store: the other's orders leave the board.
  await board.selectOption("#store", "soho");
  await board.waitForSelector(`.card[data-order-id="${TRIBECA_ORDER}"]`, { state: "detached" });
  await board.waitForSelector(`.card[data-order-id="${SOHO_ORDER}"]`);
  await board.selectOption("#store", "");
  await board.waitForSelector(`.card[data-order-id="${TRIBECA_ORDER}"]`);

  // The order with a critical issue says so on its card; staff acknowledge
  // it from the detail.
  await board.waitForSelector(`.card[data-order-id="${SOHO_ORDER}"] .severity-critical`);
  await board.click(`.card[data-order-id="${SOHO_ORDER}"]`);
  await board.click('#detail .issue[data-issue-state="open"] button[data-issue-step="acknowledged"]');
  await board.waitForSelector('#detail .issue[data-issue-state="acknowledged"]');
  await board.click('#detail button.secondary');

  await board.click("#tab-analytics");
  await board.waitForSelector('body[data-analytics="drawn"]');
  const stages = await board.$$eval('section[data-chart^="Time in each stage"]', (s) => s.length);
  if (stages !== 2) throw new Error(`${stages} stage charts, expected one per store`);
  // Two stores × three stages × (p50, p90).
  const bars = await board.$$eval('section[data-chart^="Time in each stage"] rect.bar', (r) => r.length);
  if (bars !== 12) throw new Error(`${bars} stage bars drawn, expected 12`);
  await board.waitForSelector('section[data-chart="Orders by status"]');
  // One stage by day and by hour of day; another chosen redraws them.
  await board.waitForSelector('section[data-chart$="(minutes) by day"] rect.bar');
  await board.waitForSelector('section[data-chart$="(minutes) by hour of day"] rect.bar');
  await board.selectOption("#analytics-stage", "kitchen confirmed preparing");
  await board.waitForSelector('section[data-chart="confirmed → preparing (minutes) by day"]');
  await board.waitForSelector('section[data-chart="Orders and breaches by hour of day"]');
  if (!(await board.isHidden("#columns"))) throw new Error("the board's columns still show");
  await board.screenshot({ path: `${SCREENSHOTS}/analytics.png`, fullPage: true });
  console.log("e2e ok: the store selector narrowed the board; the Analytics tab drew its charts");
});
