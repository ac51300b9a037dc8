import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import sharp from 'sharp';
import { appUrl } from './env';

let dir: string;

test.beforeAll(async () => {
  // Two classes of small PNGs, every one different (so none is a duplicate), plus one
  // file that claims to be a PNG but is not.
  dir = mkdtempSync(join(tmpdir(), 'simlens-e2e-import-'));
  const classes = { circles: [20, 60, 100], squares: [140, 180, 220] };
  for (const [cls, shades] of Object.entries(classes)) {
    mkdirSync(join(dir, cls));
    for (const [i, shade] of shades.entries()) {
      const png = await sharp({
        create: { width: 32, height: 32, channels: 3, background: { r: shade, g: 255 - shade, b: (shade * 7) % 256 } },
      })
        .png()
        .toBuffer();
      writeFileSync(join(dir, cls, `${cls}-${i}.png`), png);
    }
  }
  writeFileSync(join(dir, 'squares', 'corrupt.png'), Buffer.from('this is not an image at all, just text pretending'));
});

test.afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('imports a folder with progress to completion and reports the corrupt file by name with a reason', async ({ page }) => {
  // The progress bar's width is an inline style binding: it must work under style-src 'self'.
  const cspViolations: string[] = [];
  page.on('console', (msg) => {
    if (/Content.Security.Policy/i.test(msg.text())) cspViolations.push(msg.text());
  });
  await page.goto(appUrl());
  await page.getByLabel('Path on this machine').fill(dir);
  await page.getByLabel('Kind').selectOption('folder');
  await page.getByLabel('Name (optional)').fill('e2e shapes');
  // Listen to the push channel as the app does (EventSource + the token it keeps).
  await page.evaluate(() => {
    // (main-side tsconfig: no DOM types)
    const w = globalThis as unknown as {
      sessionStorage: { getItem(k: string): string | null };
      EventSource: new (url: string) => { addEventListener(t: string, cb: (e: { data: string }) => void): void };
      seenJobs: { id: number; kind: string; status: string; progress: number }[];
    };
    w.seenJobs = [];
    const es = new w.EventSource(`/api/events?token=${encodeURIComponent(w.sessionStorage.getItem('simlens.token') ?? '')}`);
    es.addEventListener('job.updated', (e) => w.seenJobs.push(JSON.parse(e.data)));
  });
  await page.getByRole('button', { name: 'Import', exact: true }).click();

  const status = page.getByTestId('import-status');
  await expect(status.getByRole('progressbar', { name: 'Import progress' })).toBeVisible();
  await expect(status).toHaveAttribute('data-status', 'done');
  await expect(status.getByRole('progressbar')).toHaveAttribute('aria-valuenow', '100');
  await expect(status).toContainText('Import finished');
  // The job's progress came as job.updated events, ending in 'done'.
  const seen = await page.evaluate(
    () => (globalThis as unknown as { seenJobs: { id: number; kind: string; status: string; progress: number }[] }).seenJobs,
  );
  const importEvents = seen.filter((j) => j.kind === 'import');
  expect(importEvents.length).toBeGreaterThanOrEqual(2);
  expect(importEvents.map((j) => j.status)).toContain('running');
  expect(importEvents.at(-1)).toMatchObject({ status: 'done', progress: 1 });

  const report = page.getByTestId('import-report');
  await expect(report).toBeVisible();
  await expect(report.getByRole('button', { name: /^imported 6$/ })).toBeVisible();
  await expect(report.getByRole('button', { name: /^error 1$/ })).toBeVisible();

  const bad = report.getByTestId('report-row').filter({ hasText: 'corrupt.png' });
  await expect(bad).toHaveCount(1);
  await expect(bad.locator('.badge')).toHaveText('error');
  await expect(bad.locator('.reason')).not.toBeEmpty();

  // The status filter narrows the report to the failed file.
  await report.getByRole('button', { name: /^error 1$/ }).click();
  await expect(report.getByTestId('report-row')).toHaveCount(1);
  await expect(report.getByTestId('report-row')).toContainText('corrupt.png');
  await report.getByRole('button', { name: /^imported 6$/ }).click();
  await expect(report.getByTestId('report-row')).toHaveCount(6);

  // The new dataset is listed with its 6 good images in 2 classes.
  const item = page.getByTestId('dataset-item').filter({ hasText: 'e2e shapes' });
  await expect(item).toContainText('6 images');
  await item.click();
  await expect(page.getByTestId('dataset-detail').getByTestId('class-row')).toHaveCount(2);
  expect(cspViolations).toEqual([]);
});

test('a missing folder is reported clearly', async ({ page }) => {
  await page.goto(appUrl());
  const missing = join(dir, 'does-not-exist');
  await page.getByLabel('Path on this machine').fill(missing);
  await page.getByRole('button', { name: 'Import', exact: true }).click();
  const failure = page.getByTestId('import-error').or(page.locator('[data-testid="import-status"][data-status="failed"]'));
  await expect(failure).toBeVisible();
  await expect(failure).toContainText('does-not-exist');
});
