// The models view against browser mode: train a tiny small-CNN on the demo pairs from
// the form (1 epoch), watch the live chart fill, see the version with its metrics, ROC
// plot and histograms; evaluate it on test, export it, delete it (with confirmation);
// cancel a longer run.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type APIRequestContext, type Locator, type Page } from '@playwright/test';
import type { ModelVersionDto, Split } from '../../src/shared/dto';
import { api, appUrl, DEMO_NAME } from './env';

/** The metrics table's row of a split shows the API's figures for it (pairs, rates, AUC, counts). */
async function expectSplitRow(detail: Locator, request: APIRequestContext, id: number, split: Split): Promise<void> {
  const m = (await api<ModelVersionDto>(request, 'models.get', { id })).metrics!.splits[split]!;
  const cells = detail.locator(`.metrics-table tr[data-split="${split}"] td`);
  await expect(cells).toHaveText([
    split,
    new Intl.NumberFormat('en-US').format(m.pairs),
    m.accuracy.toFixed(3),
    m.precision.toFixed(3),
    m.recall.toFixed(3),
    m.f1.toFixed(3),
    m.auc.toFixed(4),
    `${m.tp} / ${m.fp} / ${m.tn} / ${m.fn}`,
  ]);
}

async function openModels(page: Page): Promise<void> {
  await page.goto(appUrl());
  const tab = page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Models' });
  await tab.click();
  await expect(tab).toHaveAttribute('aria-current', 'page');
  await expect(page.getByRole('heading', { name: 'Train a model' })).toBeVisible();
}

/** Fills the form with settings that finish in seconds on the demo data. */
async function fillTiny(page: Page, epochs: number): Promise<void> {
  await page.locator('select[name="train-dataset"]').selectOption({ label: DEMO_NAME });
  await expect(page.locator('select[name="train-pairset"] option').first()).toHaveText(/pairs/);
  await page.locator('select[name="arch"]').selectOption('small');
  await page.locator('input[name="epochs"]').fill(String(epochs));
  await page.locator('input[name="batch"]').fill('32');
  await page.locator('input[name="lr"]').fill('0.001');
  await page.locator('input[name="margin"]').fill('2');
  await page.locator('input[name="embedding"]').fill('32');
  await page.locator('input[name="seed"]').fill('3');
}

test('trains a tiny model from the form and shows the new version with its metrics and plots', async ({ page, request }) => {
  test.setTimeout(150_000);
  const problems: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' || /Content.Security.Policy/i.test(msg.text())) problems.push(msg.text());
  });
  page.on('pageerror', (err) => problems.push(err.message));
  await openModels(page);
  await fillTiny(page, 1);
  const name = `e2e tiny ${Date.now()}`;
  await page.locator('input[name="model-name"]').fill(name);
  await page.getByRole('button', { name: 'Start training' }).click();

  // The job shows progress, then ends; the live charts hold the epoch's loss and val AUC.
  const status = page.getByTestId('train-status');
  await expect(status).toBeVisible();
  await expect(status.getByRole('progressbar', { name: 'Training progress' })).toBeVisible();
  await expect(status.locator('.badge')).toHaveText('done', { timeout: 120_000 });
  await expect(status).toContainText(/Done: version #\d+/);
  const charts = page.getByTestId('train-charts');
  await expect(charts.getByRole('img', { name: 'Loss' })).toBeVisible();
  await expect(charts.locator('[data-series="val-auc"] circle')).toHaveCount(1);
  await expect(charts.locator('[data-series="epoch-loss"] circle')).toHaveCount(1);

  // The version is listed with its test AUC (the API's), selected, and its detail shows its numbers and plots.
  const id = Number(/version #(\d+)/.exec((await status.textContent()) ?? '')?.[1]);
  expect(id).toBeGreaterThan(0);
  const version = await api<ModelVersionDto>(request, 'models.get', { id });
  expect(version.name).toBe(name);
  const row = page.getByTestId('version-row').filter({ hasText: name });
  await expect(row).toHaveCount(1);
  await expect(row.getByTestId('version-auc')).toHaveText(version.metrics!.splits.test!.auc.toFixed(4));
  await expect(row).toHaveAttribute('aria-selected', 'true');
  const detail = page.getByTestId('version-detail');
  await expect(detail.getByRole('heading', { name })).toBeVisible();
  await expectSplitRow(detail, request, id, 'val');
  await expectSplitRow(detail, request, id, 'test');
  await expect(detail.getByRole('img', { name: 'ROC curve' })).toBeVisible();
  await expect(detail.locator('svg[aria-label="ROC curve"] path[stroke]').nth(1)).toHaveAttribute('d', /^M.+L/);
  await expect(detail.getByRole('img', { name: 'Scores on test' })).toBeVisible();
  await expect(detail.locator('svg[aria-label="Scores on test"] rect').first()).toBeVisible();
  await expect(detail.getByRole('img', { name: 'Training history' })).toBeVisible();

  // The engine ran: the backend is shown.
  await expect(page.getByTestId('backend-info')).toContainText(/tfjs backend: (wasm|cpu|tensorflow|webgl)/);

  // From the version to its explanations: the view opens on this version and a test pair of its pair set.
  await detail.getByTestId('explain-with').click();
  await expect(page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Explanations' })).toHaveAttribute(
    'aria-current',
    'page',
  );
  await expect(page.locator('select[name="model"]')).toHaveValue(String(id));
  await expect(page.getByTestId('explain-pair')).toContainText('test');
  await expect(page.locator('[data-testid="overlay-grid"] [data-state="loading"]')).toHaveCount(0, { timeout: 60_000 });
  await expect(
    page.locator('[data-testid="overlay-grid"] [data-state="ready"], [data-testid="overlay-grid"] [data-state="no-evidence"]'),
  ).toHaveCount(4);
  expect(problems).toEqual([]);
});

test('evaluates, exports and deletes a version (with confirmation)', async ({ page, request }) => {
  test.setTimeout(150_000);
  await openModels(page);
  await fillTiny(page, 1);
  const name = `e2e to delete ${Date.now()}`;
  await page.locator('input[name="model-name"]').fill(name);
  await page.getByRole('button', { name: 'Start training' }).click();
  await expect(page.getByTestId('train-status').locator('.badge')).toHaveText('done', { timeout: 120_000 });
  const row = page.getByTestId('version-row').filter({ hasText: name });
  await expect(row).toHaveCount(1);
  await row.click();
  const detail = page.getByTestId('version-detail');
  await expect(detail.getByRole('heading', { name })).toBeVisible();

  // Evaluate on train only (the stored threshold is kept): training scored val and test, not
  // train, so the train row appears only if the evaluation ran, with the API's figures.
  const id = (await api<{ id: number; name: string }[]>(request, 'models.list', {})).find((v) => v.name === name)!.id;
  const before = await api<ModelVersionDto>(request, 'models.get', { id });
  expect(before.metrics!.splits.train).toBeUndefined();
  await expect(detail.locator('.metrics-table tr[data-split="train"]')).toHaveCount(0);
  await detail.locator('input[name="eval-val"]').uncheck();
  await detail.locator('input[name="eval-test"]').uncheck();
  await detail.locator('input[name="eval-train"]').check();
  await detail.getByRole('button', { name: 'Evaluate' }).click();
  await expect(detail.locator('.eval-status .badge')).toHaveText('done', { timeout: 60_000 });
  const after = await api<ModelVersionDto>(request, 'models.get', { id });
  expect(after.metrics!.splits.train!.pairs).toBeGreaterThan(0);
  expect(after.metrics!.threshold).toBe(before.metrics!.threshold);
  await expectSplitRow(detail, request, id, 'train');
  await expectSplitRow(detail, request, id, 'test'); // kept

  // Export into a fresh folder.
  const parent = mkdtempSync(join(tmpdir(), 'simlens-export-'));
  const dest = join(parent, 'model');
  try {
    await detail.locator('input[name="export-path"]').fill(dest);
    await detail.getByRole('button', { name: 'Export as tfjs model' }).click();
    await expect(detail.getByTestId('export-done')).toContainText(dest);
    await expect.poll(() => existsSync(join(dest, 'model.json'))).toBe(true);
    expect(readdirSync(dest).length).toBeGreaterThan(1);
    // ... and as ONNX into another
    const onnxDest = join(parent, 'onnx');
    await detail.locator('input[name="export-path"]').fill(onnxDest);
    await detail.getByRole('button', { name: 'Export as ONNX' }).click();
    await expect(detail.getByTestId('export-done')).toContainText(onnxDest);
    expect(readdirSync(onnxDest).sort()).toEqual(['model.onnx', 'simlens-onnx.json']);
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }

  // Delete asks first; "Keep" keeps it, "Delete" removes it.
  await detail.getByRole('button', { name: 'Delete this version…' }).click();
  await expect(detail.getByRole('alert')).toContainText('Delete version #');
  await detail.getByRole('button', { name: 'Keep' }).click();
  await expect(row).toHaveCount(1);
  await detail.getByRole('button', { name: 'Delete this version…' }).click();
  await detail.getByRole('button', { name: 'Delete', exact: true }).click();
  await expect(row).toHaveCount(0);
  await expect(page.getByTestId('version-detail')).toHaveCount(0);
});

test('cancels a running training job', async ({ page }) => {
  test.setTimeout(120_000);
  await openModels(page);
  await fillTiny(page, 200);
  const before = await page.getByTestId('version-row').count();
  await page.getByRole('button', { name: 'Start training' }).click();
  const status = page.getByTestId('train-status');
  await expect(status.locator('.badge')).toHaveText('running', { timeout: 30_000 });
  await expect(status).toContainText(/epoch 1\/200/, { timeout: 60_000 });
  await page.getByTestId('cancel-train').click();
  await expect(status.locator('.badge')).toHaveText('cancelled', { timeout: 30_000 });
  await expect(page.getByRole('button', { name: 'Start training' })).toBeEnabled();
  await expect(page.getByTestId('version-row')).toHaveCount(before);
});
