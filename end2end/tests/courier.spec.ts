import { test, expect, Browser, Page } from '@playwright/test';
import { customerPaysPharmacyOrder, hydrated, merchantAtPharmacy, sql, watchErrors } from './helpers';

/** Next to the 24-hour pharmacy in Lujiazui. */
const NEAR_STORE = { latitude: 31.2375, longitude: 121.5025 };

/** A 64×48 PNG (a grey door), as a phone camera would hand over a file. */
const DOOR_PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAEAAAAAwCAIAAAAuKetIAAAATklEQVR4nO3PMQ0AMAzAsMIe/ILYYVWKESTzjhsd8KsBrQGtAa0BrQGtAa0BrQGtAa0BrQGtAa0BrQGtAa0BrQGtAa0BrQGtAa0BrQFtAQk54PHX0bR0AAAAAElFTkSuQmCC',
  'base64',
);

/** A server fn call from a logged-in page (store-side setup the merchant spec covers by UI). */
async function call(page: Page, fn: string, form: Record<string, string>) {
  const res = await page.request.post(`/api/${fn}`, { form });
  expect(res.status(), `${fn}: ${await res.text()}`).toBe(200);
}

/** Logs the courier in, starts the shift and accepts offers until the order's stop shows. */
async function takeOrder(courier: Page, number: string) {
  await courier.goto('/login');
  await hydrated(courier);
  await courier.getByTestId('demo-login-courier').click();
  await expect(courier.getByTestId('courier-home')).toBeVisible();
  await hydrated(courier);
  await courier.getByTestId('go-online').click();
  await expect(courier.getByTestId('go-offline')).toBeVisible();
  const ours = courier.getByTestId('stop').filter({ hasText: number });
  await expect(async () => {
    const offer = courier.getByTestId('offer').first();
    if (await offer.isVisible()) {
      await expect(offer.getByTestId('offer-countdown')).toContainText('s left');
      await offer.getByTestId('accept-offer').click();
    }
    await expect(ours.first()).toBeVisible({ timeout: 1000 });
  }).toPass({ timeout: 60_000 });
  return ours;
}

/** The store (the demo merchant helps at the pharmacy) accepts, picks and packs the order;
 *  returns the store's page and the label's hand-over code. */
async function storePacks(browser: Browser, orderId: string) {
  merchantAtPharmacy();
  const store = await (await browser.newContext()).newPage();
  await store.goto('/login');
  await hydrated(store);
  await store.getByTestId('demo-login-merchant').click();
  await store.waitForURL((u) => !u.pathname.startsWith('/login'));
  await call(store, 'accept_order', { order_id: orderId, prep_min: '5' });
  for (const product of sql(`select product_id from order_items where order_id = '${orderId}'`).split('\n')) {
    await call(store, 'tick_pick_line', { order_id: orderId, product_id: product, picked: 'true' });
  }
  await call(store, 'mark_order_ready', { order_id: orderId });
  return { store, code: sql(`select handover_code from orders where id = '${orderId}'`) };
}

test('dispatch offers a paid order to the courier, who accepts, picks it up with the label code and delivers with the PIN', async ({ page, browser }) => {
  test.setTimeout(150_000);
  const customerErrors = watchErrors(page);
  // The customer orders at the pharmacy and pays in the sandbox.
  const { number, orderId } = await customerPaysPharmacyOrder(page, 'courier-e2e');
  const pin = (await page.getByTestId('delivery-pin').textContent())!.trim();
  expect(pin).toMatch(/^\d{4}$/);

  // The courier's phone: location allowed, standing next to the store.
  const phone = await browser.newContext({
    geolocation: NEAR_STORE,
    permissions: ['geolocation', 'camera'],
    viewport: { width: 360, height: 740 },
  });
  // Chromium on Linux has no BarcodeDetector: this one "sees" whatever label the test holds
  // up (window.__label) in the fake camera's frames.
  await phone.addInitScript(() => {
    (window as any).BarcodeDetector = class {
      async detect() {
        const label = (window as any).__label;
        return label ? [{ rawValue: label, format: 'qr_code' }] : [];
      }
    };
  });
  const courier = await phone.newPage();
  // Requests fail while the phone is offline: that is the point of the offline step.
  const courierErrors = watchErrors(courier, /422|ERR_INTERNET_DISCONNECTED|Failed to fetch|net::ERR/);
  // Dispatch offers it (with a countdown); the courier accepts every offer until it is theirs.
  const ours = await takeOrder(courier, number);
  await expect(ours.and(courier.locator('[data-kind="pickup"]'))).toHaveCount(1);
  // The route on a map: the store and the door, in plan order.
  await expect(courier.getByTestId('route-map')).toBeVisible();
  await expect(courier.locator('[data-test="route-map"] img.leaflet-marker-icon[src$="pin-store.svg"]').first()).toBeVisible();
  expect(await courier.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);

  // The store (the demo merchant helps at the pharmacy) accepts, picks and packs.
  const { store, code } = await storePacks(browser, orderId);
  // The store sees the courier coming, on its map and with the time they are due.
  const storeId = sql(`select store_id from orders where id = '${orderId}'`);
  await store.goto(`/merchant/stores/${storeId}/orders`);
  await hydrated(store);
  await expect(store.getByTestId('coming-courier').first()).toContainText('Wang Lei', { timeout: 15_000 });
  await expect(store.locator('[data-test="store-couriers"] img.leaflet-marker-icon[src$="pin-courier.svg"]').first()).toBeVisible();

  // At the counter: a wrong code is refused, the label's code takes it.
  const pickupStop = ours.and(courier.locator('[data-kind="pickup"]'));
  await expect(pickupStop.getByTestId('handover-code')).toBeVisible({ timeout: 15_000 });
  await pickupStop.getByTestId('handover-code').fill(code === '000000' ? '111111' : '000000');
  await pickupStop.getByTestId('picked-up').click();
  await expect(courier.getByTestId('outbox-refused')).toContainText('does not match');
  // The camera reads another order's label: refused on the phone. Then ours: picked up.
  await courier.evaluate(() => { (window as any).__label = 'songda:handover:00000000-0000-7000-8000-000000000000:123456'; });
  await pickupStop.getByTestId('scan-label').click();
  await expect(pickupStop.getByTestId('scan-error')).toContainText('another order', { timeout: 10_000 });
  await courier.evaluate(([id, c]) => { (window as any).__label = `songda:handover:${id}:${c}`; }, [orderId, code]);
  await pickupStop.getByTestId('scan-label').click();
  const dropoff = ours.and(courier.locator('[data-kind="dropoff"]'));
  await expect(dropoff.getByTestId('start-delivering')).toBeVisible({ timeout: 15_000 });
  await expect(dropoff.getByTestId('stop-contact')).toBeVisible();

  // The customer's map now shows the courier (never before the pickup).
  const distance = page.getByTestId('courier-distance');
  await expect(page.getByTestId('tracking-map')).toBeVisible();
  await expect(distance).toContainText('km away', { timeout: 15_000 });
  await expect(page.locator('img.leaflet-marker-icon[src$="pin-courier.svg"]')).toHaveCount(1);
  const first = await distance.textContent();

  // The courier rides: the phone's position moves, reaches the server and the customer's map.
  const before = Number(sql(`select count(*) from courier_positions p join users u on u.id = p.courier_id
                             where u.email = 'courier@songda.test'`));
  await dropoff.getByTestId('start-delivering').click();
  await phone.setGeolocation({ latitude: 31.2330, longitude: 121.5060 });
  await expect.poll(() => Number(sql(`select count(*) from courier_positions p join users u on u.id = p.courier_id
                                      where u.email = 'courier@songda.test'`)), { timeout: 20_000 }).toBeGreaterThan(before);
  await expect(distance).not.toHaveText(first!, { timeout: 15_000 });

  // At the door there is no network: the courier takes the photo and the PIN anyway. The
  // phone keeps both and shows them waiting; the server has seen neither.
  await expect(dropoff.getByTestId('delivery-pin-input')).toBeVisible({ timeout: 15_000 });
  await phone.setOffline(true);
  // A photo at the door, shrunk on the phone and kept there until the network is back.
  await dropoff.getByTestId('photo-file').setInputFiles({ name: 'door.png', mimeType: 'image/png', buffer: DOOR_PNG });
  await expect(dropoff.getByTestId('photo-status')).toContainText('kept on this phone', { timeout: 15_000 });
  await dropoff.getByTestId('delivery-pin-input').fill(pin);
  await dropoff.getByTestId('delivered').click();
  await expect(dropoff.getByTestId('stop-waiting')).toContainText('Delivered');
  await expect(courier.getByTestId('outbox-pending')).toContainText('1 action(s) and 1 photo(s) waiting');
  await expect(courier.getByTestId('outbox-pending')).toContainText('no network', { timeout: 10_000 });
  expect(sql(`select status from orders where id = '${orderId}'`)).toBe('delivering');
  expect(sql(`select count(*) from delivery_photos where order_id = '${orderId}'`)).toBe('0');
  // The network returns: the delivery is sent and applied once, then the photo.
  await phone.setOffline(false);
  await expect(ours).toHaveCount(0, { timeout: 20_000 });
  await expect(courier.getByTestId('outbox-pending')).toHaveCount(0, { timeout: 15_000 });
  expect(sql(`select count(*) from order_events where order_id = '${orderId}' and to_status = 'delivered'`)).toBe('1');
  expect(sql(`select content_type from delivery_photos where order_id = '${orderId}'`)).toBe('image/jpeg');
  await expect(courier.getByTestId('today-delivered')).toHaveText(/^[1-9]\d*$/, { timeout: 10_000 });

  // The customer's page follows live and ends in 已完成.
  await expect(page.getByTestId('order-status')).toHaveAttribute('data-status', 'delivered', { timeout: 15_000 });
  await expect(page.getByTestId('timeline-entry').first()).toHaveAttribute('data-status', 'delivered');
  // The door photo is on the customer's order page.
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId('delivery-photo').locator('img')).toBeVisible();
  expect(await page.getByTestId('delivery-photo').locator('img').evaluate((i: HTMLImageElement) => i.naturalWidth)).toBeGreaterThan(0);
  // Delivered: the courier is gone from the customer's map.
  await expect(page.locator('img.leaflet-marker-icon[src$="pin-courier.svg"]')).toHaveCount(0, { timeout: 15_000 });
  await courier.getByTestId('go-offline').click();
  await expect(courier.getByTestId('go-online')).toBeVisible();
  expect(customerErrors).toEqual([]);
  expect(courierErrors).toEqual([]);
  await phone.close();
});

test('the courier app installs: manifest, icons, service worker, and it opens without network', async ({ browser }) => {
  const phone = await browser.newContext({ viewport: { width: 360, height: 740 } });
  const courier = await phone.newPage();
  await courier.goto('/login');
  await hydrated(courier);
  await courier.getByTestId('demo-login-courier').click();
  await expect(courier.getByTestId('courier-home')).toBeVisible();
  await hydrated(courier);

  // The manifest the page links: its own start page, standalone, PNG icons that load.
  const href = await courier.locator('link[rel="manifest"]').getAttribute('href');
  expect(href).toBe('/courier.webmanifest');
  const manifest = await (await courier.request.get(href!)).json();
  expect(manifest.start_url).toBe('/courier');
  expect(manifest.display).toBe('standalone');
  expect(manifest.name).toBeTruthy();
  for (const size of ['192x192', '512x512']) {
    const icon = manifest.icons.find((i: { sizes: string; type: string }) => i.sizes === size && i.type === 'image/png');
    expect(icon, size).toBeTruthy();
    const res = await courier.request.get(icon.src);
    expect(res.status()).toBe(200);
    expect(res.headers()['content-type']).toContain('image/png');
  }

  // A service worker with a fetch handler controls the app once it is ready.
  const script = await courier.evaluate(async () => (await navigator.serviceWorker.ready).active?.scriptURL);
  expect(script).toMatch(/\/sw\.js$/);
  await courier.reload();
  await hydrated(courier);
  expect(await courier.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true);

  // Without network: the app shell opens from the cache; other pages get the offline page.
  // (Chromium's offline switch does not reach the worker's own requests: abort them too.)
  await phone.route('**/*', (route) => route.abort('internetdisconnected'));
  await phone.setOffline(true);
  await courier.goto('/courier');
  await expect(courier.getByTestId('courier-home')).toBeVisible();
  await courier.goto('/merchant');
  await expect(courier.getByTestId('offline-page')).toBeVisible();
  await phone.unroute('**/*');
  await phone.setOffline(false);
  await phone.close();
});

test('nobody answers the door: the courier tries again, then brings the order back; the store restocks it and the customer is refunded', async ({ page, browser }) => {
  test.setTimeout(150_000);
  const customerErrors = watchErrors(page);
  const { number, orderId } = await customerPaysPharmacyOrder(page, 'door-e2e');
  const phone = await browser.newContext({
    geolocation: NEAR_STORE,
    permissions: ['geolocation'],
    viewport: { width: 360, height: 740 },
  });
  const courier = await phone.newPage();
  const courierErrors = watchErrors(courier, /422/);
  const ours = await takeOrder(courier, number);

  // Packed, picked up and on the way (the first test covers these steps by hand).
  const { store, code } = await storePacks(browser, orderId);
  await call(courier, 'courier_pickup', { order_id: orderId, code });
  await call(courier, 'courier_start_delivering', { order_id: orderId });
  const onHand = () => Number(sql(`select sum(s.on_hand) from stock_levels s join order_items i
                                   on i.product_id = s.product_id where i.order_id = '${orderId}'`));
  const before = onHand();

  // Nobody answers: the courier reports it and will try again; the customer reads why.
  const dropoff = ours.and(courier.locator('[data-kind="dropoff"]'));
  await expect(dropoff.getByTestId('cannot-deliver')).toBeVisible({ timeout: 15_000 });
  await dropoff.getByTestId('cannot-deliver').click();
  await dropoff.getByTestId('fail-reason').selectOption('no_answer');
  await dropoff.getByTestId('fail-retry').click();
  await expect(dropoff.getByTestId('stop-attempts')).toContainText('Attempt 1: No answer', { timeout: 15_000 });
  await expect(page.getByTestId('timeline-entry').first()).toContainText('Attempt 1 failed', { timeout: 15_000 });

  // The customer refuses it at the second try: it can only go back to the store.
  await dropoff.getByTestId('cannot-deliver').click();
  await dropoff.getByTestId('fail-reason').selectOption('refused');
  await expect(dropoff.getByTestId('fail-retry')).toBeDisabled();
  await dropoff.getByTestId('fail-return').click();
  const back = ours.and(courier.locator('[data-kind="return"]'));
  await expect(back.getByTestId('return-note')).toBeVisible({ timeout: 15_000 });
  await expect(page.getByTestId('order-status')).toHaveAttribute('data-status', 'delivery_failed', { timeout: 15_000 });
  // Goods on board: the shift cannot end yet.
  await courier.getByTestId('go-offline').click();
  await expect(courier.getByTestId('courier-error')).toContainText('bring them back');

  // At the store the staff take the goods back, restock them and refund the customer.
  await store.goto(`/merchant/orders/${orderId}`);
  await hydrated(store);
  await expect(store.getByTestId('awaiting-return')).toContainText('Wang Lei');
  await store.getByTestId('receive-return').click();
  await expect(store.getByTestId('awaiting-return')).toHaveCount(0, { timeout: 15_000 });
  expect(onHand()).toBe(before + 2);
  await expect(page.getByTestId('order-status')).toHaveAttribute('data-status', 'refunded', { timeout: 30_000 });
  await expect(back).toHaveCount(0, { timeout: 15_000 });
  await courier.getByTestId('go-offline').click();
  await expect(courier.getByTestId('go-online')).toBeVisible();
  expect(customerErrors).toEqual([]);
  expect(courierErrors.filter((e) => !e.includes('409'))).toEqual([]);
  await phone.close();
});
