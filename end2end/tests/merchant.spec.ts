import { test, expect, Browser, Page } from '@playwright/test';
import { customerPaysPharmacyOrder, hydrated, merchantAtPharmacy, sql, watchErrors } from './helpers';

async function merchantPage(browser: Browser): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto('/login');
  await hydrated(page);
  await page.getByTestId('login-input').fill('merchant@songda.test');
  await page.getByTestId('password-input').fill('songda-demo');
  await page.getByTestId('login-submit').click();
  await page.waitForURL((u) => !u.pathname.startsWith('/login'));
  return page;
}

test('a customer orders, the store sees it live, accepts, picks, prints the label and marks it ready', async ({ page, browser }) => {
  test.setTimeout(150_000);
  const storeId = merchantAtPharmacy();
  const customerErrors = watchErrors(page);
  const store = await merchantPage(browser);
  const storeErrors = watchErrors(store);

  // The store's board is open and live before the order exists.
  await store.goto(`/merchant/stores/${storeId}/orders`);
  await expect(store.getByTestId('board-page')).toBeVisible();
  await hydrated(store);
  await expect(store.getByTestId('live-state')).toHaveAttribute('data-live', 'true');
  const newLane = store.locator('[data-test="lane"][data-column="new"]');
  const before = Number(await newLane.getByTestId('lane-count').textContent());

  // The customer orders and pays.
  const { number } = await customerPaysPharmacyOrder(page);

  // It appears on the board without a reload: banner, count, tab title.
  const card = store.locator(`[data-test="order-card"][data-number="${number}"]`);
  await expect(card).toBeVisible({ timeout: 5_000 });
  await expect(store.getByTestId('new-order-alert')).toContainText(number);
  await expect(newLane.getByTestId('lane-count')).toHaveText(String(before + 1));
  await expect(store).toHaveTitle(/^\(\d+\) 新订单/);

  // Accept with a prep estimate: the customer's page follows live.
  await card.getByTestId('prep-min').fill('12');
  await card.getByTestId('accept').click();
  await expect(page.getByTestId('order-status')).toHaveAttribute('data-status', 'accepted');
  await expect(store.locator('[data-test="lane"][data-column="preparing"]').locator(`[data-number="${number}"]`)).toBeVisible();

  // The pick list: tick every line; the first tick starts picking.
  await store.locator('[data-test="lane"][data-column="preparing"]').locator(`[data-number="${number}"]`).getByTestId('open-order').click();
  await expect(store.getByTestId('merchant-order')).toBeVisible();
  await hydrated(store);
  await expect(store.getByTestId('order-number')).toContainText(number);
  await expect(store.getByTestId('mark-ready')).toBeDisabled();
  const ticks = store.getByTestId('pick-tick');
  const lines = await ticks.count();
  expect(lines).toBeGreaterThan(0);
  for (let i = 0; i < lines; i++) {
    await ticks.nth(i).check();
    await expect(store.locator('[data-test="pick-line"][data-picked="true"]')).toHaveCount(i + 1);
  }
  await expect(page.getByTestId('order-status')).toHaveAttribute('data-status', 'picking');

  // The packing label renders its QR code and hand-over code.
  const labelHref = await store.getByTestId('print-label').getAttribute('href');
  const label = await store.context().newPage();
  const labelErrors = watchErrors(label);
  await label.goto(labelHref!);
  await expect(label.getByTestId('packing-label')).toBeVisible();
  await expect(label.getByTestId('label-number')).toHaveText(number);
  await expect(label.getByTestId('label-qr').locator('svg')).toBeVisible();
  await expect(label.getByTestId('label-code')).toHaveText(/^\d{6}$/);
  await label.emulateMedia({ media: 'print' });
  await expect(label.locator('header.top')).toBeHidden();
  await label.close();

  // Packed: ready for the courier, and the customer sees every state on the timeline.
  await store.getByTestId('mark-ready').click();
  await expect(store.getByTestId('order-status')).toHaveAttribute('data-status', 'ready');
  await expect(page.getByTestId('order-status')).toHaveAttribute('data-status', 'ready');
  for (const s of ['placed', 'accepted', 'picking', 'ready']) {
    await expect(page.locator(`[data-test="timeline-entry"][data-status="${s}"]`)).toHaveCount(1);
  }

  expect(customerErrors).toEqual([]);
  expect(storeErrors).toEqual([]);
  expect(labelErrors).toEqual([]);
});

test('a missing item: the store offers a substitute and the customer takes it on the order page', async ({ page, browser }) => {
  test.setTimeout(120_000);
  merchantAtPharmacy();
  const customerErrors = watchErrors(page);
  const store = await merchantPage(browser);
  const storeErrors = watchErrors(store);
  const { orderId } = await customerPaysPharmacyOrder(page);

  await store.goto(`/merchant/orders/${orderId}`);
  await expect(store.getByTestId('merchant-order')).toBeVisible();
  await hydrated(store);
  await store.getByTestId('accept').click();
  await expect(store.getByTestId('order-status')).toHaveAttribute('data-status', 'accepted');
  const line = store.getByTestId('pick-line').first();
  await line.getByTestId('report-missing').click();
  await line.getByTestId('missing-qty').fill('1');
  await line.getByTestId('substitute').selectOption({ index: 1 });
  await line.getByTestId('missing-submit').click();
  await expect(store.locator('[data-test="missing-item"][data-status="open"]')).toHaveCount(1);
  await expect(store.getByTestId('mark-ready')).toBeDisabled();

  // The customer's page asks, live; taking the substitute puts it in the order.
  const lines = await page.getByTestId('order-line').count();
  await expect(page.getByTestId('missing-choice')).toBeVisible();
  await page.getByTestId('take-substitute').click();
  await expect(page.getByTestId('missing-choice')).toBeHidden();
  await expect(page.getByTestId('order-line')).toHaveCount(lines + 1);
  await expect(store.locator('[data-test="missing-item"][data-status="substituted"]')).toHaveCount(1);

  expect(customerErrors).toEqual([]);
  expect(storeErrors).toEqual([]);
});

test('every store console page hydrates without errors at 360 px', async ({ browser }) => {
  const storeId = merchantAtPharmacy();
  const store = await merchantPage(browser);
  const errors = watchErrors(store);
  await store.setViewportSize({ width: 360, height: 740 });
  for (const path of ['orders', '', 'history', 'stock', 'catalog', 'settings']) {
    await store.goto(`/merchant/stores/${storeId}${path ? `/${path}` : ''}`);
    await hydrated(store);
    const width = await store.evaluate(() => document.documentElement.scrollWidth);
    expect(width, path).toBeLessThanOrEqual(360);
  }
  expect(errors).toEqual([]);
});
