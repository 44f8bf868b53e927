import { test, expect } from '@playwright/test';

test.use({ geolocation: { latitude: 31.2196, longitude: 121.4757 }, permissions: ['geolocation'] });

test('a customer saves an address at their location and sees stores near it', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && !/status of 422/.test(m.text()) && errors.push(m.text()));

  await page.goto('/signup?next=/addresses');
  await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true');
  await page.getByTestId('login-input').fill(`addr-${Date.now()}@example.cn`);
  await page.getByTestId('password-input').fill('a good password');
  await page.getByTestId('signup-submit').click();
  await expect(page.getByTestId('addresses-page')).toBeVisible();
  await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true');
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
