// The customer answers the store's substitutions line by line on the
// tracking page: takes the replacement mug, keeps the tea. Run by
// tests/browser.rs with BASE and PUBLIC_ID set.
const { run } = require("./launch.cjs");

const { BASE, PUBLIC_ID } = process.env;

run(async (browser) => {
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const page = await phone.newPage();
  await page.goto(`${BASE}/t/${PUBLIC_ID}`);
  await page.waitForSelector('#status[data-status="substitutions_needed"]');
  await page.waitForSelector('#substitutions:not([hidden]) .proposed-line[data-line="1"]');
  await page.selectOption('select[data-answer="0"]', "approve");
  await page.selectOption('select[data-answer="1"]', "reject");
  await page.click("#send-answers");
  await page.waitForSelector('#status[data-status="substitutions_approved"]');
  await page.waitForSelector("#substitutions[hidden]", { state: "attached" });
  const total = await page.getAttribute("#total", "data-total");
  if (total !== String(1250 + 1400 + 3 * 899)) throw new Error(`total ${total}`);
  console.log("e2e ok: the customer answered each substitution on the tracking page");
});
