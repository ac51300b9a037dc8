import { expect, test } from '@playwright/test';
import { appUrl, DEMO_NAME } from './env';

test('starts on the demo dataset with its 10 classes, under the CSP, without leaking the token', async ({ page }) => {
  const problems: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' || /Content.Security.Policy/i.test(msg.text())) problems.push(msg.text());
  });
  page.on('pageerror', (err) => problems.push(err.message));

  await page.goto(appUrl());
  await expect(page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Datasets' })).toHaveAttribute(
    'aria-current',
    'page',
  );

  const demo = page.getByTestId('dataset-item').filter({ hasText: DEMO_NAME });
  await expect(demo).toBeVisible();
  await demo.click();
  const detail = page.getByTestId('dataset-detail');
  await expect(detail.getByRole('heading', { name: DEMO_NAME })).toBeVisible();
  await expect(detail.getByTestId('class-row')).toHaveCount(10);
  // The demo has 70 images of each class (60 train + 10 official test), and its pair set split them.
  await expect(detail.getByTestId('class-row').locator('td:nth-child(2)')).toHaveText(Array(10).fill('70'));
  await expect(detail.getByTestId('pairset-table')).toBeVisible();

  // The shell and backend are shown.
  await expect(page.getByTestId('app-info')).toContainText('Shell: browser');
  await expect(page.getByTestId('app-info')).toContainText('Backend:');
  // and the inference engine: ONNX Runtime on the CPU provider, one session per engine worker
  await expect(page.getByTestId('inference-info')).toHaveText(/^Inference: ONNX Runtime 1\.\d+\.\d+ \(cpu, \d+ sessions? x 1 thread\)$/);

  // The token left the address bar (kept in sessionStorage), and a reload still works.
  await expect.poll(() => new URL(page.url()).hash).toBe('');
  await page.reload();
  await expect(page.getByTestId('dataset-item').filter({ hasText: DEMO_NAME })).toBeVisible();

  expect(problems).toEqual([]);
});

test('without the token the page says how to connect', async ({ page }) => {
  await page.goto(new URL(appUrl()).origin + '/');
  const blocker = page.getByRole('alert').filter({ hasText: 'Not connected' });
  await expect(blocker).toBeVisible();
  await expect(blocker).toContainText('#token=');
  await expect(page.getByTestId('dataset-item')).toHaveCount(0);

  // Pasting the printed URL into this tab only changes the fragment; the app picks the token up.
  await page.goto(appUrl());
  await expect(page.getByTestId('dataset-item').filter({ hasText: DEMO_NAME })).toBeVisible();
  await expect(blocker).toHaveCount(0);
});
