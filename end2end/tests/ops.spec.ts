import { test, expect } from '@playwright/test';
import { hydrated, sql, watchErrors } from './helpers';

// The demo courier is shared with the courier specs, which start its shift themselves.
test.afterEach(() => {
  sql(`update couriers set status = 'offline' where user_id = (select id from users where email = 'courier@songda.test')`);
});

test('operations watch the live city, draw a zone and put a storm on it', async ({ page, browser }) => {
  await page.setViewportSize({ width: 360, height: 740 });
  const errors = watchErrors(page);
  await page.goto('/login');
  await hydrated(page);
  await page.getByTestId('demo-login-ops').click();
  await expect(page.getByTestId('ops-home')).toBeVisible();
  await hydrated(page);
  await expect(page.getByTestId('live-city')).toBeVisible();
  await expect(page.getByTestId('ops-live')).toHaveAttribute('data-live', 'true');

  // A courier starts a shift elsewhere: a green marker appears on the map by itself.
  const phone = await browser.newContext();
  const courier = await phone.newPage();
  await courier.goto('/login');
  await hydrated(courier);
  await courier.getByTestId('demo-login-courier').click();
  await expect(courier.getByTestId('courier-home')).toBeVisible();
  const online = await courier.request.post('/api/courier_go_online', {
    form: { lat: '31.2310', lng: '121.4740', shift_hours: '1' },
  });
  expect(online.status()).toBe(200);
  await expect(page.locator('img.leaflet-marker-icon[src$="pin-online.svg"]').first()).toBeVisible({ timeout: 15_000 });

  // Draw a zone: three taps on the map, a name, create.
  const map = page.locator('.city-map');
  for (const [x, y] of [[0.3, 0.3], [0.7, 0.3], [0.5, 0.7]]) {
    await expect(map).toBeVisible();
    const box = (await map.boundingBox())!;
    await map.click({ position: { x: box.width * x, y: box.height * y } });
  }
  await expect(page.getByTestId('zone-points')).toContainText('3 so far');
  const name = `E2E zone ${Date.now()}`;
  await page.getByTestId('zone-name').fill(name);
  await page.getByTestId('create-zone').click();
  const zone = page.getByTestId('zone').filter({ hasText: name });
  await expect(zone).toBeVisible({ timeout: 10_000 });
  await expect(page.getByTestId('zone-points')).toContainText('0 so far');

  // A storm on it, then back to normal.
  await zone.getByTestId('condition-kind').selectOption('storm');
  await zone.getByTestId('condition-multiplier').fill('2');
  await zone.getByTestId('set-condition').click();
  await expect(zone.getByTestId('zone-condition')).toContainText('storm', { timeout: 10_000 });
  await zone.getByTestId('end-condition').click();
  await expect(zone.getByTestId('zone-condition')).toContainText('normal', { timeout: 10_000 });
  // A bad value gets the server's message, nothing changes.
  await zone.getByTestId('condition-multiplier').fill('9');
  await zone.getByTestId('set-condition').click();
  await expect(page.getByTestId('ops-error')).toContainText('1 to 5 times');

  // The page fits a 360 px phone.
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
  expect(errors.filter((e) => !e.includes('422'))).toEqual([]);

  const offline = await courier.request.post('/api/courier_go_offline', { form: {} });
  expect(offline.status()).toBe(200);
  await phone.close();
});
