import { test, expect, Page } from '@playwright/test';
import { customerPaysPharmacyOrder, hydrated, merchantAtPharmacy, sql, watchErrors } from './helpers';

/** Next to the 24-hour pharmacy in Lujiazui. */
const NEAR_STORE = { latitude: 31.2375, longitude: 121.5025 };

/** A server fn call from a logged-in page (store-side setup the merchant spec covers by UI). */
async function call(page: Page, fn: string, form: Record<string, string>) {
  const res = await page.request.post(`/api/${fn}`, { form });
  expect(res.status(), `${fn}: ${await res.text()}`).toBe(200);
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
    permissions: ['geolocation'],
    viewport: { width: 360, height: 740 },
  });
  const courier = await phone.newPage();
  const courierErrors = watchErrors(courier);
  await courier.goto('/login');
  await hydrated(courier);
  await courier.getByTestId('demo-login-courier').click();
  await expect(courier.getByTestId('courier-home')).toBeVisible();
  await hydrated(courier);
  await courier.getByTestId('go-online').click();
  await expect(courier.getByTestId('go-offline')).toBeVisible();

  // Dispatch offers it (with a countdown); the courier accepts every offer until it is theirs.
  const ours = courier.getByTestId('stop').filter({ hasText: number });
  await expect(async () => {
    const offer = courier.getByTestId('offer').first();
    if (await offer.isVisible()) {
      await expect(offer.getByTestId('offer-countdown')).toContainText('s left');
      await offer.getByTestId('accept-offer').click();
    }
    await expect(ours.first()).toBeVisible({ timeout: 1000 });
  }).toPass({ timeout: 60_000 });
  await expect(ours.and(courier.locator('[data-kind="pickup"]'))).toHaveCount(1);

  // The store (the demo merchant helps at the pharmacy) accepts, picks and packs.
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
  const code = sql(`select handover_code from orders where id = '${orderId}'`);

  // At the counter: a wrong code is refused, the label's code takes it.
  const pickupStop = ours.and(courier.locator('[data-kind="pickup"]'));
  await expect(pickupStop.getByTestId('handover-code')).toBeVisible({ timeout: 15_000 });
  await pickupStop.getByTestId('handover-code').fill(code === '000000' ? '111111' : '000000');
  await pickupStop.getByTestId('picked-up').click();
  await expect(courier.getByTestId('courier-error')).toContainText('does not match');
  await pickupStop.getByTestId('handover-code').fill(code);
  await pickupStop.getByTestId('picked-up').click();
  const dropoff = ours.and(courier.locator('[data-kind="dropoff"]'));
  await expect(dropoff.getByTestId('start-delivering')).toBeVisible({ timeout: 15_000 });
  await expect(dropoff.getByTestId('stop-contact')).toBeVisible();

  // The courier rides: the phone's position moves and reaches the server.
  const before = Number(sql(`select count(*) from courier_positions p join users u on u.id = p.courier_id
                             where u.email = 'courier@songda.test'`));
  await dropoff.getByTestId('start-delivering').click();
  await phone.setGeolocation({ latitude: 31.2360, longitude: 121.5035 });
  await expect.poll(() => Number(sql(`select count(*) from courier_positions p join users u on u.id = p.courier_id
                                      where u.email = 'courier@songda.test'`)), { timeout: 20_000 }).toBeGreaterThan(before);

  // At the door: the customer's PIN.
  await expect(dropoff.getByTestId('delivery-pin-input')).toBeVisible({ timeout: 15_000 });
  await dropoff.getByTestId('delivery-pin-input').fill(pin);
  await dropoff.getByTestId('delivered').click();
  await expect(ours).toHaveCount(0, { timeout: 15_000 });

  // The customer's page follows live and ends in 已完成.
  await expect(page.getByTestId('order-status')).toHaveAttribute('data-status', 'delivered', { timeout: 15_000 });
  await expect(page.getByTestId('timeline-entry').first()).toHaveAttribute('data-status', 'delivered');
  await courier.getByTestId('go-offline').click();
  await expect(courier.getByTestId('go-online')).toBeVisible();
  expect(customerErrors).toEqual([]);
  expect(courierErrors.filter((e) => !e.includes('422'))).toEqual([]);
  await phone.close();
});
