import { test, expect } from '@playwright/test';
import { hydrated, watchErrors } from './helpers';

test('a visitor opens a store, filters by category, searches it, and searches the city', async ({ page }) => {
  const errors = watchErrors(page);

  await page.goto('/');
  await hydrated(page);
  await page.getByRole('link', { name: /Songda Mart · 静安寺/ }).click();
  await expect(page.getByTestId('store-page')).toBeVisible();
  const all = await page.getByTestId('product-card').count();
  expect(all).toBeGreaterThan(20);

  const tabs = page.getByTestId('category-tabs').getByRole('link');
  await tabs.nth(1).click();
  await expect(page).toHaveURL(/category=/);
  await expect(tabs.nth(1)).toHaveClass(/active/);
  const inCategory = await page.getByTestId('product-card').count();
  expect(inCategory).toBeGreaterThan(0);
  expect(inCategory).toBeLessThan(all);

  await page.getByTestId('search-input').fill('water');
  await page.getByTestId('search-input').press('Enter');
  await expect(page).toHaveURL(/q=water/);
  await expect(page.getByTestId('product-card')).toHaveCount(2);
  await expect(page.getByTestId('product-card').first()).toContainText('¥');

  await page.getByTestId('search-input').fill('no such thing here');
  await page.getByTestId('search-input').press('Enter');
  await expect(page.getByTestId('no-products')).toBeVisible();

  await page.goto('/search?q=rose');
  await expect(page.getByTestId('product-card').first()).toBeVisible();
  await expect(page.getByTestId('product-card').first()).toContainText(/rose/i);
  await page.getByTestId('product-card').first().getByRole('link').click();
  await expect(page.getByTestId('store-page')).toBeVisible();
  expect(errors).toEqual([]);
});
