// The operations live city under load: N couriers on shift all move every second (N position
// NOTIFYs per second reach the page over /api/live/ops) while Chromium draws the map. Prints
// frame rate, frame-gap p99 and long tasks against the same page with nobody moving, and the
// delay from a courier's position update to its marker moving on screen. Not a test: it
// asserts nothing.
//
//   SONGDA_E2E_URL=http://127.0.0.1:8796 SONGDA_E2E_DATABASE_URL=postgres://…/songda_e2e \
//     node bench/ops-city.mjs [COURIERS=300] [SECONDS=20]
// Adds N "Bench" couriers to that database (left off shift afterwards).
import { chromium } from '@playwright/test';
import { execFileSync } from 'node:child_process';

const base = process.env.SONGDA_E2E_URL ?? 'http://127.0.0.1:8710';
const db = process.env.SONGDA_E2E_DATABASE_URL;
if (!db) throw new Error('set SONGDA_E2E_DATABASE_URL');
const N = Number(process.argv[2] ?? 300);
const SECS = Number(process.argv[3] ?? 20);
const sql = (s) => execFileSync('psql', [db, '-v', 'ON_ERROR_STOP=1', '-At', '-c', s]).toString().trim();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const BENCH = `user_id in (select id from users where email like 'bench-courier-%@songda.test')`;

sql(`insert into users (id, email, display_name, password_hash, role)
     select gen_random_uuid(), 'bench-courier-' || i || '@songda.test', 'Bench ' || i, '!', 'courier'
     from generate_series(1, ${N}) i on conflict (email) do nothing`);
sql(`insert into couriers (user_id, vehicle, capacity, speed_kmh, home_lat, home_lng)
     select id, 'ebike', 3, 20, 31.23, 121.47 from users where email like 'bench-courier-%@songda.test'
     on conflict (user_id) do nothing`);
sql(`update couriers set status = 'online', lat = 31.20 + random() * 0.06, lng = 121.44 + random() * 0.07,
            position_at = now(), shift_end = now() + interval '1 hour', online_since = now() where ${BENCH}`);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
try {
  const page = await (await browser.newContext({ baseURL: base, viewport: { width: 1280, height: 800 } })).newPage();
  await page.goto('/login');
  await page.waitForSelector('html[data-hydrated="true"]');
  await page.click('[data-test="demo-login-ops"]');
  await page.waitForSelector('[data-test="ops-home"]');
  await page.waitForSelector('html[data-hydrated="true"]');
  await page.waitForSelector('[data-test="ops-live"][data-live="true"]', { timeout: 60_000 });
  await page.waitForFunction((n) => document.querySelectorAll('img.leaflet-marker-icon[src$="pin-online.svg"]').length >= n, N, { timeout: 60_000 });
  await page.evaluate(() => {
    const w = window;
    w.__frames = [];
    w.__long = [];
    w.__moves = [];
    const tick = (t) => { w.__frames.push(t); requestAnimationFrame(tick); };
    requestAnimationFrame(tick);
    new PerformanceObserver((l) => { for (const e of l.getEntries()) w.__long.push(e.duration); }).observe({ type: 'longtask', buffered: false });
    const probe = [...document.querySelectorAll('img.leaflet-marker-icon')].find((i) => (i.title || '').startsWith('Bench 1 ·'));
    new MutationObserver(() => w.__moves.push(Date.now())).observe(probe, { attributes: true, attributeFilter: ['style'] });
  });

  async function phase(moving) {
    await page.evaluate(() => { window.__frames = []; window.__long = []; window.__moves = []; });
    const sent = [];
    const end = Date.now() + SECS * 1000;
    while (Date.now() < end) {
      const next = Date.now() + 1000;
      if (moving) {
        sent.push(Date.now());
        sql(`update couriers set lat = lat + (random() - 0.5) * 0.0008, lng = lng + (random() - 0.5) * 0.0008 where ${BENCH}`);
      }
      await sleep(Math.max(0, next - Date.now()));
    }
    const { frames, long, moves } = await page.evaluate(() => ({ frames: window.__frames, long: window.__long, moves: window.__moves }));
    const gaps = frames.slice(1).map((t, i) => t - frames[i]).sort((a, b) => a - b);
    const pct = (a, p) => (a.length ? a[Math.min(a.length - 1, Math.round((a.length - 1) * p))] : NaN);
    const lags = sent.map((t) => moves.find((m) => m >= t)).map((m, i) => (m === undefined ? NaN : m - sent[i])).filter(Number.isFinite).sort((a, b) => a - b);
    return {
      fps: frames.length / SECS,
      p99gap: pct(gaps, 0.99),
      longN: long.length,
      longMs: long.reduce((a, b) => a + b, 0),
      lagP50: pct(lags, 0.5),
      lagP99: pct(lags, 0.99),
      lagN: lags.length,
      sent: sent.length,
    };
  }

  // Baseline for the delay: starting psql and running a statement that notifies nobody.
  const bare = [];
  for (let i = 0; i < 10; i++) {
    const t = Date.now();
    sql('select 1');
    bare.push(Date.now() - t);
  }
  bare.sort((a, b) => a - b);
  const idle = await phase(false);
  const busy = await phase(true);
  const f = (x) => (Number.isFinite(x) ? x.toFixed(1) : '–');
  console.log(`ops live city: ${N} couriers on the map, ${SECS} s per phase (1280×800, headless Chromium)`);
  console.log(`idle                      ${f(idle.fps)} frames/s  frame gap p99 ${f(idle.p99gap)} ms  long tasks ${idle.longN} (${f(idle.longMs)} ms)`);
  console.log(`all moving (${N} moves/s)  ${f(busy.fps)} frames/s  frame gap p99 ${f(busy.p99gap)} ms  long tasks ${busy.longN} (${f(busy.longMs)} ms)`);
  console.log(`moving / idle             frames/s ${f(busy.fps / idle.fps)}×  frame gap p99 ${f(busy.p99gap / idle.p99gap)}×`);
  console.log(`update → marker moved     p50 ${f(busy.lagP50)} ms  p99 ${f(busy.lagP99)} ms  (${busy.lagN} of ${busy.sent} updates seen)`);
  console.log(`psql + select 1 baseline  p50 ${f(bare[5])} ms  → update → marker p50 = ${f(busy.lagP50 / bare[5])}× the bare statement`);
} finally {
  sql(`update couriers set status = 'offline' where ${BENCH}`);
  await browser.close();
}
