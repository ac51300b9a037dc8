// A screenshot of the explanation view for one pair and model version, as a user sees it:
// starts browser mode (out/main/web.js, `npm run build` first) on a workspace, opens the pair
// with the method, and saves the overlay area as PNG. Used for the before/after figures of the
// faithfulness work (the same dress pair under the old and the new small CNN).
//
//   npx tsx scripts/screenshot-pair.ts --workspace DIR --model ID --pair ID [--method gradcam] --out FILE.png
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from '@playwright/test';

const arg = (name: string, fallback?: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : fallback;
  if (v === undefined) throw new Error(`missing --${name}`);
  return v;
};

async function main(): Promise<void> {
  const workspace = arg('workspace');
  const model = arg('model');
  const pair = arg('pair');
  const method = arg('method', 'gradcam');
  const out = arg('out');
  const web = join(__dirname, '../out/main/web.js');
  if (!existsSync(web)) throw new Error('run npm run build first');
  const server = spawn(process.execPath, [web, '--workspace', workspace, '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let text = '';
    server.stdout.on('data', (d: Buffer) => {
      text += d.toString();
      const m = /(http:\/\/127\.0\.0\.1:\d+\/\S*)/.exec(text);
      if (m) resolve(m[1]);
    });
    server.on('exit', (code) => reject(new Error(`web.js exited (${code})`)));
  });
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(url);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Explanations' }).click();
    await page.locator('select[name="model"]').selectOption(model);
    await page.locator('button[data-method]').first().waitFor();
    const box = page.locator('input[name="pair-id"]');
    await box.fill(pair);
    await box.press('Enter');
    await page
      .getByTestId('explain-pair')
      .filter({ hasText: `Pair #${pair}` })
      .waitFor();
    await page.locator(`button[data-method="${method}"]`).click();
    await page
      .locator('[data-testid="overlay-grid"] [data-state="loading"]')
      .first()
      .waitFor({ state: 'detached', timeout: 120_000 })
      .catch(() => undefined);
    await page.waitForTimeout(1500); // the reliability hint
    await page.locator('.pair-bar').scrollIntoViewIfNeeded();
    await page.screenshot({ path: out, fullPage: false });
    console.log(`saved ${out}`);
  } finally {
    await browser.close();
    server.kill('SIGTERM');
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
