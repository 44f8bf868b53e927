import { test, expect } from '@playwright/test';
import { addAddressOnMap, fillPharmacyCart, hydrated, signUp, sql, watchErrors } from './helpers';

/** A change written straight into the database by another process (not by this page's
 *  server calls): the customer's page must still update live. merchant.spec.ts drives the
 *  real console. */
function storeAccepts(orderId: string) {
  sql(`
    update orders set status = 'accepted' where id = '${orderId}' and status = 'placed';
    insert into order_events (order_id, from_status, to_status, actor_kind, reason)
    values ('${orderId}', 'placed', 'accepted', 'merchant', 'Ready in about 10 min');`);
}

test('a new customer sets an address on the map, checks out, pays in the sandbox and watches the order live', async ({ page }) => {
  test.setTimeout(120_000);
  const errors = watchErrors(page);

  await signUp(page, 'order', '/addresses');
  await addAddressOnMap(page);
  await fillPharmacyCart(page);

  await page.goto('/cart');
  await hydrated(page);
  await page.getByTestId('checkout-link').click();
  await expect(page.getByTestId('quote')).toBeVisible();
  await hydrated(page);
  await expect(page.getByTestId('address-select')).toContainText('Home');
  await page.getByTestId('tip-200').check();
  await expect(page.getByTestId('tip')).toHaveText('¥2.00');
  const total = await page.getByTestId('total').textContent();
  await page.getByTestId('notes').fill('Please call at the gate');

  // First attempt fails in the sandbox: the order keeps its items and offers a retry.
  await page.getByTestId('place-order').click();
  await expect(page.getByTestId('sandbox-pay')).toBeVisible();
  await hydrated(page);
  await expect(page.getByTestId('sandbox-amount')).toHaveText(total!);
  await page.getByTestId('sandbox-fail').click();
  await expect(page.getByTestId('order-page')).toBeVisible();
  await hydrated(page);
  await expect(page.getByTestId('payment-failed')).toBeVisible();
  await page.getByTestId('pay').click();
  await expect(page.getByTestId('sandbox-pay')).toBeVisible();
  await hydrated(page);
  await page.getByTestId('sandbox-succeed').click();

  // Back on the order page: the provider's notification moves it to paid, live.
  await expect(page.getByTestId('order-page')).toBeVisible();
  await hydrated(page);
  await expect(page.getByTestId('live-state')).toHaveAttribute('data-live', 'true');
  await expect(page.getByTestId('order-status')).toHaveAttribute('data-status', 'placed');
  await expect(page.getByTestId('order-eta')).toContainText('Arrives around');
  const orderId = page.url().split('/orders/')[1];

  // Before the store accepts, one box can go back: the total drops by its price.
  const paid = await page.getByTestId('total').textContent();
  await page.getByTestId('reduce-line').first().click();
  await expect(page.getByTestId('total')).not.toHaveText(paid!);
  await expect(page.getByTestId('order-line').first()).toContainText('× 1');

  // …and added again: the difference is paid as a top-up in the sandbox, then merged.
  await page.getByTestId('add-one').first().click();
  await expect(page.getByTestId('sandbox-pay')).toBeVisible();
  await hydrated(page);
  await page.getByTestId('sandbox-succeed').click();
  await expect(page.getByTestId('order-page')).toBeVisible();
  await hydrated(page);
  await expect(page.getByTestId('order-line').first()).toContainText('× 2');
  await expect(page.getByTestId('total')).toHaveText(paid!);

  // The store accepts: the page updates without a reload.
  const entries = await page.getByTestId('timeline-entry').count();
  storeAccepts(orderId);
  await expect(page.getByTestId('order-status')).toHaveAttribute('data-status', 'accepted');
  await expect(page.getByTestId('order-status')).toContainText('已接单');
  await expect(page.getByTestId('timeline-entry')).toHaveCount(entries + 1);
  await expect(page.getByTestId('request-cancel')).toBeVisible();

  await page.getByTestId('nav-orders').click();
  await expect(page.getByTestId('order-row')).toHaveCount(1);
  await expect(page.getByTestId('order-row-status')).toContainText('Accepted');
  expect(errors).toEqual([]);
});

test('the checkout page works at 360 px', async ({ page }) => {
  await page.setViewportSize({ width: 360, height: 740 });
  await page.goto('/login');
  await hydrated(page);
  await page.getByTestId('login-input').fill('customer@songda.test');
  await page.getByTestId('password-input').fill('songda-demo');
  await page.getByTestId('login-submit').click();
  await page.waitForURL((u) => !u.pathname.startsWith('/login'));
  await page.goto('/orders');
  await hydrated(page);
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  expect(width).toBeLessThanOrEqual(360);
});
