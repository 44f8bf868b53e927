import { expect, Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';

/** Collects page errors and console errors (hydration problems show up there first);
 *  `expected` matches console lines a test provokes on purpose (e.g. a 422 it asked for). */
export function watchErrors(page: Page, expected?: RegExp): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !(expected && expected.test(m.text()))) errors.push(`console: ${m.text()}`);
  });
  return errors;
}

/** Waits until the wasm has hydrated the page (the app marks <html data-hydrated="true">). */
export async function hydrated(page: Page) {
  await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true');
}

/** Runs SQL against the e2e server's database (test setup only). */
export function sql(statement: string): string {
  const url = process.env.SONGDA_E2E_DATABASE_URL;
  if (!url) throw new Error('SONGDA_E2E_DATABASE_URL is not set (run through ./test.sh)');
  return execFileSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-At', '-c', statement]).toString().trim();
}

/** Signs up a new customer and lands on `next`. */
export async function signUp(page: Page, prefix: string, next: string) {
  await page.goto(`/signup?next=${encodeURIComponent(next)}`);
  await hydrated(page);
  await page.getByTestId('login-input').fill(`${prefix}-${Date.now()}@example.cn`);
  await page.getByTestId('password-input').fill('a good password');
  await page.getByTestId('signup-submit').click();
}

/** On /addresses: saves "Home" by clicking the map (no tiles offline: the click still works). */
export async function addAddressOnMap(page: Page) {
  await expect(page.getByTestId('addresses-page')).toBeVisible();
  await hydrated(page);
  await page.getByTestId('label-input').fill('Home');
  await page.getByTestId('contact-input').fill('E2E Buyer');
  await page.getByTestId('phone-input').fill('13812345678');
  await page.getByTestId('detail-input').fill('People\'s Square, 12F');
  const map = page.getByTestId('map-picker').locator('.leaflet-container');
  await expect(map).toBeVisible();
  await map.click({ position: { x: 200, y: 150 } });
  await expect(page.getByTestId('address-locate-status')).toContainText('Point set on the map (31.2');
  await page.getByTestId('address-save').click();
  await expect(page.getByTestId('address')).toHaveCount(1);
}

/** Puts two boxes of the 24-hour pharmacy's first product in the cart (the test does not
 *  depend on the time of day). */
export async function fillPharmacyCart(page: Page) {
  await page.goto('/search?q=Kangjian');
  await hydrated(page);
  await page.getByRole('link', { name: /Kangjian Pharmacy · 陆家嘴/ }).first().click();
  await expect(page.getByTestId('product-card').first()).toBeVisible();
  await hydrated(page);
  const add = page.getByTestId('add-to-cart').and(page.locator(':enabled')).first();
  await add.click();
  await expect(page.getByTestId('cart-count')).toContainText('1');
  await page.getByTestId('more').first().click();
  await expect(page.getByTestId('cart-count')).toContainText('2');
}

/** The demo merchant helps out at the 24-hour pharmacy for this test (so it does not depend
 *  on the time of day); returns the pharmacy's id. */
export function merchantAtPharmacy(): string {
  sql(`insert into store_members (store_id, user_id, role)
       select s.id, u.id, 'staff' from stores s, users u
       where s.slug = 'kangjian-pharmacy-lujiazui' and u.email = 'merchant@songda.test'
       on conflict do nothing`);
  return sql(`select id from stores where slug = 'kangjian-pharmacy-lujiazui'`);
}

/** A new customer orders two boxes at the pharmacy and pays in the sandbox; returns the
 *  order's number and id (the page stays on the live order page). */
export async function customerPaysPharmacyOrder(page: Page, prefix = 'merchant-e2e'): Promise<{ number: string; orderId: string }> {
  await signUp(page, prefix, '/addresses');
  await addAddressOnMap(page);
  await fillPharmacyCart(page);
  await page.goto('/cart');
  await hydrated(page);
  await page.getByTestId('checkout-link').click();
  await expect(page.getByTestId('quote')).toBeVisible();
  await hydrated(page);
  await page.getByTestId('place-order').click();
  await expect(page.getByTestId('sandbox-pay')).toBeVisible();
  await hydrated(page);
  await page.getByTestId('sandbox-succeed').click();
  await expect(page.getByTestId('order-page')).toBeVisible();
  await hydrated(page);
  await expect(page.getByTestId('live-state')).toHaveAttribute('data-live', 'true');
  await expect(page.getByTestId('order-status')).toHaveAttribute('data-status', 'placed');
  const number = (await page.getByTestId('order-number').textContent())!.trim();
  return { number, orderId: page.url().split('/orders/')[1] };
}
