// The one way the e2e scripts start a browser: headless Chromium (Debian's
// package, or $CHROMIUM) driven by playwright-core, with the switches that
// keep it from reaching the network on its own or needing a sandbox the test
// machine may not allow.
const { chromium } = require("playwright-core");

function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

// Runs `test(browser)` and always closes the browser; any failure is printed
// and ends the process with status 1, which is what tests/browser.rs checks.
function run(test) {
  (async () => {
    const browser = await launch();
    try {
      await test(browser);
    } finally {
      await browser.close();
    }
  })().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}

module.exports = { launch, run };
