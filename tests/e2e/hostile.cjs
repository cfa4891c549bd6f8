// Hostile text and links in headless Chromium: nothing a provider, a
// customer or staff typed runs as script on the customer's page or on the
// board, and the board leaves no token behind. Run by tests/browser.rs with
// BASE, TOKEN, DELIVERY_PUBLIC_ID, PARCEL_PUBLIC_ID, PARCEL_ID, IMG and
// SCRIPT set; every payload sets window.__pwned if it ever runs.
const { run } = require("./launch.cjs");

const { BASE, TOKEN, DELIVERY_PUBLIC_ID, PARCEL_PUBLIC_ID, PARCEL_ID, IMG, SCRIPT } = process.env;

function check(condition, message) {
  if (!condition) throw new Error(message);
}

run(async (browser) => {
  const dialogs = [];
  const open = async (context, url) => {
    const page = await context.newPage();
    page.on("dialog", (dialog) => { dialogs.push(dialog.message()); dialog.dismiss(); });
    await page.goto(url);
    return page;
  };
  // Gives an injected handler (an <img onerror>) the time to fire, then asks.
  const pwned = async (page) => {
    await page.waitForTimeout(300);
    return page.evaluate(() => window.__pwned);
  };
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 } });

  // The customer's page shows every hostile text literally.
  const delivery = await open(phone, `${BASE}/t/${DELIVERY_PUBLIC_ID}`);
  await delivery.waitForSelector('#status[data-status="substitutions_needed"]');
  await delivery.waitForSelector("#driver div");
  const shown = await delivery.evaluate(() => ({
    items: document.getElementById("items").textContent,
    proposal: document.getElementById("proposal").textContent,
    driver: document.getElementById("driver").textContent,
    images: document.querySelectorAll("img").length,
    scripts: [...document.querySelectorAll("script")].map((s) => s.getAttribute("src")),
  }));
  check(shown.items.includes(IMG), `the item name is not shown as text: ${shown.items}`);
  check(shown.proposal.includes(SCRIPT), `the proposal is not shown as text: ${shown.proposal}`);
  check(shown.driver.includes(SCRIPT) && shown.driver.includes(IMG), `the driver is not shown as text: ${shown.driver}`);
  check(shown.images === 0, "markup became an <img>");
  check(shown.scripts.length === 1 && shown.scripts[0] === "/t/app.js", `unexpected scripts: ${shown.scripts}`);
  check((await pwned(delivery)) === undefined, "a script ran on the customer's page");

  // The carrier's javascript: link was dropped: the code is plain text.
  const parcel = await open(phone, `${BASE}/t/${PARCEL_PUBLIC_ID}`);
  await parcel.waitForSelector("#package-list .package");
  const links = await parcel.$$eval("#package-list a", (as) => as.map((a) => a.getAttribute("href")));
  check(links.length === 0, `the package has a link: ${links}`);
  const code = await parcel.textContent("#package-list .package");
  check(code.includes("1Z999AA10123456784"), `the code is not shown: ${code}`);

  // Even if the API handed the page such a link, the page would not set it.
  for (const hostile of ["javascript:window.__pwned='href'", "data:text/html,<script>alert(1)</script>", "java\tscript:window.__pwned='tab'"]) {
    const page = await phone.newPage();
    page.on("dialog", (dialog) => { dialogs.push(dialog.message()); dialog.dismiss(); });
    await page.route(`**/track/${PARCEL_PUBLIC_ID}`, async (route) => {
      const response = await route.fetch();
      const view = await response.json();
      view.shipments[0].tracking_url = hostile;
      await route.fulfill({ response, json: view });
    });
    await page.goto(`${BASE}/t/${PARCEL_PUBLIC_ID}`);
    await page.waitForSelector("#package-list .package");
    const set = await page.$$eval("#package-list a", (as) => as.map((a) => a.getAttribute("href")));
    check(set.length === 0, `the page set a ${JSON.stringify(hostile)} link: ${set}`);
    await page.click("#package-list .package");
    check((await pwned(page)) === undefined, "a script ran from a tracking link");
    await page.close();
  }

  // The Content-Security-Policy holds on its own: an inline script and a
  // javascript: link slipped into the page do not run.
  await parcel.evaluate(() => {
    const script = document.createElement("script");
    script.textContent = "window.__pwned = 'inline'";
    document.body.append(script);
    const link = document.createElement("a");
    link.id = "slipped";
    link.href = "javascript:window.__pwned='clicked'";
    link.textContent = "click";
    document.body.prepend(link);
  });
  await parcel.click("#slipped");
  check((await pwned(parcel)) === undefined, "the policy let an inline script run");

  // The board shows the carrier's markup as text, and keeps no token
  // anywhere another page of this origin could read it.
  const desk = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const board = await open(desk, `${BASE}/board#token=${TOKEN}`);
  await board.waitForSelector(`.card[data-order-id="${PARCEL_ID}"]`);
  const left = await board.evaluate(() => ({
    hash: location.hash,
    local: JSON.stringify(localStorage),
    session: JSON.stringify(sessionStorage),
  }));
  check(left.hash === "", `the token stayed in the address bar: ${left.hash}`);
  check(!left.local.includes(TOKEN) && !left.session.includes(TOKEN), "the token was stored");
  await board.click(`.card[data-order-id="${PARCEL_ID}"]`);
  await board.waitForSelector('#detail h2[data-detail-status="in_transit"]');
  const detail = await board.textContent("#detail");
  check(detail.includes(IMG) && detail.includes(SCRIPT), `the flag is not shown as text: ${detail}`);
  check((await board.$$("#detail img")).length === 0, "markup became an <img> on the board");
  check((await pwned(board)) === undefined, "a script ran on the board");
  await board.reload();
  check((await board.inputValue("#token")) === "", "the token survived a reload");

  check(dialogs.length === 0, `dialogs opened: ${dialogs}`);
  console.log("e2e ok: hostile text shown as text, hostile links never followed, no token left behind");
});
