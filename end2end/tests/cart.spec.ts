import { test, expect } from '@playwright/test';
import { hydrated, watchErrors } from './helpers';

test('a visitor who adds to cart is asked to log in and comes back to the store', async ({ page }) => {
  await page.goto('/search?q=Songda%20Mart');
  await page.getByRole('link', { name: /Songda Mart · 人民广场/ }).click();
  await hydrated(page);
  const storeUrl = page.url();
  await page.getByTestId('add-to-cart').first().click();
  await expect(page).toHaveURL(/\/login\?next=\/stores\//);
  await hydrated(page);
  await page.getByTestId('demo-login-customer').click();
  await expect(page).toHaveURL(storeUrl);
});

test('a customer fills a cart that survives a reload and edits it on the cart page', async ({ page }) => {
  const errors = watchErrors(page);
  // A new customer, so the cart starts empty however often this runs against one database.
  await page.goto('/signup?next=/search%3Fq%3DLinjia');
  await hydrated(page);
  await page.getByTestId('login-input').fill(`cart-${Date.now()}@example.cn`);
  await page.getByTestId('password-input').fill('a good password');
  await page.getByTestId('signup-submit').click();
  await page.getByRole('link', { name: /Linjia Market/ }).first().click();
  await hydrated(page);

  const water = page.getByTestId('product-card').filter({ hasText: 'Spring water' });
  await water.getByTestId('add-to-cart').click();
  await expect(water.getByTestId('quantity')).toHaveText('1');
  await water.getByTestId('more').click();
  await expect(water.getByTestId('quantity')).toHaveText('2');
  const cola = page.getByTestId('product-card').filter({ hasText: 'Coca-Cola' });
  await cola.getByTestId('add-to-cart').click();
  await expect(page.getByTestId('cart-count')).toContainText('3 items');

  await page.reload();
  await hydrated(page);
  await expect(water.getByTestId('quantity')).toHaveText('2');
  await expect(page.getByTestId('cart-count')).toContainText('3 items');

  await page.getByRole('link', { name: /View cart/ }).click();
  await expect(page.getByTestId('cart-page')).toBeVisible();
  await hydrated(page);
  const cart = page.getByTestId('cart').filter({ hasText: 'Linjia' });
  await expect(cart.getByTestId('cart-line')).toHaveCount(2);
  await cart.getByTestId('cart-line').filter({ hasText: 'Coca-Cola' }).getByTestId('remove').click();
  await expect(cart.getByTestId('cart-line')).toHaveCount(1);
  await cart.getByTestId('cart-line').getByTestId('less').click();
  await expect(cart.getByTestId('quantity')).toHaveText('1');
  expect(errors).toEqual([]);
});

test('the store refuses more than it has, next to the product', async ({ page }) => {
  await page.goto('/signup?next=/search%3Fq%3DSongda%2520Mart');
  await hydrated(page);
  await page.getByTestId('login-input').fill(`low-${Date.now()}@example.cn`);
  await page.getByTestId('password-input').fill('a good password');
  await page.getByTestId('signup-submit').click();
  await page.getByRole('link', { name: /Songda Mart · 静安寺/ }).click();
  await hydrated(page);
  // A product with only a few left: add them all, then one more.
  const low = page.getByTestId('product-card').filter({ has: page.getByTestId('low-stock') }).first();
  const left = Number((await low.getByTestId('low-stock').innerText()).match(/Only (\d+) left/)![1]);
  await low.getByTestId('add-to-cart').click();
  for (let n = 1; n < left; n++) {
    await expect(low.getByTestId('quantity')).toHaveText(String(n));
    await low.getByTestId('more').click();
  }
  await expect(low.getByTestId('quantity')).toHaveText(String(left));
  await low.getByTestId('more').click();
  await expect(low.getByTestId('cart-error')).toContainText(`Only ${left} left`);
  await expect(low.getByTestId('quantity')).toHaveText(String(left));
});
