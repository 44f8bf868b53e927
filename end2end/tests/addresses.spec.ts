import { test, expect } from '@playwright/test';
import { hydrated, watchErrors } from './helpers';

test.use({ geolocation: { latitude: 31.2196, longitude: 121.4757 }, permissions: ['geolocation'] });

test('a customer saves an address at their location and sees stores near it', async ({ page }) => {
  const errors = watchErrors(page, /status of 422/);

  await page.goto('/signup?next=/addresses');
  await hydrated(page);
  await page.getByTestId('login-input').fill(`addr-${Date.now()}@example.cn`);
  await page.getByTestId('password-input').fill('a good password');
  await page.getByTestId('signup-submit').click();
  await expect(page.getByTestId('addresses-page')).toBeVisible();
  await hydrated(page);
  await expect(page.getByTestId('no-addresses')).toBeVisible();

  await expect(page.getByTestId('address-save')).toBeDisabled();
  await page.getByTestId('label-input').fill('Office');
  await page.getByTestId('contact-input').fill('E2E');
  await page.getByTestId('phone-input').fill('12345');
  await page.getByTestId('detail-input').fill('Xintiandi, 5F');
  await page.getByTestId('address-locate').click();
  await expect(page.getByTestId('address-locate-status')).toContainText('31.21960');
  await page.getByTestId('address-save').click();
  await expect(page.getByTestId('phone-error')).toContainText('11 digits');
  await page.getByTestId('phone-input').fill('13812345678');
  await page.getByTestId('address-save').click();
  await expect(page.getByTestId('address')).toHaveCount(1);
  await expect(page.getByTestId('address')).toContainText('138****5678');

  await page.getByTestId('deliver-here').click();
  await expect(page).toHaveURL(/lat=31\.21960/);
  await expect(page.getByTestId('store-card').first()).toContainText('新天地');
  expect(errors).toEqual([]);
});
