import { expect, Page } from '@playwright/test';

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
