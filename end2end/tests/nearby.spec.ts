import { test, expect } from '@playwright/test';
import { hydrated, watchErrors } from './helpers';

test.describe('with the location shared', () => {
  test.use({ geolocation: { latitude: 31.2233, longitude: 121.4456 }, permissions: ['geolocation'] });

  test('the customer sees stores nearest first with distance, fee and ETA, and filters by kind', async ({ page }) => {
      const errors = watchErrors(page);
    await page.goto('/');
    await hydrated(page);
    await page.getByTestId('locate').click();
    await expect(page).toHaveURL(/lat=31\.2233.*lng=121\.4456/);
    const first = page.getByTestId('store-card').first();
    await expect(first.getByTestId('distance')).toHaveText('0.0 km');
    await expect(first.getByTestId('fee')).toContainText('¥3.00');
    await expect(first.getByTestId('eta')).toContainText('min');
    await expect(page.getByTestId('out-of-range').first()).toBeVisible();

    await page.getByTestId('kind-tabs').getByRole('link', { name: /Pharmacy/ }).click();
    await expect(page).toHaveURL(/kind=pharmacy/);
    await expect(page.getByTestId('store-card')).toHaveCount(2);
    expect(errors).toEqual([]);
  });
});

test('a customer who does not share the location gets a clear message and all stores', async ({ page }) => {
  await page.goto('/');
  await hydrated(page);
  await page.getByTestId('locate').click();
  await expect(page.getByTestId('locate-status')).toContainText(/Location is off|cannot share/);
  await expect(page.getByTestId('store-card')).toHaveCount(12);
});
