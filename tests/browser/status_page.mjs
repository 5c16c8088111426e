// The status page in a real browser: Debian's chromium driven by playwright-core (never a
// downloaded browser), at a phone's and a desktop's size, light and dark, with axe-core.
// Usage: node status_page.mjs EXPECTED.json OUT_DIR
// EXPECTED.json: {base, contract: "ns/name", weather, openIncidents, budgets: [{name, actual, amount}],
//                 catalog: [codes], prices: [price text per code], portalRequest, orderRequest}
// Exits non-zero with a message on the first failed expectation.
import { createRequire } from 'node:module';
import { readFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';

const require = createRequire(import.meta.url);
const modules = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../.ci/browser/node_modules');
const { chromium } = require(path.join(modules, 'playwright-core'));
const axeSource = readFileSync(path.join(modules, 'axe-core/axe.min.js'), 'utf8');

const [expectedFile, outDir] = process.argv.slice(2);
const expected = JSON.parse(readFileSync(expectedFile, 'utf8'));
mkdirSync(outDir, { recursive: true });

function check(ok, what) {
  if (!ok) {
    throw new Error(`expectation failed: ${what}`);
  }
}

async function accessible(page, label) {
  // Through the DevTools protocol, not a <script> tag: the page's CSP (rightly) refuses scripts.
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => await window.axe.run(document));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  check(bad.length === 0, `${label}: axe violations ${JSON.stringify(bad.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map((n) => n.html) })))}`);
  return result.violations.length;
}

async function overview(page, size, scheme) {
  const label = `overview ${size.width}x${size.height} ${scheme}`;
  await page.goto(`${expected.base}/`);
  check(await page.getByRole('heading', { level: 1, name: 'Cloud contracts' }).isVisible(), `${label}: title`);
  const card = page.locator(`article[data-contract="${expected.contract}"]`);
  check(await card.isVisible(), `${label}: the contract's card`);
  const weather = card.locator('.summary .weather');
  check((await weather.innerText()).includes(expected.weather), `${label}: weather ${expected.weather}`);
  check((await card.locator('[data-incidents]').innerText()) === String(expected.openIncidents), `${label}: open incidents`);
  for (const b of expected.budgets) {
    const budget = card.locator(`[data-budget="${b.name}"]`);
    const text = await budget.locator('p').first().innerText();
    check(text.includes(`Spent ${b.actual} of ${b.amount} EUR`), `${label}: budget ${b.name} reads "${text}"`);
    const bar = await budget.locator('.bar').boundingBox();
    check(bar && bar.width > 100 && bar.height >= 16, `${label}: the budget bar is drawn (${JSON.stringify(bar)})`);
    const spent = await budget.locator('.bar .s').boundingBox();
    check(spent && spent.width > 0, `${label}: spend fills the bar`);
    check(await budget.locator('.bar .t').count() === b.thresholds, `${label}: threshold marks`);
  }
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 0, `${label}: no sideways scrolling (${overflow}px too wide)`);
  await page.screenshot({ path: path.join(outDir, `overview-${size.width}-${scheme}.png`), fullPage: true });
  return accessible(page, label);
}

async function contract(page, size, scheme) {
  const label = `contract ${size.width}x${size.height} ${scheme}`;
  await page.goto(`${expected.base}/contracts/${expected.contract}`);
  const portalRow = page.locator(`tr[data-request="${expected.portalRequest}"]`);
  await portalRow.scrollIntoViewIfNeeded();
  check(await portalRow.isVisible(), `${label}: the portal-made request is listed`);
  check((await portalRow.innerText()).includes('made in the portal'), `${label}: and says it was made in the portal`);
  const orderRow = page.locator(`tr[data-request="${expected.orderRequest}"]`);
  check((await orderRow.innerText()).includes('ServiceOrder'), `${label}: the order's request names its ServiceOrder`);
  const codes = await page.locator('details.item summary code').allInnerTexts();
  check(JSON.stringify(codes) === JSON.stringify(expected.catalog), `${label}: catalog ${codes} = portal ${expected.catalog}`);
  const prices = await page.locator('details.item summary .price').allInnerTexts();
  check(JSON.stringify(prices) === JSON.stringify(expected.prices), `${label}: prices ${prices} = portal ${expected.prices}`);
  const first = page.locator('details.item').first();
  await first.locator('summary').click();
  const manifest = first.locator('pre');
  check(await manifest.isVisible(), `${label}: the manifest opens`);
  check((await manifest.innerText()).includes('kind: ServiceOrder'), `${label}: a ServiceOrder manifest`);
  check(await page.getByRole('link', { name: 'Open the console' }).isVisible(), `${label}: the console link`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 0, `${label}: no sideways scrolling (${overflow}px too wide)`);
  await page.screenshot({ path: path.join(outDir, `contract-${size.width}-${scheme}.png`), fullPage: true });
  return accessible(page, label);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
try {
  const report = [];
  for (const size of [{ width: 390, height: 844 }, { width: 1280, height: 800 }]) {
    for (const scheme of ['light', 'dark']) {
      const context = await browser.newContext({
        viewport: size,
        colorScheme: scheme,
        locale: 'en-US',
        isMobile: size.width < 500,
        hasTouch: size.width < 500,
        javaScriptEnabled: true,
      });
      const page = await context.newPage();
      const minor = (await overview(page, size, scheme)) + (await contract(page, size, scheme));
      report.push(`${size.width}x${size.height} ${scheme}: ok (${minor} minor axe findings)`);
      await context.close();
    }
  }
  // The page needs no script: the overview reads the same without JavaScript.
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(`${expected.base}/`);
  check(await page.locator(`article[data-contract="${expected.contract}"]`).isVisible(), 'without JavaScript: the card');
  await context.close();
  console.log(report.join('\n'));
} finally {
  await browser.close();
}
