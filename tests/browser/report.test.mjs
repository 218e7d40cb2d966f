// Opens perfhub's report.html from disk in headless Chromium and checks what
// a reader would see: no console errors, no network, every chart drawn, the
// flame graph's search and zoom working, and a page that fits a phone.
//
//     node report.test.mjs path/to/report.html
//
// Settings (environment):
//   CHROMIUM               the browser (default /usr/bin/chromium)
//   PERFHUB_HTML_OUT       the report when no argument is given
//   PERFHUB_SCREENSHOT     the full-page screenshot (default target/report-screenshot.png);
//                          the 375 px one goes beside it with a -375 suffix
//   PERFHUB_FLAME_FRAME    a frame name the flame graph contains (default hot_three_shares)
//
// Exits 0 when every check passes, 1 otherwise (each failure is printed).
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const input = process.argv[2] || process.env.PERFHUB_HTML_OUT;
if (!input) {
  console.error('usage: node report.test.mjs REPORT.html (or set PERFHUB_HTML_OUT)');
  process.exit(2);
}
const file = path.resolve(input);
if (!fs.existsSync(file)) {
  console.error(`no such file: ${file}`);
  process.exit(2);
}
const url = pathToFileURL(file).href;
const shot = path.resolve(process.env.PERFHUB_SCREENSHOT || 'target/report-screenshot.png');
const phoneShot = shot.replace(/(\.png)?$/, '-375.png');
const printShot = shot.replace(/(\.png)?$/, '-print.png');
const knownFrame = process.env.PERFHUB_FLAME_FRAME || 'hot_three_shares';

const failures = [];
const passed = [];
function check(ok, what, detail = '') {
  (ok ? passed : failures).push(detail ? `${what}: ${detail}` : what);
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}${detail ? ` (${detail})` : ''}`);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-quic',
    '--no-first-run',
    '--disable-component-update',
    '--disable-sync',
    '--disable-dev-shm-usage',
  ],
});

try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });

  // Any request that is not the file itself or inline data fails the test.
  const offline = [];
  const local = (u) => u.startsWith('file:') || u.startsWith('data:') || u.startsWith('about:');
  await context.route('**/*', (route) => {
    const u = route.request().url();
    if (local(u)) return route.continue();
    offline.push(u);
    return route.abort('blockedbyclient');
  });
  context.on('request', (req) => {
    if (!local(req.url())) offline.push(req.url());
  });
  context.on('websocket', (ws) => offline.push(ws.url()));

  // Errors in any frame (the flame graphs run in their own documents).
  await context.addInitScript(() => {
    window.__perfhubErrors = [];
    window.addEventListener('error', (e) => window.__perfhubErrors.push(String(e.message || e)));
    window.addEventListener('unhandledrejection', (e) => window.__perfhubErrors.push(String(e.reason)));
  });

  const page = await context.newPage();
  const consoleErrors = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') consoleErrors.push(`${msg.text()} @ ${msg.location().url || '?'}`);
  });
  page.on('pageerror', (err) => consoleErrors.push(`page error: ${err.message}`));
  // The flame graph's Search button asks for the term with prompt().
  page.on('dialog', (d) => (d.type() === 'prompt' ? d.accept(knownFrame) : d.dismiss()));

  await page.goto(url, { waitUntil: 'load' });

  // Every chart: drawn with a size and at least one visible data mark.
  async function chartsReport() {
    return page.evaluate(() => {
      const expected = Number(document.body.dataset.chartsExpected);
      const charts = [...document.querySelectorAll('[data-chart]')].map((el) => {
        const box = el.getBoundingClientRect();
        const marks = [...el.querySelectorAll('.mark')];
        const drawn = marks.filter((m) => {
          const b = m.getBBox();
          const r = m.getBoundingClientRect();
          return (b.width > 0 || b.height > 0) && (r.width > 0 || r.height > 0)
            && getComputedStyle(m).display !== 'none' && getComputedStyle(m).visibility !== 'hidden';
        }).length;
        return {
          kind: el.dataset.chart, tag: el.tagName.toLowerCase(),
          width: box.width, height: box.height, marks: marks.length, drawn,
        };
      });
      return { expected, charts, overflow: document.documentElement.scrollWidth - window.innerWidth };
    });
  }

  const desktop = await chartsReport();
  check(Number.isInteger(desktop.expected) && desktop.expected > 0, 'page declares data-charts-expected',
    String(desktop.expected));
  check(desktop.charts.length === desktop.expected, 'chart count equals data-charts-expected',
    `${desktop.charts.length} of ${desktop.expected}`);
  const kinds = {};
  for (const c of desktop.charts) kinds[c.kind] = (kinds[c.kind] || 0) + 1;
  console.log(`     chart kinds: ${JSON.stringify(kinds)}`);
  const broken = desktop.charts.filter((c) => c.tag !== 'svg' || !(c.width > 0 && c.height > 0) || c.drawn < 1);
  check(broken.length === 0, 'every chart rendered with a size and at least one data mark',
    broken.length ? JSON.stringify(broken) : `${desktop.charts.length} charts`);

  // The flame graphs: each its own document; search and zoom must work.
  const flameFrames = [];
  for (const el of await page.$$('iframe.flamegraph')) {
    const f = await el.contentFrame();
    if (f && await f.evaluate(() => !!document.querySelector('svg #frames')).catch(() => false)) flameFrames.push(f);
  }
  const flameCount = await page.locator('iframe.flamegraph').count();
  check(flameFrames.length === flameCount && flameCount > 0, 'flame graphs loaded in their frames',
    `${flameFrames.length} of ${flameCount}`);
  if (flameFrames.length > 0) {
    const fg = flameFrames[0];
    await fg.waitForFunction(() => typeof search === 'function' && window.searchbtn && window.matchedtxt,
      null, { timeout: 10000 });
    const byCall = await fg.evaluate((term) => {
      const rects = () => [...document.querySelectorAll('#frames > g')].map((g) => ({
        name: (g.querySelector('title') || {}).textContent || '',
        fill: g.querySelector('rect').getAttribute('fill'),
      }));
      const before = rects().filter((r) => r.fill === searchcolor).length;
      search(term);
      const after = rects();
      const lit = after.filter((r) => r.fill === searchcolor);
      const wrong = lit.filter((r) => !new RegExp(term).test(r.name)).length;
      const missed = after.filter((r) => new RegExp(term).test(r.name) && r.fill !== searchcolor).length;
      return { before, lit: lit.length, wrong, missed, matched: matchedtxt.textContent, total: after.length };
    }, knownFrame);
    check(byCall.before === 0 && byCall.lit > 0 && byCall.wrong === 0 && byCall.missed === 0,
      `flame graph search("${knownFrame}") highlights exactly the matching frames`,
      `${byCall.lit} of ${byCall.total} frames lit, ${byCall.matched.trim()}`);

    // The same through the UI: the button now reads Reset Search and
    // clears the highlight; pressed again, it asks for the term (a prompt).
    await fg.locator('#search').click();
    const cleared = await fg.evaluate(() => [...document.querySelectorAll('#frames rect')]
      .filter((r) => r.getAttribute('fill') === searchcolor).length);
    await fg.locator('#search').click();
    await fg.waitForFunction(() => [...document.querySelectorAll('#frames rect')]
      .some((r) => r.getAttribute('fill') === searchcolor), null, { timeout: 5000 }).catch(() => {});
    const byUi = await fg.evaluate(() => [...document.querySelectorAll('#frames rect')]
      .filter((r) => r.getAttribute('fill') === searchcolor).length);
    check(cleared === 0 && byUi === byCall.lit, 'the Search button highlights the same frames',
      `${byUi} lit after reset to ${cleared}`);

    // Zoom: clicking the known frame widens it to the whole graph.
    const target = fg.locator('#frames > g', { hasText: knownFrame }).first();
    const before = await target.evaluate((g) => g.querySelector('rect').getBBox().width);
    await target.click();
    const zoom = await fg.evaluate((term) => {
      const g = [...document.querySelectorAll('#frames > g')]
        .find((x) => new RegExp(term).test(x.querySelector('title').textContent));
      return {
        width: g.querySelector('rect').getBBox().width,
        full: document.querySelector('#frames').getBBox().width,
        unzoom: !document.getElementById('unzoom').classList.contains('hide'),
      };
    }, knownFrame);
    check(zoom.unzoom && zoom.width > before && zoom.width >= zoom.full * 0.95,
      'clicking a frame zooms into it', `width ${before.toFixed(0)} -> ${zoom.width.toFixed(0)} of ${zoom.full.toFixed(0)}`);
  }

  // Errors recorded inside any frame, after the interactions above.
  for (const f of page.frames()) {
    const errs = await f.evaluate(() => window.__perfhubErrors || []).catch(() => []);
    for (const e of errs) consoleErrors.push(`${e} @ frame ${f.url().slice(0, 40)}`);
  }

  fs.mkdirSync(path.dirname(shot), { recursive: true });
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: shot, fullPage: true });
  console.log(`     screenshot: ${shot}`);

  // A phone: 375 px wide, nothing wider than the screen, charts still drawn.
  await page.setViewportSize({ width: 375, height: 812 });
  await page.waitForTimeout(200);
  const phone = await chartsReport();
  check(phone.overflow <= 1, 'at 375 px the page does not scroll sideways', `${phone.overflow} px too wide`);
  const phoneBroken = phone.charts.filter((c) => !(c.width > 0 && c.height > 0) || c.drawn < 1);
  check(phoneBroken.length === 0 && phone.charts.every((c) => c.width <= 375),
    'at 375 px every chart fits and is drawn', JSON.stringify(phoneBroken));
  await page.screenshot({ path: phoneShot, fullPage: true });
  console.log(`     screenshot: ${phoneShot}`);

  // Print: no interactive chrome, charts still drawn.
  await page.setViewportSize({ width: 1000, height: 1400 });
  await page.emulateMedia({ media: 'print' });
  const print = await chartsReport();
  const tocShown = await page.evaluate(() => {
    const toc = document.querySelector('.toc');
    return toc ? getComputedStyle(toc).display !== 'none' : false;
  });
  check(!tocShown && print.charts.every((c) => c.width > 0 && c.drawn > 0),
    'in print the navigation is hidden and every chart is drawn');
  await page.screenshot({ path: printShot, fullPage: true });
  await page.emulateMedia({ media: 'screen' });

  check(consoleErrors.length === 0, 'no console errors or page errors', consoleErrors.join(' | '));
  check(offline.length === 0, 'no network requests (only file:, data: and about:)', [...new Set(offline)].join(', '));
} catch (e) {
  check(false, 'the test ran to the end', e.stack || String(e));
} finally {
  await browser.close();
}

console.log(`\n${passed.length} passed, ${failures.length} failed`);
process.exit(failures.length ? 1 : 0);
