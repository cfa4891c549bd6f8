// End to end in headless Chromium: staff move an order from the board and
// the customer's page updates without a reload, over the WebSocket — and,
// on a second phone whose WebSocket cannot open, over SSE instead. Run by
// tests/browser.rs with BASE, TOKEN, ORDER_ID, PUBLIC_ID, CANCEL_PUBLIC_ID,
// MY_ORDERS (a signed "my orders" link) and SCREENSHOTS set. The customer
// also opens their "my orders" link.
const { run } = require("./launch.cjs");

const { BASE, TOKEN, ORDER_ID, PUBLIC_ID, CANCEL_PUBLIC_ID, MY_ORDERS, SCREENSHOTS } = process.env;

run(async (browser) => {
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const customer = await phone.newPage();
  const pushed = [];
  customer.on("websocket", (socket) => {
    socket.on("framereceived", (frame) => pushed.push(String(frame.payload)));
  });
  await customer.goto(`${BASE}/t/${PUBLIC_ID}`);
  await customer.waitForSelector('#status[data-status="pending"]');
  await customer.waitForSelector("#live.live:not(.off)");
  await customer.waitForSelector('body[data-transport="websocket"]');

  // A phone behind something that will not carry a WebSocket.
  const oldPhone = await browser.newContext({ viewport: { width: 390, height: 844 } });
  await oldPhone.addInitScript(() => {
    window.WebSocket = class {
      constructor() { setTimeout(() => this.onclose && this.onclose({ code: 1006 }), 10); }
      send() {}
      close() {}
    };
  });
  const fallback = await oldPhone.newPage();
  await fallback.goto(`${BASE}/t/${PUBLIC_ID}`);
  await fallback.waitForSelector('body[data-transport="sse"]');
  await fallback.waitForSelector("#live.live:not(.off)");
  let reloads = 0;
  customer.on("load", () => { reloads += 1; });

  const desk = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const board = await desk.newPage();
  await board.goto(`${BASE}/board#token=${TOKEN}`);
  await board.waitForSelector(`.card[data-order-id="${ORDER_ID}"][data-status="pending"]`);
  await board.waitForSelector('body[data-transport="websocket"]');
  await board.click(`.card[data-order-id="${ORDER_ID}"]`);
  await board.click('#detail button[data-action="accepted"]');

  // The board's own live channel moves the card; the customer's stream
  // moves their page.
  await board.waitForSelector(`.card[data-order-id="${ORDER_ID}"][data-status="accepted"]`);
  await customer.waitForSelector('#status[data-status="accepted"]', { timeout: 10000 });
  await fallback.waitForSelector('#status[data-status="accepted"]', { timeout: 10000 });
  if (!pushed.some((m) => JSON.parse(m).data.status === "accepted")) {
    throw new Error(`the move did not come over the WebSocket: ${pushed.join(" ")}`);
  }
  await board.click('#detail button[data-action="in_progress"]').catch(async () => {
    await board.click(`.card[data-order-id="${ORDER_ID}"]`);
    await board.click('#detail button[data-action="in_progress"]');
  });
  await customer.waitForSelector('#status[data-status="in_progress"]', { timeout: 10000 });
  const steps = await customer.$$eval("#timeline li", (items) => items.length);
  if (steps !== 3) throw new Error(`the customer's timeline has ${steps} steps, expected 3`);
  if (reloads !== 0) throw new Error("the customer page reloaded");

  // The customer turns updates off on the page; the store's choices grey out.
  await customer.waitForSelector("#updates:not([hidden]) #updates-on:checked");
  await customer.click("#updates-on");
  await customer.waitForSelector("#updates-on:not(:checked)");
  await customer.waitForSelector('#updates-choices input[data-channel="email"]:disabled');

  // Another customer changes their mind while they still may.
  const changed = await phone.newPage();
  changed.on("dialog", (dialog) => dialog.accept());
  await changed.goto(`${BASE}/t/${CANCEL_PUBLIC_ID}`);
  await changed.click("#cancel:not([hidden]) #cancel-order");
  await changed.waitForSelector('#status[data-status="cancelled"]');
  await changed.waitForSelector("#cancel[hidden]", { state: "attached" });

  // The "my orders" link from a message lists both of the customer's
  // orders and opens either's tracking page.
  const mine = await phone.newPage();
  await mine.goto(`${BASE}/my/${MY_ORDERS}`);
  await mine.waitForSelector('body[data-state="listed"]');
  await mine.waitForSelector(`li[data-public-id="${CANCEL_PUBLIC_ID}"][data-status="cancelled"]`);
  await mine.click(`li[data-public-id="${PUBLIC_ID}"] a`);
  await mine.waitForSelector('#status[data-status="in_progress"]');

  await board.screenshot({ path: `${SCREENSHOTS}/board.png` });
  await customer.screenshot({ path: `${SCREENSHOTS}/tracking.png`, fullPage: true });
  console.log("e2e ok: board moved the order; the customer page followed over the WebSocket, and over SSE without one");
});
