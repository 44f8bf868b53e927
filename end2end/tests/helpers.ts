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
