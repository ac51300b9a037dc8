// The training form's pretrained-backbone fields (a refused folder keeps what was typed and
// shows main's message; a real training from a tiny tfjs LayersModel folder written here) and
// Score-CAM's channel counts and cap in the explanation view.
// SIMLENS_UI_SHOTS=DIR also saves screenshots of the form and of the Score-CAM line there.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { expect, test, type APIRequestContext, type Page } from '@playwright/test';
import { saveLayersModel } from '../../src/main/engine/runtime/model-io';
import type { FrozenFeaturesDto } from '../../src/shared/dto';
import { describeFrozenFeatures } from '../../src/shared/inference';
import { appOrigin, appToken, appUrl, DEMO_NAME } from './env';

const SHOTS = process.env.SIMLENS_UI_SHOTS;
async function shot(page: Page, name: string): Promise<void> {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false });
}

async function call<T>(request: APIRequestContext, method: string, args: Record<string, unknown>): Promise<T> {
  const res = await request.post(`${appOrigin()}/api/${method}`, { headers: { Authorization: `Bearer ${appToken()}` }, data: args });
  const body = (await res.json()) as { ok: boolean; value?: T; error?: { message: string } };
  if (!body.ok) throw new Error(`${method}: ${body.error?.message}`);
  return body.value as T;
}

/** A small CNN trained on the demo pairs: the newest such version, or one trained now (1 epoch). */
async function ensureSmallModel(request: APIRequestContext): Promise<number> {
  const demo = (await call<{ id: number; name: string }[]>(request, 'datasets.list', {})).find((d) => d.name === DEMO_NAME);
  if (!demo) throw new Error('no demo dataset');
  const models = await call<{ id: number; arch: string; weightsPath: string | null }[]>(request, 'models.list', { datasetId: demo.id });
  const have = models.find((m) => m.weightsPath && m.arch === 'small');
  if (have) return have.id;
  const { jobId } = await call<{ jobId: number }>(request, 'models.train', {
    datasetId: demo.id,
    arch: 'small',
    epochs: 1,
    batchSize: 32,
    embeddingSize: 32,
    seed: 1,
    name: 'e2e scorecam model',
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

/** A tiny "pretrained" CNN for 28×28 grey images (two conv-BN-ReLU blocks and a classifier top), saved as a tfjs LayersModel folder. */
async function tinyBackbone(dir: string): Promise<void> {
  const input = tf.input({ shape: [28, 28, 1], name: 'image' });
  let x = input as tf.SymbolicTensor;
  for (const b of [1, 2]) {
    x = tf.layers
      .conv2d({
        name: `b${b}_conv`,
        filters: 4,
        kernelSize: 3,
        strides: 2,
        padding: 'same',
        kernelInitializer: tf.initializers.heNormal({ seed: b }),
      })
      .apply(x) as tf.SymbolicTensor;
    x = tf.layers.batchNormalization({ name: `b${b}_bn` }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.activation({ name: `b${b}_relu`, activation: 'relu' }).apply(x) as tf.SymbolicTensor;
  }
  x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
  const out = tf.layers.dense({ name: 'classes', units: 10, activation: 'softmax' }).apply(x) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out });
  await saveLayersModel(model, dir);
  model.dispose();
}

async function openModels(page: Page): Promise<void> {
  await page.goto(appUrl());
  await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Models' }).click();
  await expect(page.getByRole('heading', { name: 'Train a model' })).toBeVisible();
  await page.locator('select[name="train-dataset"]').selectOption({ label: DEMO_NAME });
  await expect(page.locator('select[name="train-pairset"] option').first()).toHaveText(/pairs/);
}

let scratch = '';
test.beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'simlens-e2e-backbone-'));
});
test.afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

test("pretrained: the backbone fields appear; a folder without model.json shows main's error and keeps the inputs", async ({ page }) => {
  await openModels(page);
  const fields = page.getByTestId('backbone-fields');
  await expect(fields).toHaveCount(0);
  await page.locator('select[name="arch"]').selectOption('pretrained');
  await expect(fields).toBeVisible();
  await expect(fields.locator('select[name="preprocess"] option')).toHaveCount(4);
  await fields.locator('select[name="preprocess"]').selectOption('caffe');
  await expect(page.getByTestId('preprocess-hint')).toContainText('ResNet50');

  // The form's own checks first: no folder, a frozen-blocks value that is not a whole number >= -1.
  await fields.locator('input[name="frozen-blocks"]').fill('-3');
  await expect(fields).toContainText('A whole number from -1');
  await page.getByRole('button', { name: 'Start training' }).click();
  await expect(fields).toContainText('Enter the folder of a tfjs LayersModel');
  await expect(page.getByTestId('train-error')).toHaveCount(0);
  await shot(page, 'pretrained-form-invalid');

  // A folder that does not exist: main refuses the call; its message is shown and the inputs stay.
  const missing = join(scratch, 'no-such-backbone');
  await fields.locator('input[name="backbone-dir"]').fill(missing);
  await fields.locator('input[name="cut-layer"]').fill('b2_relu');
  await fields.locator('input[name="frozen-blocks"]').fill('1');
  await page.getByRole('button', { name: 'Start training' }).click();
  const error = page.getByTestId('train-error');
  await expect(error).toBeVisible();
  await expect(error).toContainText(missing);
  await expect(error).toContainText('model.json');
  await expect(page.locator('select[name="arch"]')).toHaveValue('pretrained');
  await expect(fields.locator('input[name="backbone-dir"]')).toHaveValue(missing);
  await expect(fields.locator('input[name="cut-layer"]')).toHaveValue('b2_relu');
  await expect(fields.locator('input[name="frozen-blocks"]')).toHaveValue('1');
  await expect(fields.locator('select[name="preprocess"]')).toHaveValue('caffe');
  await expect(page.getByTestId('train-status')).toHaveCount(0);
  await shot(page, 'pretrained-form-error');

  // Other architectures hide the fields (and keep them for later).
  await page.locator('select[name="arch"]').selectOption('small');
  await expect(fields).toHaveCount(0);
  await page.locator('select[name="arch"]').selectOption('pretrained');
  await expect(fields.locator('input[name="backbone-dir"]')).toHaveValue(missing);
});

test('pretrained: trains from a tiny LayersModel folder (1 epoch) and shows the backbone in the version', async ({ page, request }) => {
  test.setTimeout(120_000);
  const dir = join(scratch, 'tiny-backbone');
  await tinyBackbone(dir);
  await openModels(page);
  await page.locator('select[name="arch"]').selectOption('pretrained');
  const fields = page.getByTestId('backbone-fields');
  await fields.locator('input[name="backbone-dir"]').fill(dir);
  await fields.locator('input[name="frozen-blocks"]').fill('1');
  await fields.locator('select[name="preprocess"]').selectOption('tf');
  await page.locator('input[name="epochs"]').fill('1');
  await page.locator('input[name="batch"]').fill('32');
  await page.locator('input[name="embedding"]').fill('16');
  const name = `e2e pretrained ${Date.now()}`;
  await page.locator('input[name="model-name"]').fill(name);
  await page.getByRole('button', { name: 'Start training' }).click();
  const status = page.getByTestId('train-status');
  await expect(status.locator('.badge')).toHaveText('done', { timeout: 100_000 });
  await expect(status).toContainText(/Done: version #\d+/);
  const id = Number(/version #(\d+)/.exec((await status.textContent()) ?? '')![1]);
  const version = await call<{
    name: string;
    arch: string;
    metrics: { splits: { test: { auc: number } }; training: { frozenFeatures?: FrozenFeaturesDto } };
  }>(request, 'models.get', { id });
  expect(version).toMatchObject({ name, arch: 'pretrained' });
  // where the frozen block ran: ONNX Runtime up to its last layer (the app's engine is ORT here)
  const inference = await call<{ inference: { name: string } | null }>(request, 'app.info', {});
  const frozen = version.metrics.training.frozenFeatures;
  expect(frozen).toMatchObject(inference.inference?.name === 'ort' ? { used: true, boundary: 'b1_relu' } : { used: false });
  const row = page.getByTestId('version-row').filter({ hasText: name });
  await expect(row).toContainText('Pretrained backbone');
  await expect(row.getByTestId('version-auc')).toHaveText(version.metrics.splits.test.auc.toFixed(4));
  const detail = page.getByTestId('version-detail');
  await expect(detail.locator('.config')).toContainText(dir);
  await expect(detail.locator('.config')).toContainText('Preprocessing');
  const frozenRow = detail.locator('.config dt', { hasText: 'Frozen part' });
  await expect(frozenRow.locator('xpath=following-sibling::dd[1]')).toHaveText(describeFrozenFeatures(frozen!));
  await detail.locator('.config').scrollIntoViewIfNeeded();
  await shot(page, 'pretrained-version');
});

test('Score-CAM: the channels masked per image, and a cap that re-requests the map', async ({ page, request }) => {
  test.setTimeout(120_000);
  const modelId = await ensureSmallModel(request);
  await page.goto(appUrl());
  await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Explanations' }).click();
  await expect(page.getByTestId('explain-pair')).toBeVisible();
  await page.locator('select[name="model"]').selectOption(String(modelId));
  await expect(page.getByTestId('explain-score')).toContainText(/score s = \d\.\d{4}/);
  // Not for Grad-CAM.
  await expect(page.getByTestId('scorecam-channels')).toHaveCount(0);

  await page.locator('button[data-method="scorecam"]').click();
  const text = page.getByTestId('scorecam-channels-text');
  await expect(text).toHaveText(/^Score-CAM: (\d+|A \d+, B \d+) of \d+ channels \(cap 256[);]/, { timeout: 60_000 });
  await expect(page.locator('[data-testid="overlay-grid"] [data-state="loading"]')).toHaveCount(0, { timeout: 60_000 });
  // the counts are those of the stored map (the API's)
  const pairId = Number(((await page.getByTestId('explain-pair').locator('strong').textContent()) ?? '').replace(/\D/g, ''));
  const channelsText = async (maxChannels?: number) => {
    const e = await call<{ channels: { used: [number, number]; total: number } }>(request, 'explain.pair', {
      pairId,
      modelId,
      method: 'scorecam',
      ...(maxChannels ? { maxChannels } : {}),
    });
    const [a, b] = e.channels.used;
    return `Score-CAM: ${a === b ? a : `A ${a}, B ${b}`} of ${e.channels.total} channels (cap ${maxChannels ?? 256}`;
  };
  await expect(text).toContainText(await channelsText());
  await shot(page, 'scorecam-channels');

  // A cap of 2: the map is recomputed masking at most 2 channels per image.
  const cap = page.locator('input[name="max-channels"]');
  await expect(cap).toHaveValue('256');
  await cap.fill('2');
  await cap.press('Enter');
  await expect(text).toHaveText(/^Score-CAM: ([12]|A [12], B [12]) of \d+ channels \(cap 2[);]/, { timeout: 60_000 });
  await expect(page.locator('[data-testid="overlay-grid"] [data-state="loading"]')).toHaveCount(0, { timeout: 60_000 });
  await expect(text).toContainText(await channelsText(2));
  await shot(page, 'scorecam-cap-2');

  // Another method hides it.
  await page.locator('button[data-method="gradcam"]').click();
  await expect(page.getByTestId('scorecam-channels')).toHaveCount(0);
});
