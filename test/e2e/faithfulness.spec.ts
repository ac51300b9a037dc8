// Maps an expert can trust, in the UI: the bundled demo model is there at first start; the
// models view shows its faithfulness per method (measured in the background at first start)
// with the default method marked; the explanation view opens it on that method (★), marks each
// factual map against a random map, and the keys work again after "Go" and after Escape.
// Screenshots of both views are kept in test-results/screenshots/.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test, type APIRequestContext, type Page } from '@playwright/test';
import { appOrigin, appToken, appUrl, DEMO_NAME } from './env';

const SHOTS = join(__dirname, '../../test-results/screenshots');
async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false });
}

async function call<T>(request: APIRequestContext, method: string, args: Record<string, unknown>): Promise<T> {
  const res = await request.post(`${appOrigin()}/api/${method}`, { headers: { Authorization: `Bearer ${appToken()}` }, data: args });
  const body = (await res.json()) as { ok: boolean; value?: T; error?: { message: string } };
  if (!body.ok) throw new Error(`${method}: ${body.error?.message}`);
  return body.value as T;
}

interface Summary {
  defaultMethod: string;
  methods: { method: string; label: string; score: number | null }[];
}

let demoModelId = 0;
let summary: Summary;
test.beforeAll(async ({ request }) => {
  test.setTimeout(240_000);
  const demo = (await call<{ id: number; name: string }[]>(request, 'datasets.list', {})).find((d) => d.name === DEMO_NAME)!;
  const models = await call<{ id: number; name: string }[]>(request, 'models.list', { datasetId: demo.id });
  const m = models.find((x) => x.name === 'Fashion-MNIST demo model');
  expect(m, 'the demo model is registered at first start').toBeTruthy();
  demoModelId = m!.id;
  // first start measures its faithfulness in the background: wait for it
  await expect
    .poll(async () => call<Summary | null>(request, 'models.faithfulness', { id: demoModelId }), { timeout: 200_000, intervals: [1000] })
    .not.toBeNull();
  summary = (await call<Summary>(request, 'models.faithfulness', { id: demoModelId }))!;
});

test('the models view shows the demo model’s faithfulness per method, its default marked', async ({ page }) => {
  await page.goto(appUrl());
  await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Models' }).click();
  await page.getByTestId('version-row').filter({ hasText: 'Fashion-MNIST demo model' }).click();
  const table = page.getByTestId('faithfulness');
  await expect(table.locator('tr[data-method]')).toHaveCount(8);
  const best = table.locator(`tr[data-method="${summary.defaultMethod}"]`);
  await expect(best).toContainText('default');
  const score = summary.methods.find((x) => x.method === summary.defaultMethod)!.score!;
  await expect(best.locator('td').nth(1)).toHaveText(score.toFixed(3));
  await expect(table.locator('tr.best')).toHaveCount(1);
  await table.scrollIntoViewIfNeeded();
  await shot(page, 'models-faithfulness');
});

test('the explanation view opens on the most faithful method, hints each map, and keys work after Go and Escape', async ({
  page,
  request,
}) => {
  await page.goto(appUrl());
  await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Explanations' }).click();
  await page.locator('select[name="model"]').selectOption(String(demoModelId));
  const active = page.locator(`button[data-method="${summary.defaultMethod}"]`);
  await expect(active).toHaveAttribute('aria-pressed', 'true');
  await expect(active.locator('.most-faithful')).toHaveText('★');

  // a same-class test pair, by id
  const demo = (await call<{ id: number; name: string }[]>(request, 'datasets.list', {})).find((d) => d.name === DEMO_NAME)!;
  const page1 = await call<{ rows: { id: number }[] }>(request, 'pairs.page', { datasetId: demo.id, split: 'test', label: 1, limit: 1 });
  const pairId = page1.rows[0].id;
  const box = page.locator('input[name="pair-id"]');
  await box.fill(String(pairId));
  await box.press('Enter');
  await expect(page.getByTestId('explain-pair')).toContainText(`Pair #${pairId}`);
  // Go gave the keys back: "1" is Grad-CAM (one key away), not a digit typed into the box
  await page.keyboard.press('1');
  await expect(page.locator('button[data-method="gradcam"]')).toHaveAttribute('aria-pressed', 'true');
  await expect(box).toHaveValue(String(pairId));

  // the reliability hint of each factual map (28 px input: computed at once) equals main's answer
  const hint = await call<{
    a: { map: number; random: number; worseThanRandom: boolean } | null;
    b: { map: number; random: number; worseThanRandom: boolean } | null;
  }>(request, 'explain.reliability', { pairId, modelId: demoModelId, method: 'gradcam' });
  for (const side of ['a', 'b'] as const) {
    const h = hint[side];
    const el = page.getByTestId(`reliability-${side}`);
    if (!h) {
      await expect(el).toContainText('no evidence');
      continue;
    }
    await expect(el).toContainText(`deletion ${h.map.toFixed(3)} vs random ${h.random.toFixed(3)}`);
    await expect(el).toContainText(h.worseThanRandom ? 'Worse than a random map' : 'Better than a random map');
  }
  await shot(page, 'explain-reliability');

  // Escape leaves a control: after focusing the colormap select, "2" switches the method
  await page.locator('select[name="colormap"]').focus();
  await page.keyboard.press('Escape');
  await page.keyboard.press('2');
  await expect(page.locator('button[data-method="gradcampp"]')).toHaveAttribute('aria-pressed', 'true');
});
