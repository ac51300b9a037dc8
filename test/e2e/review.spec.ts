// The review workbench in Chromium (browser mode), on a workspace of its own started here (a
// true first start: the demo model registered, its test pairs' maps computed in the background):
// - first start: the reviewer's name is asked once; the demo model's first queued pair is drawn
//   with its maps, its facts as the API gives them;
// - three pairs reviewed with the keyboard only (auto-advance), undo of the last verdict, one
//   verdict changed (its history holds both), all as the API stores them;
// - reload: the verdicts are there and the session resumes at the next unreviewed pair;
// - filter counts on a seeded set equal the API's and a hand count, and the filters filter;
// - a second reviewer's bundle (made in another workspace) imports, and the kappa shown per
//   question equals Cohen's kappa computed here from the verdicts entered; "reviewers disagree"
//   counts the pairs they answered differently; the models view shows the same summary.
// Screenshots (1280x800) go to test-results/screenshots/review-*.png.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect as baseExpect, test, type Page } from '@playwright/test';
import type {
  ExplainLayersDto,
  HeatmapAnswer,
  JobDto,
  ModelVersionDto,
  ReviewQueueDto,
  ReviewQueueItemDto,
  ReviewSessionDto,
  ReviewStatsDto,
  SimilarityAnswer,
  VerdictDto,
} from '../../src/shared/dto';
import { NEAR_BAND_DEFAULT } from '../../src/shared/review';
import { appToken, appOrigin } from './env';
import { callApi, startServer, type TestServer } from './server';

test.use({ viewport: { width: 1280, height: 800 } });
// generous: on two cores shared with training runs a single key press can take seconds
test.describe.configure({ mode: 'serial', timeout: 600_000 });
const expect = baseExpect.configure({ timeout: 60_000 });

const SHOTS = join(__dirname, '../../test-results/screenshots');
async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `review-${name}.png`) });
}

const DEMO_MODEL = 'Fashion-MNIST demo model';
const ALICE = 'Alice';
// unique per run: the shared workspace of the other specs keeps its verdicts
const BOB = `Bob ${Date.now().toString(36)}`;

interface Answers {
  similarity: SimilarityAnswer | null;
  heatmapA: HeatmapAnswer | null;
  heatmapB: HeatmapAnswer | null;
}
type Question = keyof Answers;
const QUESTIONS: Question[] = ['similarity', 'heatmapA', 'heatmapB'];

let server: TestServer;
let modelId = 0;
/** the demo model's test queue in its default order (uncertainty), as the API gives it to Alice at the start */
let queue: ReviewQueueItemDto[] = [];
/** what this spec entered as Alice's current answers, by pair */
const alice = new Map<number, Answers>();
let tmp = '';

const drawn = (page: Page, pairId: number) =>
  expect(page.getByTestId('pair-images')).toHaveAttribute('data-drawn-pair', String(pairId), { timeout: 120_000 });

/** Opens the review tab with the keyboard (focus the tab, Enter), then gives the keys back to the view (Escape). */
async function openReview(page: Page): Promise<void> {
  await page.goto(server.url);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Review' }).focus();
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('review-view')).toBeVisible();
}

async function verdictOf(pairId: number): Promise<VerdictDto | null> {
  const rows = await server.call<VerdictDto[]>('review.history', { pairId, modelId, reviewer: ALICE });
  return rows.find((r) => r.current) ?? null;
}
const answersOf = (v: VerdictDto | null): Answers | null => v && { similarity: v.similarity, heatmapA: v.heatmapA, heatmapB: v.heatmapB };

/** Presses the three keys of a verdict, waiting for the pair to be drawn first (heatmaps are judged on screen). */
async function judge(page: Page, pairId: number, keys: string, a: Answers): Promise<void> {
  await drawn(page, pairId);
  for (const k of keys) await page.keyboard.press(k);
  alice.set(pairId, a);
}

test.beforeAll(async () => {
  test.setTimeout(180_000);
  server = await startServer();
  tmp = mkdtempSync(join(tmpdir(), 'simlens-e2e-review-'));
});

test.afterAll(async () => {
  await server?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test('first start: the reviewer is asked once, the demo model’s first queued pair is drawn with its maps', async ({ page }) => {
  const models = await server.call<ModelVersionDto[]>('models.list', {});
  expect(models.map((m) => m.name)).toEqual([DEMO_MODEL]);
  modelId = models[0].id;
  // First start computes the demo's test-pair Grad-CAM maps and its faithfulness per method in the
  // background. Both are stopped here: on two cores shared with training runs they take many
  // minutes, and every map this spec needs would queue behind them in main's engine; the maps
  // are computed on demand instead (faithfulness.spec.ts follows the background jobs to the end).
  const jobs = await server.call<JobDto[]>('jobs.list', {});
  for (const kind of ['explain', 'faithfulness']) {
    const job = jobs.find((j) => j.kind === kind);
    expect(job?.params, kind).toMatchObject(kind === 'explain' ? { modelId, split: 'test', method: 'gradcam' } : { modelId });
    await server.call('jobs.cancel', { id: job!.id });
  }
  await expect
    .poll(async () => (await server.call<JobDto[]>('jobs.list', {})).filter((j) => j.status === 'running' || j.status === 'queued').length)
    .toBe(0);
  const layersBefore = await server.call<ExplainLayersDto>('explain.layers', { modelId });

  await openReview(page);
  const dialog = page.getByTestId('reviewer-dialog');
  await expect(dialog).toBeVisible();
  await expect(page.getByLabel('Reviewer name')).toBeFocused();
  await page.keyboard.press('Enter'); // empty: refused, said why
  await expect(dialog.getByRole('alert')).toContainText('must not be empty');
  await page.keyboard.type(ALICE);
  await shot(page, 'reviewer');
  await page.keyboard.press('Enter');
  await expect(dialog).toHaveCount(0);
  await expect(page.getByTestId('reviewer-name')).toHaveText(ALICE);
  expect((await server.call<{ name: string }>('review.reviewer', {})).name).toBe(ALICE);

  const q = await server.call<ReviewQueueDto>('review.queue', { modelId, split: 'test', limit: 500 });
  queue = q.items;
  expect(q.total).toBe(queue.length);
  // the pairs this spec reviews get their Grad-CAM maps stored (the view would compute them as it goes)
  await Promise.all(queue.slice(0, 12).map((x) => server.call('explain.pair', { pairId: x.pairId, modelId, method: 'gradcam' })));
  const first = queue[0];
  await expect(page.locator('select[name="review-model"]')).toHaveValue(String(modelId));
  await expect(page.locator('select[name="review-model"] option:checked')).toContainText(DEMO_MODEL);
  await drawn(page, first.pairId);
  // both images, factual and counterfactual maps of the version's default method
  await expect(page.locator('figure[data-testid^="stack-"]')).toHaveCount(4);
  await expect(
    page.locator('figure[data-testid^="stack-"][data-state="ready"], figure[data-testid^="stack-"][data-state="no-evidence"]'),
  ).toHaveCount(4);
  await expect(page.getByTestId('stack-a-factual').getByTestId('stack-map')).toBeVisible();
  // the version's default method (no faithfulness measured: Grad-CAM)
  expect(layersBefore).toMatchObject({ defaultMethod: 'gradcam', defaultMethodFrom: 'none' });
  await expect(page.locator('.methods button[aria-pressed="true"]')).toHaveAttribute('data-method', layersBefore.defaultMethod);
  // the pair's facts as the API gives them
  await expect(page.getByTestId('review-pair-id')).toHaveText(`Pair #${first.pairId}`);
  await expect(page.getByTestId('review-position')).toHaveText(`1 of ${q.total}`);
  await expect(page.getByTestId('review-truth')).toHaveText(first.label === 1 ? 'same' : 'different');
  await expect(page.getByTestId('review-score')).toContainText(first.score!.toFixed(4));
  await expect(page.getByTestId('review-score')).toContainText(q.threshold!.toFixed(4));
  await expect(page.getByTestId('review-decision')).toHaveText(first.decision === 1 ? 'same' : 'different');
  await expect(page.getByTestId('review-model-right')).toContainText(first.modelRight ? 'right' : 'wrong');
  await expect(page.getByTestId('review-progress')).toContainText(`0 / ${q.total} reviewed · ${q.total} to go`);
  await expect(page.locator('.image-col[data-side="a"] .cls')).toHaveText(first.a.classLabel!);
  await expect(page.locator('.image-col[data-side="b"] .cls')).toHaveText(first.b.classLabel!);
  await shot(page, 'first-start');
});

test('three pairs reviewed with the keyboard only, undo of the last verdict, one verdict changed (its history holds both)', async ({
  page,
}) => {
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('console', (m) => (m.type() === 'error' || /Content.Security.Policy/i.test(m.text())) && problems.push(m.text()));
  await openReview(page);
  await page.keyboard.press('Escape');
  const [p0, p1, p2, p3] = queue.map((x) => x.pairId);
  await drawn(page, p0);
  // Grad-CAM (key 1): its maps are stored at first start
  await page.keyboard.press('1');
  await expect(page.locator('button[data-method="gradcam"]')).toHaveAttribute('aria-pressed', 'true');

  await judge(page, p0, 'yqi', { similarity: 'correct', heatmapA: 'sensible', heatmapB: 'sensible' });
  await judge(page, p1, 'nwo', { similarity: 'wrong', heatmapA: 'not_sensible', heatmapB: 'not_sensible' });
  await judge(page, p2, 'yep', { similarity: 'correct', heatmapA: 'unsure', heatmapB: 'unsure' });
  // auto-advance after each complete verdict
  await drawn(page, p3);
  await expect(page.getByTestId('review-progress')).toContainText(`3 / ${queue.length} reviewed`);
  for (const p of [p0, p1, p2]) {
    await expect.poll(async () => answersOf(await verdictOf(p))).toEqual(alice.get(p));
    const v = (await verdictOf(p))!;
    expect(v).toMatchObject({ method: 'gradcam', layer: 'conv4', complete: true, reviewer: ALICE });
  }

  // u: takes back the last verdict (B's heatmap on the third pair) and goes back to it
  await page.keyboard.press('u');
  // the flash first: it goes after 4 s, and drawing can take longer on a loaded machine
  await expect(page.getByTestId('review-flash')).toContainText(`Undid your last verdict on pair #${p2}`);
  await drawn(page, p2);
  await expect(page.locator('[data-testid="q-heatmapB"] button[aria-pressed="true"]')).toHaveCount(0);
  await expect(page.locator('[data-testid="q-heatmapA"] button[data-answer="unsure"]')).toHaveAttribute('aria-pressed', 'true');
  await expect.poll(async () => answersOf(await verdictOf(p2))).toEqual({ similarity: 'correct', heatmapA: 'unsure', heatmapB: null });
  // answered again: complete, on to the next pair
  await judge(page, p2, 'i', { similarity: 'correct', heatmapA: 'unsure', heatmapB: 'sensible' });
  await drawn(page, p3);
  await expect.poll(async () => answersOf(await verdictOf(p2))).toEqual(alice.get(p2));

  // back to the first pair (its verdict shown as saved), the similarity changed: it stays
  for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowLeft');
  await drawn(page, p0);
  await expect(page.locator('[data-testid="q-similarity"] button[data-answer="correct"]')).toHaveAttribute('aria-pressed', 'true');
  await expect(page.getByTestId('verdict-state')).toHaveAttribute('data-state', 'saved');
  await page.keyboard.press('n');
  alice.set(p0, { ...alice.get(p0)!, similarity: 'wrong' });
  await expect(page.locator('[data-testid="q-similarity"] button[data-answer="wrong"]')).toHaveAttribute('aria-pressed', 'true');
  await expect(page.getByTestId('verdict-state')).toHaveAttribute('data-state', 'saved');
  await expect(page.getByTestId('review-pair-id')).toHaveText(`Pair #${p0}`);

  // h: the history holds the earlier complete verdict and the changed one (and the key presses before)
  await page.keyboard.press('h');
  const history = await server.call<VerdictDto[]>('review.history', { pairId: p0, modelId });
  expect(history.map(answersOf)).toEqual([
    { similarity: 'wrong', heatmapA: 'sensible', heatmapB: 'sensible' },
    { similarity: 'correct', heatmapA: 'sensible', heatmapB: 'sensible' },
    { similarity: 'correct', heatmapA: 'sensible', heatmapB: null },
    { similarity: 'correct', heatmapA: null, heatmapB: null },
  ]);
  expect(history.map((h) => h.current)).toEqual([true, false, false, false]);
  const rows = page.getByTestId('history-row');
  await expect(rows).toHaveCount(history.length);
  await expect(rows.nth(0)).toHaveAttribute('data-current', 'true');
  await expect(rows.nth(0).locator('[data-field="similarity"]')).toHaveText('wrong');
  await expect(rows.nth(1).locator('[data-field="similarity"]')).toHaveText('correct');
  await expect(rows.nth(1).locator('[data-field="heatmapB"]')).toHaveText('sensible');
  await shot(page, 'verdicts');

  // ? lists every key; Escape closes it
  await page.keyboard.press('?');
  const help = page.getByTestId('key-help');
  await expect(help).toBeVisible();
  for (const text of ['similarity', 'undo', 'skip', 'zoom', 'opacity', 'factual / counterfactual / both'])
    await expect(help).toContainText(text);
  await shot(page, 'keys');
  await page.keyboard.press('Escape');
  await expect(help).toHaveCount(0);

  // zoom (+, -, 0) moves both images together; the opacity keys work after Escape left a field
  await page.keyboard.press('+');
  await page.keyboard.press('+');
  await expect(page.getByTestId('review-zoom')).toHaveText('156%');
  const transforms = await page
    .locator('.stage')
    .evaluateAll((els) => els.map((e) => (e as unknown as { style: { transform: string } }).style.transform));
  expect(new Set(transforms).size).toBe(1);
  await page.keyboard.press('0');
  await expect(page.getByTestId('review-zoom')).toHaveText('100%');
  await page.keyboard.press('m');
  await expect(page.getByLabel('Note')).toBeFocused();
  await page.keyboard.type('y');
  await page.keyboard.press('Escape'); // leaves the field (the note is saved: nothing typed is lost)
  await expect(page.getByLabel('Note')).not.toBeFocused();
  await page.keyboard.press(']');
  await expect(page.getByTestId('review-opacity')).toHaveText('60%');
  await expect.poll(async () => (await verdictOf(p0))?.note).toBe('y');
  // the letter typed into the note did not answer anything
  await expect.poll(async () => answersOf(await verdictOf(p0))).toEqual(alice.get(p0));
  expect(problems).toEqual([]);
});

test('reload: the verdicts are there and the session resumes at the next unreviewed pair', async ({ page }) => {
  const [p0, , p2, p3] = queue.map((x) => x.pairId);
  // the session was stored on the pair the reviewer was on
  await expect.poll(async () => (await server.call<ReviewSessionDto>('review.session', { modelId }))?.pairId).toBe(p0);
  const session = await server.call<ReviewSessionDto>('review.session', { modelId });
  // by hand: the first pair in the queue's order, from the stored one on, without a verdict of mine
  const expected = queue.slice(queue.findIndex((x) => x.pairId === p0)).find((x) => !alice.has(x.pairId))!;
  expect(expected.pairId).toBe(p3);
  expect(session.next).toEqual({ pairId: p3, position: 3 });

  await openReview(page);
  await drawn(page, p3);
  await expect(page.getByTestId('review-position')).toHaveText(`4 of ${queue.length}`);
  await expect(page.getByTestId('review-progress')).toContainText(`3 / ${queue.length} reviewed · ${queue.length - 3} to go`);
  await page.keyboard.press('ArrowLeft');
  await drawn(page, p2);
  const a2 = alice.get(p2)!;
  await expect(page.locator(`[data-testid="q-similarity"] button[data-answer="${a2.similarity}"]`)).toHaveAttribute('aria-pressed', 'true');
  await expect(page.locator(`[data-testid="q-heatmapA"] button[data-answer="${a2.heatmapA}"]`)).toHaveAttribute('aria-pressed', 'true');
  await expect(page.locator(`[data-testid="q-heatmapB"] button[data-answer="${a2.heatmapB}"]`)).toHaveAttribute('aria-pressed', 'true');
  await expect(page.getByTestId('verdict-state')).toHaveAttribute('data-state', 'saved');
  await shot(page, 'resumed');
});

/** Alice's verdicts entered through the API (seeded), with tags: the set the counts are checked on. */
const SEEDED: { i: number; a: Answers; tags: string[] }[] = [
  { i: 4, a: { similarity: 'correct', heatmapA: 'not_sensible', heatmapB: 'sensible' }, tags: ['decoy'] },
  { i: 5, a: { similarity: 'wrong', heatmapA: 'sensible', heatmapB: 'not_sensible' }, tags: ['background', 'decoy'] },
  { i: 6, a: { similarity: 'correct', heatmapA: 'sensible', heatmapB: 'sensible' }, tags: ['texture'] },
  { i: 7, a: { similarity: 'wrong', heatmapA: 'unsure', heatmapB: 'unsure' }, tags: [] },
  { i: 8, a: { similarity: 'correct', heatmapA: 'sensible', heatmapB: 'unsure' }, tags: ['decoy'] },
  { i: 9, a: { similarity: 'wrong', heatmapA: 'not_sensible', heatmapB: 'not_sensible' }, tags: [] },
];

test('filter counts on a seeded set equal the API’s and a hand count, and the filters filter', async ({ page }) => {
  for (const s of SEEDED) {
    const v = s.a.similarity ? { similarity: s.a.similarity } : {};
    await server.call('review.verdict', {
      pairId: queue[s.i].pairId,
      modelId,
      ...v,
      heatmapA: s.a.heatmapA,
      heatmapB: s.a.heatmapB,
      method: 'gradcam',
      layer: 'conv4',
      tags: s.tags,
    });
    alice.set(queue[s.i].pairId, s.a);
  }
  const api = await server.call<ReviewQueueDto>('review.queue', { modelId, split: 'test', limit: 1 });
  const threshold = api.threshold!;
  // by hand, from the queue's items and the verdicts entered here
  const hand = {
    unreviewedByMe: queue.filter((x) => !alice.has(x.pairId)).length,
    falsePositive: queue.filter((x) => x.decision === 1 && x.label === 0).length,
    falseNegative: queue.filter((x) => x.decision === 0 && x.label === 1).length,
    nearThreshold: queue.filter((x) => x.score !== null && Math.abs(x.score - threshold) <= NEAR_BAND_DEFAULT).length,
    heatmapNotSensible: [...alice.values()].filter((a) => a.heatmapA === 'not_sensible' || a.heatmapB === 'not_sensible').length,
    reviewersDisagree: 0,
  };
  expect(hand.unreviewedByMe).toBe(queue.length - 9);
  expect(hand.heatmapNotSensible).toBe(4);
  expect(api.counts).toMatchObject({ ...hand, unreviewedByAnyone: hand.unreviewedByMe, all: queue.length });
  const cls = queue[0].a.classLabel!;
  const classCount = queue.filter((x) => x.a.classLabel === cls || x.b.classLabel === cls).length;
  expect(api.counts.classes.find((c) => c.classLabel === cls)?.count).toBe(classCount);
  const tagCount = (tag: string) => SEEDED.filter((s) => s.tags.includes(tag)).length;
  for (const tag of ['decoy', 'background', 'texture']) expect(api.counts.tags.find((t) => t.tag === tag)?.count).toBe(tagCount(tag));

  await openReview(page);
  await expect(page.getByTestId('review-pair')).toBeVisible();
  for (const [name, n] of Object.entries(hand)) await expect(page.getByTestId(`count-${name}`)).toHaveText(String(n));
  await expect(page.getByTestId('count-unreviewedByAnyone')).toHaveText(String(hand.unreviewedByMe));
  await expect(page.locator(`select[name="review-class"] option[value="${cls}"]`)).toHaveText(`${cls} (${classCount})`);
  await expect(page.locator('select[name="review-tag"] option[value="decoy"]')).toHaveText(`decoy (${tagCount('decoy')})`);

  // the false positives alone: the queue holds them, the pair shown is one
  await page.getByTestId('filter-falsePositive').locator('input').check();
  await expect(page.getByTestId('queue-total')).toContainText(`${hand.falsePositive} pair`);
  await expect(page.getByTestId('review-position')).toHaveText(`1 of ${hand.falsePositive}`);
  await expect(page.getByTestId('review-truth')).toHaveText('different');
  await expect(page.getByTestId('review-decision')).toHaveText('same');
  await shot(page, 'filters');
  // a tag: the pairs Alice tagged "decoy"
  await page.getByTestId('filter-falsePositive').locator('input').uncheck();
  await page.locator('select[name="review-tag"]').selectOption('decoy');
  await expect(page.getByTestId('queue-total')).toContainText(`${tagCount('decoy')} pairs`);
  await page.keyboard.press('Escape');
  const decoyPairs = SEEDED.filter((s) => s.tags.includes('decoy')).map((s) => `Pair #${queue[s.i].pairId}`);
  expect(decoyPairs).toContain(await page.getByTestId('review-pair-id').textContent());
  await page.getByTestId('clear-filters').click();
  await expect(page.getByTestId('queue-total')).toContainText(`${queue.length} pairs`);
});

/** Cohen's kappa by hand: observed agreement against chance from each rater's own marginals. */
function cohen(pairs: [string, string][]): number | null {
  const n = pairs.length;
  const po = pairs.filter(([a, b]) => a === b).length / n;
  const cats = [...new Set(pairs.flat())];
  const pe = cats.reduce((s, c) => s + (pairs.filter(([a]) => a === c).length / n) * (pairs.filter(([, b]) => b === c).length / n), 0);
  return pe === 1 ? null : (po - pe) / (1 - pe);
}

test('a second reviewer’s bundle imports, and the kappa shown equals a hand computation', async ({ page }) => {
  // Bob reviews in another workspace (the other specs' server: the same demo, the same model)
  const other = { origin: appOrigin(), token: appToken() };
  const call = <T>(method: string, args: Record<string, unknown>) => callApi<T>(other.origin, other.token, method, args);
  const otherModel = (await call<ModelVersionDto[]>('models.list', {})).find((m) => m.name === DEMO_MODEL)!;
  expect(otherModel).toMatchObject({ name: DEMO_MODEL });
  const theirs = await call<ReviewQueueDto>('review.queue', { modelId: otherModel.id, split: 'test', limit: 500, reviewer: BOB });
  const key = (x: ReviewQueueItemDto) => `${x.a.sourcePath}|${x.b.sourcePath}`;
  const there = new Map(theirs.items.map((x) => [key(x), x.pairId]));
  const bobAnswers: Answers[] = [
    { similarity: 'wrong', heatmapA: 'sensible', heatmapB: 'not_sensible' }, // 0
    { similarity: 'wrong', heatmapA: 'not_sensible', heatmapB: 'not_sensible' }, // 1
    { similarity: 'correct', heatmapA: 'sensible', heatmapB: 'sensible' }, // 2
    { similarity: 'correct', heatmapA: 'sensible', heatmapB: 'sensible' }, // 3: Alice has none
    { similarity: 'correct', heatmapA: 'sensible', heatmapB: 'sensible' }, // 4
    { similarity: 'correct', heatmapA: 'sensible', heatmapB: 'not_sensible' }, // 5
    { similarity: 'correct', heatmapA: 'unsure', heatmapB: 'sensible' }, // 6
    { similarity: 'wrong', heatmapA: 'unsure', heatmapB: 'unsure' }, // 7
  ];
  const bob = new Map<number, Answers>();
  for (const [i, a] of bobAnswers.entries()) {
    const pairId = there.get(key(queue[i]));
    expect(pairId, `pair ${queue[i].pairId} in the other workspace`).toBeDefined();
    await call('review.verdict', { pairId, modelId: otherModel.id, ...a, method: 'gradcam', layer: 'conv4', reviewer: BOB });
    bob.set(queue[i].pairId, a);
  }
  const bundle = join(tmp, 'bob.simlens-review.json');
  const exported = await call<{ verdicts: number }>('review.exportBundle', { path: bundle, modelId: otherModel.id, reviewer: BOB });
  expect(exported.verdicts).toBe(bobAnswers.length);

  await openReview(page);
  await expect(page.getByTestId('review-pair')).toBeVisible();
  const team = page.getByTestId('review-team');
  await team.scrollIntoViewIfNeeded();
  await expect(team).toContainText('Agreement needs two reviewers');
  await team.getByLabel('Bundle file').fill(bundle);
  await team.getByTestId('bundle-check').click();
  await expect(team.getByTestId('import-report')).toHaveAttribute('data-dry-run', 'true');
  await expect(team.getByTestId('import-imported')).toHaveText(String(bobAnswers.length));
  await team.getByTestId('bundle-import').click();
  await expect(team.getByTestId('import-report')).toHaveAttribute('data-dry-run', 'false');
  await expect(team.getByTestId('import-report')).toContainText(`${bobAnswers.length} imported`);

  // by hand: per question, the pairs both answered, Cohen's kappa
  const stats = await server.call<ReviewStatsDto>('review.stats', { modelId });
  expect(stats.reviewers.map((r) => r.reviewer).sort()).toEqual([ALICE, BOB].sort());
  const table = team.getByTestId('agreement');
  for (const q of QUESTIONS) {
    const both = [...alice.entries()]
      .filter(([p, a]) => a[q] !== null && bob.get(p)?.[q] != null)
      .map(([p, a]) => [a[q]!, bob.get(p)![q]!] as [string, string]);
    const kappa = cohen(both);
    const shown = stats.agreement.find((x) => x.question === q)!.overall!;
    expect(shown.method).toBe('cohen');
    expect(shown.pairs).toBe(both.length);
    expect(shown.kappa).toBeCloseTo(kappa!, 10);
    const row = table.locator(`tr.overall[data-question="${q}"]`);
    await expect(row.locator('[data-field="kappa"]')).toHaveText(kappa!.toFixed(3));
    await expect(row.locator('[data-field="pairs"]')).toHaveText(String(both.length));
  }
  // "reviewers disagree": the pairs where they answered a question differently
  const disagree = [...alice.entries()].filter(([p, a]) =>
    QUESTIONS.some((q) => a[q] !== null && bob.get(p)?.[q] != null && a[q] !== bob.get(p)![q]),
  ).length;
  expect(disagree).toBeGreaterThan(0);
  await expect(page.getByTestId('count-reviewersDisagree')).toHaveText(String(disagree));
  await expect
    .poll(async () => (await server.call<ReviewQueueDto>('review.queue', { modelId, split: 'test', limit: 1 })).counts.reviewersDisagree)
    .toBe(disagree);
  await table.scrollIntoViewIfNeeded();
  await shot(page, 'agreement');

  // the models view: the version's summary, the same kappas
  await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Models' }).click();
  await page.getByTestId('version-row').filter({ hasText: DEMO_MODEL }).click();
  const summary = page.getByTestId('review-summary');
  await summary.scrollIntoViewIfNeeded();
  for (const q of QUESTIONS) {
    const k = stats.agreement.find((x) => x.question === q)!.overall!.kappa!;
    await expect(summary.locator(`tr.overall[data-question="${q}"] [data-field="kappa"]`)).toHaveText(k.toFixed(3));
  }
  const sensible = stats.heatmaps.overall;
  await expect(summary.getByTestId('sensible-share')).toHaveText(`${Math.round(sensible.share! * 100)}%`);
  await summary.getByTestId('sensible-share').scrollIntoViewIfNeeded();
  await shot(page, 'models-summary');
});
