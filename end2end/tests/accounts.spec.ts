import { test, expect } from '@playwright/test';
import { hydrated, watchErrors } from './helpers';

const roles = [
  { role: 'customer', home: '/', marker: 'customer-home' },
  { role: 'merchant', home: '/merchant', marker: 'merchant-home' },
  { role: 'courier', home: '/courier', marker: 'courier-home' },
  { role: 'ops', home: '/ops', marker: 'ops-home' },
];

for (const { role, home, marker } of roles) {
  test(`demo ${role} logs in with one click and lands on ${home}`, async ({ page }) => {
    const errors = watchErrors(page);
    await page.goto('/login');
    await hydrated(page);
    // The click runs a server fn from the hydrated page: proof that hydration works.
    await page.getByTestId(`demo-login-${role}`).click();
    await expect(page).toHaveURL(home === '/' ? /\/$/ : new RegExp(`${home}$`));
    await expect(page.getByTestId(marker)).toBeVisible();
    await expect(page.getByTestId('who')).toBeVisible();
    await page.getByTestId('logout').click();
    await expect(page.getByTestId('nav-login')).toBeVisible();
    expect(errors).toEqual([]);
  });
}

test('an anonymous visitor is sent to log in and then back where they were going', async ({ page }) => {
  const errors = watchErrors(page, /403/);
  await page.goto('/ops');
  await expect(page).toHaveURL(/\/login\?next=%2Fops|\/login\?next=\/ops/);
  await hydrated(page);
  await page.getByTestId('login-input').fill('ops@songda.test');
  await page.getByTestId('password-input').fill('songda-demo');
  await page.getByTestId('login-submit').click();
  await expect(page).toHaveURL(/\/ops$/);
  await expect(page.getByTestId('ops-stores')).not.toHaveText('0');
  // A wrong role gets a clear 403 page, not a crash.
  await page.goto('/courier');
  await expect(page.getByTestId('forbidden')).toBeVisible();
  expect(errors).toEqual([]);
});

test('a new customer signs up, sees field errors, logs out and logs in again', async ({ page }) => {
  // Expected failures below answer 401/422; nothing else may appear in the console.
  const errors = watchErrors(page, /status of 4(01|22)/);
  const email = `e2e-${Date.now()}@example.cn`;
  await page.goto('/signup');
  await hydrated(page);
  await page.getByTestId('login-input').fill('12345');
  await page.getByTestId('password-input').fill('long enough');
  await page.getByTestId('signup-submit').click();
  await expect(page.getByTestId('login-error')).toContainText('mobile number');
  await page.getByTestId('login-input').fill(email);
  await page.getByTestId('password-input').fill('short');
  await page.getByTestId('signup-submit').click();
  await expect(page.getByTestId('password-error')).toContainText('at least 8');
  await page.getByTestId('password-input').fill('a good password');
  await page.getByTestId('name-input').fill('E2E 测试');
  await page.getByTestId('signup-submit').click();
  await expect(page.getByTestId('customer-home')).toBeVisible();
  await expect(page.getByTestId('who')).toHaveText('E2E 测试');

  await page.getByTestId('logout').click();
  await expect(page.getByTestId('nav-login')).toBeVisible();
  await page.goto('/login');
  await hydrated(page);
  await page.getByTestId('login-input').fill(email);
  await page.getByTestId('password-input').fill('wrong password');
  await page.getByTestId('login-submit').click();
  await expect(page.getByTestId('form-error')).toContainText('not correct');
  await page.getByTestId('password-input').fill('a good password');
  await page.getByTestId('login-submit').click();
  await expect(page.getByTestId('who')).toHaveText('E2E 测试');
  expect(errors).toEqual([]);
});

test('pages fit a 360 px wide phone and lists paginate', async ({ page }) => {
  await page.setViewportSize({ width: 360, height: 740 });
  for (const path of ['/', '/login', '/signup']) {
    await page.goto(path);
    await hydrated(page);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow, `${path} scrolls sideways`).toBeLessThanOrEqual(0);
  }
  await page.goto('/');
  await expect(page.getByTestId('store-card')).toHaveCount(12);
  await page.getByRole('link', { name: 'Next →' }).click();
  await expect(page).toHaveURL(/page=2/);
  await expect(page.getByTestId('store-card').first()).toBeVisible();
});
