// The explanation view against browser mode: open a pair from the pairs browser, see
// factual and counterfactual overlays on BOTH images, switch method (keys and buttons),
// colormap and opacity, move to the next pair, see "not defined" for a method without
// a counterfactual, and run the faithfulness metrics and the sanity check.
import { expect, test, type APIRequestContext, type Locator, type Page } from '@playwright/test';
import { appOrigin, appToken, appUrl, DEMO_NAME } from './env';
import { maxDiff, rgbOfDataUrl, storedImage, storedOverlay } from './pixels';

async function call<T>(request: APIRequestContext, method: string, args: Record<string, unknown>): Promise<T> {
  const res = await request.post(`${appOrigin()}/api/${method}`, { headers: { Authorization: `Bearer ${appToken()}` }, data: args });
  const body = (await res.json()) as { ok: boolean; value?: T; error?: { message: string } };
  if (!body.ok) throw new Error(`${method}: ${body.error?.message}`);
  return body.value as T;
}

/** A trained model on the demo pairs: the newest one, or a 1-epoch small CNN trained now through the API. */
async function ensureModel(request: APIRequestContext): Promise<number> {
  const datasets = await call<{ id: number; name: string }[]>(request, 'datasets.list', {});
  const demo = datasets.find((d) => d.name === DEMO_NAME);
  if (!demo) throw new Error('no demo dataset');
  const models = await call<{ id: number; datasetId: number; weightsPath: string | null }[]>(request, 'models.list', {
    datasetId: demo.id,
  });
  const have = models.find((m) => m.weightsPath);
  if (have) return have.id;
  const { jobId } = await call<{ jobId: number }>(request, 'models.train', {
    datasetId: demo.id,
    arch: 'small',
    epochs: 1,
    batchSize: 32,
    embeddingSize: 32,
    seed: 1,
    name: 'e2e explain model',
  });
  for (let i = 0; i < 240; i++) {
    const job = await call<{ status: string; error: string | null; result: { modelId?: number } | null }>(request, 'jobs.get', {
      id: jobId,
    });
    if (job.status === 'done' && job.result?.modelId) return job.result.modelId;
    if (['failed', 'cancelled', 'interrupted'].includes(job.status)) throw new Error(`training ${job.status}: ${job.error}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error('training did not finish in 120 s');
}

/** naturalWidth of an <img> (0 until decoded). (Main-side tsconfig: no DOM types.) */
const naturalWidth = (img: Locator) => img.evaluate((el) => (el as unknown as { complete: boolean; naturalWidth: number }).naturalWidth);

/** Each image shows at least one rendered overlay (Grad-CAM-like maps: factual = ReLU(raw), counterfactual = ReLU(-raw), so both are zero only for an all-zero raw map). */
async function expectOverlaysOnBothImages(page: Page, alt: RegExp): Promise<void> {
  for (const side of ['a', 'b']) {
    const col = page.locator(`[data-testid="overlay-grid"] [data-side="${side}"]`);
    await expect(col.locator('[data-state="loading"]')).toHaveCount(0, { timeout: 60_000 });
    const imgs = col.getByTestId('overlay-img');
    await expect(imgs.first()).toBeVisible();
    await expect(imgs.first()).toHaveAttribute('alt', alt);
    await expect.poll(() => naturalWidth(imgs.first())).toBeGreaterThan(0);
  }
}

/**
 * Every panel of the pair shows what is stored: a ready overlay is the stored map coloured with
 * `colormap` (pixel for pixel, not the bare image); a map without evidence is said to be one.
 */
async function expectStoredOverlays(page: Page, request: APIRequestContext, pairId: number, method: string, colormap: 'jet' | 'viridis') {
  const e = await call<{ layer: string; a: Summaries; b: Summaries }>(request, 'explain.pair', { pairId, modelId, method });
  let ready = 0;
  for (const image of ['a', 'b'] as const)
    for (const kind of ['factual', 'counterfactual'] as const) {
      const panel = page.getByTestId(`overlay-${image}-${kind}`);
      const noEvidence = e[image][kind]!.noEvidence;
      await expect(panel).toHaveAttribute('data-state', noEvidence ? 'no-evidence' : 'ready');
      if (noEvidence) continue;
      ready++;
      const shown = await rgbOfDataUrl((await panel.getByTestId('overlay-img').getAttribute('src'))!);
      const expected = storedOverlay({ pairId, modelId, method, layer: e.layer, image, kind }, colormap);
      expect(maxDiff(shown, expected), `${image} ${kind}: the stored map in ${colormap}`).toBeLessThanOrEqual(1);
      expect(maxDiff(shown, storedImage(pairId, image)), `${image} ${kind}: not the bare image`).toBeGreaterThan(50);
    }
  expect(ready, 'panels with a rendered overlay').toBeGreaterThan(0);
}
type Summaries = { factual: { noEvidence: boolean }; counterfactual: { noEvidence: boolean } | null };
const pairIdOf = (pairText: string) => Number(pairText.replace(/\D/g, ''));

let modelId = 0;
test.beforeAll(async ({ request }) => {
  test.setTimeout(180_000);
  modelId = await ensureModel(request);
});

async function openFirstPair(page: Page): Promise<string> {
  await page.goto(appUrl());
  await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Pairs' }).click();
  await page.getByLabel('Dataset').selectOption({ label: DEMO_NAME });
  await page.getByLabel('Split').selectOption('test');
  const row = page.getByTestId('pair-row').first();
  await expect(row).toHaveAttribute('data-split', 'test');
  const pairText = ((await row.locator('td').first().textContent()) ?? '').trim();
  await row.getByTestId('explain-pair').click();
  await expect(page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Explanations' })).toHaveAttribute(
    'aria-current',
    'page',
  );
  await expect(page.getByTestId('explain-pair')).toContainText(`Pair ${pairText}`);
  await expect(page.locator('select[name="model"]')).toHaveValue(String(modelId));
  // the version opens on its default method (its most faithful one once measured, else Grad-CAM): Grad-CAM is key 1
  await expect(page.locator('button[data-method].active')).toHaveCount(1);
  await page.keyboard.press('1');
  return pairText;
}

test('opens a pair from the pairs browser and renders overlays on both images', async ({ page, request }) => {
  // No console errors (e.g. CSP violations from the overlay/opacity styling).
  const problems: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' || /Content.Security.Policy/i.test(msg.text())) problems.push(msg.text());
  });
  page.on('pageerror', (err) => problems.push(err.message));
  const pairId = pairIdOf(await openFirstPair(page));
  await expect(page.locator('button[data-method="gradcam"]')).toHaveAttribute('aria-pressed', 'true');
  await expectOverlaysOnBothImages(page, /Grad-CAM$/);
  // the score and the maps are the stored ones (the API's), not just well formatted
  const e = await call<{ score: number }>(request, 'explain.pair', { pairId, modelId, method: 'gradcam' });
  await expect(page.getByTestId('explain-score')).toContainText(`score s = ${e.score.toFixed(4)}`);
  await expectStoredOverlays(page, request, pairId, 'gradcam', 'jet');
  // Both directions are shown on both images: 4 panels, each an overlay or "no evidence".
  const panels = page.locator('[data-testid^="overlay-"][data-state]');
  await expect(panels).toHaveCount(4);
  await expect(
    page.locator('[data-testid="overlay-grid"] [data-state="ready"], [data-testid="overlay-grid"] [data-state="no-evidence"]'),
  ).toHaveCount(4);
  // The target layer is the model's default conv layer.
  await expect(page.locator('select[name="layer"] option:checked')).toContainText('(default)');
  await expect(page.getByRole('img', { name: 'jet colour scale from 0 to 1' })).toBeVisible();
  expect(problems).toEqual([]);
});

test('switches method, colormap, opacity, shown maps and pair with the keyboard and controls', async ({ page, request }) => {
  // Six maps computed on demand, each queued behind at most one task per worker of the demo's
  // first-start jobs (test-pair Grad-CAM, faithfulness): seconds each on two cores.
  test.setTimeout(180_000);
  const first = await openFirstPair(page);
  await expectOverlaysOnBothImages(page, /Grad-CAM$/);
  const img = page.locator('[data-testid="overlay-grid"] [data-side="a"]').getByTestId('overlay-img').first();
  const jetSrc = await img.getAttribute('src');

  // Colormap: new overlays, still rendered.
  await page.locator('select[name="colormap"]').selectOption('viridis');
  await expect(img).not.toHaveAttribute('src', jetSrc ?? '');
  await expectOverlaysOnBothImages(page, /Grad-CAM$/);
  await expectStoredOverlays(page, request, pairIdOf(first), 'gradcam', 'viridis');

  // Key 3 = XGrad-CAM; a button = HiResCAM.
  await page.locator('body').click({ position: { x: 5, y: 200 } });
  await page.keyboard.press('3');
  await expect(page.locator('button[data-method="xgradcam"]')).toHaveAttribute('aria-pressed', 'true');
  await expectOverlaysOnBothImages(page, /XGrad-CAM$/);
  await page.locator('button[data-method="hirescam"]').click();
  await expect(page.locator('button[data-method="hirescam"]')).toHaveAttribute('aria-pressed', 'true');
  await expectOverlaysOnBothImages(page, /HiResCAM$/);

  // Opacity: ] raises it by 10 points, [ lowers it; the overlay follows.
  await page.locator('body').click({ position: { x: 5, y: 200 } });
  await expect(page.getByText('Opacity 50%')).toBeVisible();
  await page.keyboard.press(']');
  await expect(page.getByText('Opacity 60%')).toBeVisible();
  await expect(img).toHaveCSS('opacity', '0.6');
  await page.keyboard.press('[');
  await page.keyboard.press('[');
  await expect(page.getByText('Opacity 40%')).toBeVisible();
  await expect(img).toHaveCSS('opacity', '0.4');

  // f / c / b: factual only, counterfactual only, both.
  await page.keyboard.press('f');
  await expect(page.locator('[data-testid^="overlay-"][data-state]')).toHaveCount(2);
  await expect(page.getByTestId('overlay-a-factual')).toBeVisible();
  await page.keyboard.press('c');
  await expect(page.getByTestId('overlay-b-counterfactual')).toBeVisible();
  await expect(page.getByTestId('overlay-b-factual')).toHaveCount(0);
  await page.keyboard.press('b');
  await expect(page.locator('[data-testid^="overlay-"][data-state]')).toHaveCount(4);

  // → next pair (same split), ← back.
  await page.keyboard.press('ArrowRight');
  await expect(page.getByTestId('explain-pair')).not.toContainText(`Pair ${first}`);
  await expect(page.getByTestId('explain-pair')).toContainText('test');
  await expectOverlaysOnBothImages(page, /HiResCAM$/);
  await page.keyboard.press('ArrowLeft');
  await expect(page.getByTestId('explain-pair')).toContainText(`Pair ${first}`);
});

test('says "not defined" where a method has no counterfactual', async ({ page }) => {
  await openFirstPair(page);
  await page.locator('button[data-method="rise"]').click();
  await expect(page.locator('button[data-method="rise"]')).toHaveAttribute('aria-pressed', 'true');
  await expect(page.getByTestId('overlay-a-counterfactual')).toHaveAttribute('data-state', 'undefined', { timeout: 60_000 });
  await expect(page.getByTestId('overlay-b-counterfactual')).toHaveAttribute('data-state', 'undefined');
  await expect(page.getByTestId('overlay-a-counterfactual')).toContainText('Not defined for this method');
  await expect(page.getByTestId('overlay-a-factual')).toHaveAttribute('data-state', /ready|no-evidence/);
  // RISE works in input space: no layer to choose.
  await expect(page.locator('select[name="layer"]')).toBeDisabled();
});

test('measures deletion / insertion for the pair, explains a split as a job and runs the sanity check', async ({ page, request }) => {
  test.setTimeout(150_000);
  await openFirstPair(page);
  await expectOverlaysOnBothImages(page, /Grad-CAM$/);

  await page.getByTestId('metrics-pair').click();
  const result = page.getByTestId('metrics-result');
  await expect(result).toBeVisible({ timeout: 90_000 });
  await expect(result).toContainText('1 pair');
  // the figures are those of the metrics job that ran for this pair
  const job = (
    await call<
      {
        kind: string;
        status: string;
        params: { pairs: number; method: string };
        result: Record<'deletion' | 'insertion', Record<string, number>>;
      }[]
    >(request, 'jobs.list', { limit: 20 })
  ).find((j) => j.kind === 'metrics' && j.status === 'done')!;
  // the newest metrics job: one pair (the one shown), Grad-CAM
  expect(job.params).toMatchObject({ pairs: 1, method: 'gradcam' });
  for (const mode of ['deletion', 'insertion'] as const) {
    const cells = result.locator(`tr[data-mode="${mode}"] td.num`);
    await expect(cells.nth(0)).toHaveText(job.result[mode].map.toFixed(3));
    await expect(cells.nth(1)).toHaveText(job.result[mode].random.toFixed(3));
    await expect(cells.nth(2)).toHaveText(job.result[mode].centre.toFixed(3));
  }
  await expect(result.getByRole('img', { name: 'Deletion' })).toBeVisible();
  await expect(result.getByRole('img', { name: 'Insertion' })).toBeVisible();

  // Batch explain a few test pairs as a job.
  await page.locator('select[name="batch-split"]').selectOption('test');
  await page.locator('input[name="batch-limit"]').fill('5');
  await page.getByTestId('run-batch').click();
  await expect(page.getByTestId('batch-status').locator('.badge')).toHaveText('done', { timeout: 90_000 });
  await expect(page.getByTestId('batch-status')).toContainText(/explained, \d+ already stored/);

  await page.getByTestId('run-sanity').click();
  const sanity = page.getByTestId('sanity-result');
  await expect(sanity).toBeVisible({ timeout: 90_000 });
  await expect(sanity.locator('tbody tr').first()).toBeVisible();
  expect(await sanity.locator('tbody tr').count()).toBeGreaterThan(1);
  await expect(sanity.getByRole('img', { name: 'Rank correlation with the original maps' })).toBeVisible();
});
