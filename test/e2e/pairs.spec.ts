import { expect, test, type APIRequestContext, type Page } from '@playwright/test';
import { api, appUrl, DEMO_NAME } from './env';

/** The demo's number of pairs under the filters, as the API counts them. */
async function total(request: APIRequestContext, filters: { split?: string; label?: 0 | 1 } = {}): Promise<number> {
  const demo = (await api<{ id: number; name: string }[]>(request, 'datasets.list')).find((d) => d.name === DEMO_NAME)!;
  return (await api<{ total: number }>(request, 'pairs.page', { datasetId: demo.id, limit: 1, ...filters })).total;
}
const ofTotal = (n: number) => new RegExp(` of ${new Intl.NumberFormat('en-US').format(n)}$`);

async function openDemoPairs(page: Page): Promise<void> {
  await page.goto(appUrl());
  await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Pairs' }).click();
  await page.getByLabel('Dataset').selectOption({ label: DEMO_NAME });
  await expect(page.getByTestId('pair-row').first()).toBeVisible();
}

const firstPairId = (page: Page) => page.getByTestId('pair-row').first().locator('td').first().textContent();
const ids = async (page: Page) =>
  (await page.getByTestId('pair-row').locator('td:first-child').allTextContents()).map((t) => Number(t.replace(/\D/g, '')));

test('shows pairs with both thumbnails rendered', async ({ page, request }) => {
  await openDemoPairs(page);
  await expect(page.getByTestId('pair-row')).toHaveCount(50);
  await expect(page.getByTestId('pager-pos')).toHaveText(ofTotal(await total(request)));
  const thumbs = page.getByTestId('pair-row').getByTestId('thumb');
  await expect(thumbs).toHaveCount(100);
  // Every thumbnail decoded to a real image.
  await expect
    .poll(() =>
      thumbs.evaluateAll((imgs) =>
        // (main-side tsconfig: no DOM types) an <img>'s decoded state
        imgs.every((i) => {
          const img = i as unknown as { complete: boolean; naturalWidth: number };
          return img.complete && img.naturalWidth > 0;
        }),
      ),
    )
    .toBe(true);
  await expect(page.getByTestId('pair-label').first()).toHaveText(/same|different/);
  await expect(page.getByTestId('pair-split').first()).toHaveText(/train|val|test/);
});

test('filters by split and label change the rows, and the counts are the API’s', async ({ page, request }) => {
  await openDemoPairs(page);
  const pager = page.getByTestId('pager-pos');
  const all = await total(request);
  await expect(pager).toHaveText(ofTotal(all));

  await page.getByLabel('Split').selectOption('val');
  await expect(page.locator('[data-testid="pair-row"]:not([data-split="val"])')).toHaveCount(0);
  await expect(page.getByTestId('pair-row').first()).toHaveAttribute('data-split', 'val');
  const val = await total(request, { split: 'val' });
  expect(val).toBeLessThan(all);
  await expect(pager).toHaveText(ofTotal(val));

  await page.getByLabel('Label').selectOption('1');
  await expect(page.locator('[data-testid="pair-row"]:not([data-label="1"])')).toHaveCount(0);
  await expect(page.getByTestId('pair-row').first()).toHaveAttribute('data-label', '1');
  await expect(page.getByTestId('pair-row').first()).toHaveAttribute('data-split', 'val');
  const valSame = await total(request, { split: 'val', label: 1 });
  await expect(pager).toHaveText(ofTotal(valSame));

  await page.getByLabel('Label').selectOption('0');
  await expect(page.locator('[data-testid="pair-row"]:not([data-label="0"])')).toHaveCount(0);
  await expect(page.getByTestId('pair-row').first()).toHaveAttribute('data-label', '0');
  // every anchor has as many negative partners as positive ones: each split is exactly balanced
  await expect(pager).toHaveText(ofTotal(valSame));
  expect(await total(request, { split: 'val', label: 0 })).toBe(valSame);
  expect(valSame * 2).toBe(val);
});

test('pages forward and back with buttons and keys', async ({ page }) => {
  await openDemoPairs(page);
  await page.getByLabel('Per page').selectOption('25');
  await expect(page.getByTestId('pair-row')).toHaveCount(25);
  const pager = page.getByTestId('pager-pos');
  await expect(pager).toContainText(/^1–25 of/);
  const page1 = await ids(page);
  const first1 = await firstPairId(page);

  await page.getByRole('button', { name: 'Next page' }).click();
  await expect(pager).toContainText(/^26–50 of/);
  const page2 = await ids(page);
  expect(Math.min(...page2)).toBeGreaterThan(Math.max(...page1));

  await page.keyboard.press('j');
  await expect(pager).toContainText(/^51–75 of/);
  await page.keyboard.press('ArrowLeft');
  await expect(pager).toContainText(/^26–50 of/);
  expect(await ids(page)).toEqual(page2);
  await page.keyboard.press('k');
  await expect(pager).toContainText(/^1–25 of/);
  await expect(page.getByTestId('pair-row').first().locator('td').first()).toHaveText(first1 ?? '');
  await expect(page.getByRole('button', { name: 'Previous page' })).toBeDisabled();

  await page.keyboard.press('ArrowRight');
  await expect(pager).toContainText(/^26–50 of/);
  await page.getByRole('button', { name: 'Previous page' }).click();
  await expect(pager).toContainText(/^1–25 of/);

  // Paging from the bottom of a page shows the next one from its top.
  await page.getByTestId('pair-row').last().scrollIntoViewIfNeeded();
  await expect(page.getByTestId('pair-row').first()).not.toBeInViewport();
  await page.keyboard.press('j');
  await expect(pager).toContainText(/^26–50 of/);
  await expect(page.getByTestId('pair-row').first()).toBeInViewport();
});
