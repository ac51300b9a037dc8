// The loop of issue 11 end to end, in Chromium against browser mode on a workspace of its own:
// add the decoy demo from the Datasets view, paint a garment mask on both images of a train pair
// in the review view, "Retrain with focus" from there for one epoch, and open the new version in
// the compare view with both versions' maps. What is stored (the new version's parent, loss and
// mask snapshot) is read back through the API.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test, type Locator, type Page } from '@playwright/test';
import { startServer, type TestServer } from './server';

test.use({ viewport: { width: 1280, height: 900 } });
test.describe.configure({ timeout: 420_000 });

const SHOTS = join(__dirname, '../../test-results/screenshots');
const PAINTER = 'e2e retrainer';
const SIDE = 28;

let server: TestServer;
test.beforeAll(async () => {
  test.setTimeout(180_000);
  server = await startServer();
});
test.afterAll(async () => {
  await server?.stop();
});

interface Job {
  id: number;
  kind: string;
  status: string;
}
interface Version {
  id: number;
  name: string;
  parentId: number | null;
  config: { retrain?: { parentId: number; lossUsed: string; maps: string; masks: { count: number; authors: { author: string }[] } } };
}

/** Stops the background map and faithfulness jobs (first start's and the decoy demo's): on two shared cores they would hold the engine; the maps needed here come on demand. */
async function cancelBackgroundJobs(): Promise<void> {
  for (const job of await server.call<Job[]>('jobs.list', {}))
    if (['explain', 'faithfulness'].includes(job.kind) && ['queued', 'running'].includes(job.status))
      await server.call('jobs.cancel', { id: job.id });
}

const maskLayer = (page: Page, side: 'a' | 'b') => page.getByTestId(`stack-${side}-factual`).getByTestId('mask-layer');

/** A brush stroke across the middle of a 28 x 28 image (where every garment is). */
async function strokeAcross(page: Page, layer: Locator): Promise<void> {
  const box = (await layer.boundingBox())!;
  const scale = Math.min(box.width, box.height) / SIDE;
  const at = (x: number, y: number) => ({
    x: box.x + box.width / 2 + (x - SIDE / 2) * scale,
    y: box.y + box.height / 2 + (y - SIDE / 2) * scale,
  });
  const [from, to] = [at(8, 14), at(20, 14)];
  await page.mouse.move(from.x, from.y);
  await page.mouse.down();
  await page.mouse.move(to.x, to.y, { steps: 12 });
  await page.mouse.up();
  await expect(layer).not.toHaveAttribute('data-area', '0');
  await expect(layer).toHaveAttribute('data-saving', '0');
}

test('decoy demo: paint in review, retrain with focus for one epoch, compare the two versions', async ({ page }) => {
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(err.message));
  page.on('console', (msg) => msg.type() === 'error' && problems.push(msg.text()));
  await cancelBackgroundJobs();
  await server.call('review.setReviewer', { name: PAINTER });

  // 1. the decoy demo, from the Datasets view
  await page.goto(server.url);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Datasets' }).click();
  await page.getByTestId('add-decoy-demo').click();
  await expect(page.getByTestId('dataset-item').filter({ hasText: 'Fashion-MNIST with decoys' })).toBeVisible({ timeout: 120_000 });
  await expect(page.getByTestId('add-decoy-demo')).toBeEnabled({ timeout: 120_000 });
  await cancelBackgroundJobs();
  const decoy = (await server.call<Version[]>('models.list', {})).find((m) => m.name.startsWith('Decoy model'))!;
  expect(decoy).toBeDefined();

  // 2. its train pairs in the review view; painting on (d)
  await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Review' }).click();
  const images = page.getByTestId('pair-images');
  await page.locator('select[name="review-model"]').selectOption(String(decoy.id));
  await page.locator('select[name="review-split"]').selectOption('train');
  await expect(images).toHaveAttribute('data-drawn-pair', /\d+/, { timeout: 120_000 });
  await page.keyboard.press('d');
  await expect(page.getByTestId('mask-toolbar')).toHaveAttribute('data-author-state', 'set');
  for (const side of ['a', 'b'] as const) await expect(maskLayer(page, side)).toHaveAttribute('data-status', 'ready');
  const imageIds = await Promise.all(
    (['a', 'b'] as const).map(async (s) => Number(await maskLayer(page, s).getAttribute('data-image-id'))),
  );

  // 3. a garment mask on both images
  for (const side of ['a', 'b'] as const) await strokeAcross(page, maskLayer(page, side));
  for (const id of imageIds)
    expect(await server.call<{ area: number } | null>('masks.get', { imageId: id, author: PAINTER })).not.toBeNull();

  // 4. retrain with focus, one epoch, from the review view
  await page.getByTestId('retrain-open').click();
  const form = page.getByTestId('retrain-form');
  await expect(form).toBeVisible();
  await expect(page.getByTestId('retrain-coverage')).toContainText(`${new Set(imageIds).size}`);
  await form.locator('input[name="retrain-epochs"]').fill('1');
  await page.getByTestId('retrain-start').click();
  const status = page.getByTestId('retrain-status');
  await expect(status).toContainText('Done: version #', { timeout: 240_000 });
  const child = (await server.call<Version[]>('models.list', {})).find((m) => m.parentId === decoy.id)!;
  expect(child.config.retrain).toMatchObject({ parentId: decoy.id, lossUsed: 'energy', maps: 'both' });
  expect(child.config.retrain!.masks.count).toBe(new Set(imageIds).size);
  expect(child.config.retrain!.masks.authors.map((a) => a.author)).toEqual([PAINTER]);
  const snapshot = await server.call<{ rows: { imageId: number }[] }>('models.maskSnapshot', { id: child.id });
  expect(snapshot.rows.map((r) => r.imageId).sort()).toEqual([...new Set(imageIds)].sort());

  // 5. the compare view: both versions, and a pair's maps from each
  await page.getByTestId('retrain-compare').click();
  const result = page.getByTestId('compare-result');
  await expect(result).toBeVisible({ timeout: 240_000 });
  await expect(result).toContainText(`#${decoy.id}`);
  await expect(result).toContainText(`#${child.id}`);
  const pair = page.getByTestId('compare-pair');
  await expect(pair).toBeVisible({ timeout: 120_000 });
  for (const side of ['a', 'b'])
    for (const image of ['a', 'b'])
      await expect(page.getByTestId(`compare-map-${side}-${image}`)).toHaveAttribute('data-state', /ready|no-evidence/, {
        timeout: 120_000,
      });
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, 'compare-decoy.png'), fullPage: true });
  expect(problems).toEqual([]);
});
