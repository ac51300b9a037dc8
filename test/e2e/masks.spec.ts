// Painting masks in the explanation view against browser mode (issue 10, "Must show"): paint a
// mask with two strokes, undo one, reload and find it as left; seed from the heatmap and edit;
// export PNG and COCO and check their content; wipe; import back; identical. Strokes are real
// pointer input on the mask layer; what is stored is read back through the API.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type APIRequestContext, type Locator, type Page } from '@playwright/test';
import sharp from 'sharp';
import { prepareMap } from '../../src/shared/mask-agreement';
import { countsArea, countsBbox, decodeMaskString, stringToCounts } from '../../src/shared/mask-rle';
import { appOrigin, appToken, appUrl, DEMO_NAME } from './env';

async function call<T>(request: APIRequestContext, method: string, args: Record<string, unknown>): Promise<T> {
  const res = await request.post(`${appOrigin()}/api/${method}`, { headers: { Authorization: `Bearer ${appToken()}` }, data: args });
  const body = (await res.json()) as { ok: boolean; value?: T; error?: { message: string } };
  if (!body.ok) throw new Error(`${method}: ${body.error?.message}`);
  return body.value as T;
}

interface Mask {
  id: number;
  imageId: number;
  author: string;
  size: [number, number];
  counts: string;
  source: string;
  area: number;
  bbox: [number, number, number, number];
}

const AUTHOR = 'e2e painter';
let modelId = 0;
let datasetId = 0;

/** The demo's newest trained model (a 1-epoch small CNN trained now when there is none). */
test.beforeAll(async ({ request }) => {
  test.setTimeout(180_000);
  const demo = (await call<{ id: number; name: string }[]>(request, 'datasets.list', {})).find((d) => d.name === DEMO_NAME);
  if (!demo) throw new Error('no demo dataset');
  datasetId = demo.id;
  const have = (await call<{ id: number; weightsPath: string | null }[]>(request, 'models.list', { datasetId })).find((m) => m.weightsPath);
  if (have) {
    modelId = have.id;
    return;
  }
  const { jobId } = await call<{ jobId: number }>(request, 'models.train', {
    datasetId,
    arch: 'small',
    epochs: 1,
    batchSize: 32,
    embeddingSize: 32,
    seed: 1,
    name: 'e2e masks model',
  });
  for (let i = 0; i < 240 && !modelId; i++) {
    const job = await call<{ status: string; error: string | null; result: { modelId?: number } | null }>(request, 'jobs.get', {
      id: jobId,
    });
    if (job.status === 'done' && job.result?.modelId) modelId = job.result.modelId;
    else if (['failed', 'cancelled', 'interrupted'].includes(job.status)) throw new Error(`training ${job.status}: ${job.error}`);
    else await new Promise((r) => setTimeout(r, 500));
  }
});

/** Opens the first test pair in the explanation view with Grad-CAM, painting on; returns image A's layer. */
async function openPainting(page: Page): Promise<Locator> {
  await page.goto(appUrl());
  await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Pairs' }).click();
  await page.getByLabel('Dataset').selectOption({ label: DEMO_NAME });
  await page.getByLabel('Split').selectOption('test');
  const row = page.getByTestId('pair-row').first();
  await expect(row).toHaveAttribute('data-split', 'test');
  await row.getByTestId('explain-pair').click();
  await expect(page.locator('select[name="model"]')).toHaveValue(String(modelId));
  await page.locator('button[data-method="gradcam"]').click();
  await expect(page.getByTestId('overlay-a-factual')).toHaveAttribute('data-state', /ready|no-evidence/, { timeout: 60_000 });
  await page.getByTestId('paint-toggle').click();
  const toolbar = page.getByTestId('mask-toolbar');
  await expect(toolbar).not.toHaveAttribute('data-author-state', 'loading');
  if ((await toolbar.getAttribute('data-author-state')) === 'none') {
    const name = page.getByLabel('Your name');
    await name.fill(AUTHOR);
    await page.getByRole('button', { name: 'Start painting' }).click();
  }
  const layer = page.getByTestId('paint-a').getByTestId('mask-layer');
  await expect(layer).toHaveAttribute('data-status', 'ready');
  return layer;
}

/** A drag with the primary button between two points given as fractions of the layer's box. */
async function drag(page: Page, layer: Locator, from: [number, number], to: [number, number], steps = 12): Promise<void> {
  const box = (await layer.boundingBox())!;
  await page.mouse.move(box.x + from[0] * box.width, box.y + from[1] * box.height);
  await page.mouse.down();
  await page.mouse.move(box.x + to[0] * box.width, box.y + to[1] * box.height, { steps });
  await page.mouse.up();
}

const area = async (layer: Locator) => Number(await layer.getAttribute('data-area'));
/** Pixels drawn on the layer's canvas (alpha > 0): what the expert sees. */
const canvasArea = (layer: Locator) =>
  layer.locator('canvas').evaluate((c) => {
    const el = c as unknown as {
      width: number;
      height: number;
      getContext(k: '2d'): { getImageData(...a: number[]): { data: Uint8ClampedArray } };
    };
    const d = el.getContext('2d').getImageData(0, 0, el.width, el.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
    return n;
  });
/** Waits until the layer has no save in flight and its stored row is the newest. */
async function settled(layer: Locator): Promise<void> {
  await expect(layer).toHaveAttribute('data-saving', '0');
}

test('paints, undoes, reloads, seeds from the heatmap, exports PNG and COCO, wipes and imports back identically', async ({
  page,
  request,
}) => {
  test.setTimeout(180_000);
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(err.message));
  page.on('console', (msg) => msg.type() === 'error' && problems.push(msg.text()));

  let layer = await openPainting(page);
  const imageId = Number(await layer.getAttribute('data-image-id'));
  const get = () => call<Mask | null>(request, 'masks.get', { imageId, author: AUTHOR });
  if ((await area(layer)) > 0) {
    await page.getByTestId('mask-clear').click();
    await expect(layer).toHaveAttribute('data-area', '0');
    await settled(layer);
  }
  const rowsBefore = (await call<Mask[]>(request, 'masks.history', { imageId, author: AUTHOR })).length;
  // an empty mask has no agreement to show (not "EPG 0% · miss")
  await expect(page.getByTestId('paint-a').getByTestId('mask-agreement-factual')).toContainText('no mask yet');
  await expect(page.getByTestId('paint-a').getByTestId('mask-agreement-factual')).not.toContainText('EPG');

  // ---- two strokes, each saved when it ends (no save button), timed in the page ----
  // (page code as strings: the e2e tsconfig has no DOM types)
  await page.evaluate(`(() => {
    window.__up = [];
    window.__saved = [];
    window.addEventListener('pointerup', () => window.__up.push(performance.now()), true);
    const el = document.querySelector('[data-testid="paint-a"] [data-testid="mask-layer"]');
    new MutationObserver(() => window.__saved.push(performance.now())).observe(el, { attributeFilter: ['data-saved-id'] });
  })()`);
  await drag(page, layer, [0.2, 0.3], [0.8, 0.3]);
  await expect(layer).toHaveAttribute('data-undo', '1');
  await settled(layer);
  const first = await area(layer);
  expect(first).toBeGreaterThan(20);
  expect((await get())?.area).toBe(first);
  await drag(page, layer, [0.5, 0.45], [0.5, 0.9]);
  await expect(layer).toHaveAttribute('data-undo', '2');
  await settled(layer);
  const both = await area(layer);
  expect(both).toBeGreaterThan(first);
  expect((await get())?.area).toBe(both);
  // from the button's release to the stored row's id on the layer (the save's answer)
  const times = (await page.evaluate('window.__up.map((t, i) => window.__saved[i] - t)')) as number[];
  expect(times).toHaveLength(2);
  // the issue's ~300 ms; SIMLENS_E2E_SAVE_MS raises it on a machine too loaded to answer in time
  for (const ms of times) expect(ms).toBeLessThan(Number(process.env.SIMLENS_E2E_SAVE_MS) || 300);

  // the live agreement of the shown (factual) map with the mask, next to the map
  const agreement = page.getByTestId('paint-a').getByTestId('mask-agreement-factual');
  await expect(agreement).toContainText('EPG');
  const epg = Number(await agreement.getAttribute('data-epg'));
  expect(epg).toBeGreaterThanOrEqual(0);
  expect(epg).toBeLessThanOrEqual(1);

  // ---- undo one (Ctrl+Z), reload, and find it as left ----
  await page.keyboard.press('Control+z');
  await expect(layer).toHaveAttribute('data-area', String(first));
  await settled(layer);
  const afterUndo = (await get())!;
  expect(afterUndo.area).toBe(first);
  expect((await call<Mask[]>(request, 'masks.history', { imageId, author: AUTHOR })).length).toBe(rowsBefore + 3);
  // redo and undo again by keys
  await page.keyboard.press('Control+Shift+z');
  await expect(layer).toHaveAttribute('data-area', String(both));
  await page.keyboard.press('Control+z');
  await expect(layer).toHaveAttribute('data-area', String(first));
  await settled(layer);

  await page.reload();
  layer = await openPainting(page);
  await expect(layer).toHaveAttribute('data-area', String(first));
  expect(await canvasArea(layer)).toBe(first);
  expect((await get())!.counts).toBe(afterUndo.counts);

  // ---- seed from the heatmap (threshold 0.5), then edit with the eraser ----
  const pairId = Number(((await page.getByTestId('explain-pair').locator('strong').textContent()) ?? '').replace(/\D/g, ''));
  const maps = await call<{ mapHeight: number; mapWidth: number; a: { imageId: number; imageSize: [number, number]; factual: number[] } }>(
    request,
    'explain.maps',
    { pairId, modelId, method: 'gradcam' },
  );
  expect(maps.a.imageId).toBe(imageId);
  const prepared = prepareMap({ data: maps.a.factual, h: maps.mapHeight, w: maps.mapWidth }, ...maps.a.imageSize);
  const max = prepared.values.reduce((m, v) => Math.max(m, v), 0);
  const expectedSeed = prepared.values.filter((v) => v >= 0.5 * max).length;
  // the demo model and data are fixed: this map has evidence, so the seed below is never empty
  expect(max).toBeGreaterThan(0);
  await page.getByTestId('mask-seed').click();
  await expect(layer).toHaveAttribute('data-area', String(expectedSeed));
  await settled(layer);
  expect((await get())!).toMatchObject({ area: expectedSeed, source: 'seeded' });
  const iouSeed = Number(await agreement.getAttribute('data-iou'));
  expect(iouSeed).toBeCloseTo(1, 6); // the seed is the map's own >= 0.5 max region: IoU 1
  await page.keyboard.press('e');
  await page.keyboard.press(']');
  await page.keyboard.press(']');
  // across the map's peak, which the seed holds
  const [H, W] = maps.a.imageSize;
  const py = (Math.floor(prepared.peak / W) + 0.5) / H;
  await drag(page, layer, [0.02, py], [0.98, py], 20);
  await settled(layer);
  const edited = await area(layer);
  expect(edited).toBeLessThan(expectedSeed);
  const saved = (await get())!;
  expect(saved).toMatchObject({ area: edited, source: 'painted' });
  expect(Number(await agreement.getAttribute('data-iou'))).toBeLessThan(1);
  // nothing is empty for the exchange below
  if (edited === 0) {
    await page.keyboard.press('Control+z');
    await settled(layer);
  }
  const kept = (await get())!;
  expect(kept.area).toBeGreaterThan(0);

  // ---- export PNG and COCO, check their content ----
  const dir = mkdtempSync(join(tmpdir(), 'simlens-e2e-masks-'));
  try {
    const png = await call<{ path: string; masks: number }>(request, 'masks.export', {
      datasetId,
      format: 'png',
      out: join(dir, 'png'),
      author: AUTHOR,
    });
    expect(png.masks).toBeGreaterThanOrEqual(1);
    const file = readdirSync(png.path).find((f) => f.startsWith(`${imageId}_`) && f.endsWith('.png'));
    expect(file).toBeTruthy();
    // one grey channel in the file (sharp's raw output would expand grey to sRGB: take channel 0)
    const meta = await sharp(join(png.path, file!)).metadata();
    expect([meta.height, meta.width, meta.channels]).toEqual([...kept.size, 1]);
    const { data } = await sharp(join(png.path, file!)).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
    expect([...new Set(data)].sort((a, b) => a - b)).toEqual([0, 255]);
    const want = decodeMaskString(kept.counts, ...kept.size);
    expect(Array.from(data, (v) => (v ? 1 : 0))).toEqual(Array.from(want));

    const coco = await call<{ path: string }>(request, 'masks.export', {
      datasetId,
      format: 'coco',
      out: join(dir, 'masks.json'),
      author: AUTHOR,
    });
    const json = JSON.parse(readFileSync(coco.path, 'utf8')) as {
      images: { id: number; file_name: string; width: number; height: number }[];
      annotations: { image_id: number; segmentation: { size: number[]; counts: string }; area: number; bbox: number[]; iscrowd: number }[];
    };
    const ann = json.annotations.filter((a) => a.image_id === imageId);
    expect(ann).toHaveLength(1);
    expect(ann[0]).toMatchObject({ segmentation: { size: kept.size, counts: kept.counts }, area: kept.area, bbox: kept.bbox, iscrowd: 1 });
    const counts = stringToCounts(ann[0].segmentation.counts);
    expect(countsArea(counts)).toBe(kept.area);
    expect(countsBbox(counts, ...kept.size)).toEqual(kept.bbox);
    expect(json.images.find((i) => i.id === imageId)).toMatchObject({ width: kept.size[1], height: kept.size[0] });

    // ---- wipe (Clear, saved as an empty mask), import the PNG back: identical ----
    await page.getByTestId('mask-clear').click();
    await expect(layer).toHaveAttribute('data-area', '0');
    await settled(layer);
    expect((await get())!.area).toBe(0);
    const fromPng = await call<{ imported: number; errors: number }>(request, 'masks.import', {
      datasetId,
      path: png.path,
      author: AUTHOR,
    });
    expect(fromPng.errors).toBe(0);
    expect(fromPng.imported).toBeGreaterThanOrEqual(1);
    expect((await get())!).toMatchObject({ counts: kept.counts, area: kept.area, bbox: kept.bbox, source: 'imported' });

    // ---- wipe again, import the COCO file back: identical, and shown so after a reload ----
    await page.reload();
    layer = await openPainting(page);
    await expect(layer).toHaveAttribute('data-area', String(kept.area));
    await page.getByTestId('mask-clear').click();
    await expect(layer).toHaveAttribute('data-area', '0');
    await settled(layer);
    const fromCoco = await call<{ imported: number; errors: number }>(request, 'masks.import', {
      datasetId,
      path: coco.path,
      author: AUTHOR,
    });
    expect(fromCoco.errors).toBe(0);
    expect((await get())!).toMatchObject({ counts: kept.counts, area: kept.area, bbox: kept.bbox });
    await page.reload();
    layer = await openPainting(page);
    await expect(layer).toHaveAttribute('data-area', String(kept.area));
    expect(await canvasArea(layer)).toBe(kept.area);
    await page.screenshot({ path: 'test-results/masks-explain.png', fullPage: false });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  expect(problems).toEqual([]);
});
