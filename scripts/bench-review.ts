// Benchmark section "review" (for scripts/bench.ts): the review view's verdict-to-next-pair
// latency in Chromium, browser mode, as a reviewer works: on each pair "y", "q" (similarity and
// image A's heatmap), then "i" (image B's heatmap) completes the verdict and the view moves on;
// timed from that key's event to the next pair fully drawn (both images and all their maps
// loaded, `data-drawn-pair` set, then the frame painted), measured in the page.
//
// Setup (not timed): out/main/web.js (run `npm run build` first) on a fresh workspace: the first
// start registers the demo model; the bench waits for its background jobs, stores the maps of
// the method the view opens on (the version's default) for the test pairs, and warms main's
// overlay cache for the pairs timed, so both runs read stored maps.
// Baseline, same run: the same pairs with prefetching off (localStorage simlens.review.prefetch
// = 0), i.e. each next pair's explanation and overlays fetched when it is reached. The two runs
// are two reviewers (each starts at the first pair) in fresh browser contexts.
//
//   npx tsx scripts/bench-review.ts [--pairs 50] [--think 400]
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

type Figures = Record<string, number | string | boolean>;

const SYSTEM_CHROMIUM = '/usr/bin/chromium';
const TARGET_MS = 100;
const round = (x: number, digits = 1) => Number(x.toFixed(digits));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Server {
  url: string;
  call<T>(method: string, args?: Record<string, unknown>): Promise<T>;
  stop(): Promise<void>;
}

async function startServer(): Promise<Server> {
  const root = resolve(__dirname, '..');
  const entry = join(root, 'out/main/web.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` first`);
  const workspace = mkdtempSync(join(tmpdir(), 'simlens-bench-review-'));
  const child = spawn(process.execPath, [entry, '--workspace', workspace, '--port', '0'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const url = await new Promise<string>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`browser mode did not start:\n${output}`)), 180_000);
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString('utf8');
      const m = /(http:\/\/127\.0\.0\.1:\d+\/#token=[\w-]+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        done(m[1]);
      }
    });
    child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.on('exit', (code) => fail(new Error(`browser mode exited (${code}):\n${output}`)));
  });
  const u = new URL(url);
  const token = new URLSearchParams(u.hash.slice(1)).get('token') ?? '';
  return {
    url,
    async call<T>(method: string, args: Record<string, unknown> = {}): Promise<T> {
      const res = await fetch(`${u.origin}/api/${method}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
        body: JSON.stringify(args),
      }).catch((error: unknown) => {
        // the server gone: say what it printed last
        const exited =
          child.exitCode !== null || child.signalCode !== null ? ` (server exited: ${child.exitCode ?? child.signalCode})` : '';
        throw new Error(`${method}: ${error instanceof Error ? error.message : String(error)}${exited}\n${output.slice(-3000)}`);
      });
      const body = (await res.json()) as { ok: boolean; value?: T; error?: { message: string } };
      if (!body.ok) throw new Error(`${method}: ${body.error?.message}`);
      return body.value as T;
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, sleep(10_000)]);
      }
      rmSync(workspace, { recursive: true, force: true });
    },
  };
}

interface Job {
  id: number;
  kind: string;
  status: string;
  message: string | null;
  error: string | null;
}

async function waitJobs(server: Server, what: string, timeoutMs: number): Promise<void> {
  const t0 = Date.now();
  let last = '';
  for (;;) {
    const busy = (await server.call<Job[]>('jobs.list', {})).filter((j) => j.status === 'queued' || j.status === 'running');
    if (busy.length === 0) return;
    const line = busy.map((j) => `${j.kind}: ${j.message ?? j.status}`).join('; ');
    if (line !== last) console.log(`  (${what}: ${line})`);
    last = line;
    if (Date.now() - t0 > timeoutMs) throw new Error(`${what}: still running after ${timeoutMs / 1000} s: ${line}`);
    await sleep(2000);
  }
}

// Armed before the key is pressed: resolves with the time from that key's event to the frame
// after the next pair is marked drawn (MutationObserver on data-drawn-pair, then a frame).
const ARM = `(() => {
  const root = document.querySelector('[data-testid="pair-images"]');
  const from = root.getAttribute('data-drawn-pair');
  window.__reviewBench = new Promise((resolve, reject) => {
    let t0 = 0;
    window.addEventListener('keydown', (e) => { t0 = e.timeStamp; }, { capture: true, once: true });
    const done = () => {
      const now = root.getAttribute('data-drawn-pair');
      if (!t0 || !now || now === from) return false;
      obs.disconnect();
      requestAnimationFrame(() => setTimeout(() => resolve({ ms: performance.now() - t0, pair: Number(now) }), 0));
      return true;
    };
    const obs = new MutationObserver(done);
    obs.observe(root, { attributes: true, attributeFilter: ['data-drawn-pair'] });
    setTimeout(() => { obs.disconnect(); reject(new Error('no next pair drawn within 30 s')); }, 30000);
  });
})()`;

interface Run {
  ms: number[];
  pairs: number[];
}

async function runReviewer(server: Server, name: string, prefetch: boolean, pairs: number, thinkMs: number): Promise<Run> {
  const { chromium } = await import('@playwright/test');
  await server.call('review.setReviewer', { name });
  const browser = await chromium.launch({
    headless: true,
    ...(existsSync(SYSTEM_CHROMIUM) ? { executablePath: SYSTEM_CHROMIUM } : {}),
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update'],
  });
  try {
    // bypassCSP: the probes below are strings evaluated in the page (this script is type-checked
    // without DOM types), which the app's CSP (no 'unsafe-eval') refuses; the app's own scripts are unchanged
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, bypassCSP: true });
    if (!prefetch) await context.addInitScript("localStorage.setItem('simlens.review.prefetch', '0')");
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(server.url);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Review' }).click();
    const images = page.getByTestId('pair-images');
    await images.waitFor({ timeout: 60_000 });
    await page.waitForFunction('document.querySelector(\'[data-testid="pair-images"]\').getAttribute("data-drawn-pair")', null, {
      timeout: 120_000,
    });
    await page.keyboard.press('Escape');
    const run: Run = { ms: [], pairs: [] };
    for (let i = 0; i < pairs; i++) {
      await sleep(thinkMs); // the reviewer looks at the pair
      await page.keyboard.press('y');
      await page.keyboard.press('q');
      await page.evaluate(ARM);
      await page.keyboard.press('i');
      const r = (await page.evaluate('window.__reviewBench')) as { ms: number; pair: number };
      run.ms.push(r.ms);
      run.pairs.push(r.pair);
    }
    if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
    return run;
  } finally {
    await browser.close();
  }
}

export async function benchReview(opts: { pairs?: number; thinkMs?: number } = {}): Promise<Figures> {
  const pairs = opts.pairs ?? 50;
  const thinkMs = opts.thinkMs ?? 400;
  const server = await startServer();
  try {
    // The first start's background jobs (all test maps, the faithfulness per method) are stopped: they
    // take many minutes on two cores; the maps timed are stored by a batch of their own.
    for (const job of await server.call<Job[]>('jobs.list', {})) {
      if (job.status === 'queued' || job.status === 'running') await server.call('jobs.cancel', { id: job.id });
    }
    await waitJobs(server, 'first start', 120_000);
    const model = (await server.call<{ id: number; name: string }[]>('models.list', {}))[0];
    const layers = await server.call<{ defaultMethod: string; default: string }>('explain.layers', { modelId: model.id });
    const method = layers.defaultMethod;
    for (let attempt = 1; ; attempt++) {
      const { jobId } = await server.call<{ jobId: number }>('explain.batch', { modelId: model.id, split: 'test', method });
      await waitJobs(server, `${method} maps of the test pairs`, 30 * 60_000);
      const job = await server.call<Job>('jobs.get', { id: jobId });
      if (job.status === 'done') break;
      // a job cancelled just before can take an engine worker down with it; the next batch runs
      if (attempt === 3) throw new Error(`storing the maps failed: ${job.error}`);
    }
    // main's overlay cache warm for every pair timed (both runs read the same maps)
    await server.call('review.setReviewer', { name: 'bench-warm-up' });
    const queue = await server.call<{ items: { pairId: number }[] }>('review.queue', {
      modelId: model.id,
      split: 'test',
      limit: pairs + 5,
    });
    for (const { pairId } of queue.items) {
      for (const image of ['a', 'b']) {
        for (const kind of ['factual', 'counterfactual']) {
          await server
            .call('explain.overlay', { pairId, modelId: model.id, method, image, kind, colormap: 'jet', opacity: 1 })
            .catch(() => null);
        }
      }
    }
    const load = loadavg()[0];
    const baseline = await runReviewer(server, 'bench-no-prefetch', false, pairs, thinkMs);
    const prefetched = await runReviewer(server, 'bench-prefetch', true, pairs, thinkMs);
    // both reviewers judged the same pairs, in the queue's order
    const expected = queue.items.slice(1, pairs + 1).map((x) => x.pairId);
    for (const r of [baseline, prefetched]) {
      if (r.pairs.join() !== expected.join()) throw new Error(`pairs drawn out of order: ${r.pairs.slice(0, 5).join()}…`);
    }
    const stats = await server.call<{ reviewers: { reviewer: string; complete: number }[] }>('review.stats', { modelId: model.id });
    const complete = stats.reviewers.find((r) => r.reviewer === 'bench-prefetch')?.complete ?? 0;
    if (complete !== pairs) throw new Error(`${complete} complete verdicts stored, ${pairs} expected`);
    const med = median(prefetched.ms);
    const max = Math.max(...prefetched.ms);
    const baseMed = median(baseline.ms);
    return {
      pairs,
      method,
      think_ms: thinkMs,
      load_average_1m: round(load, 2),
      median_ms: round(med),
      p90_ms: round(quantile(prefetched.ms, 0.9)),
      max_ms: round(max),
      baseline_no_prefetch_median_ms: round(baseMed),
      baseline_no_prefetch_max_ms: round(Math.max(...baseline.ms)),
      ratio_median_to_baseline: round(med / baseMed, 2),
      target_ms: TARGET_MS,
      median_within_target: med <= TARGET_MS,
      max_within_target: max <= TARGET_MS,
    };
  } finally {
    await server.stop();
  }
}

if (require.main === module) {
  const arg = (name: string, fallback: number) => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? Number(process.argv[i + 1]) : fallback;
  };
  benchReview({ pairs: arg('pairs', 50), thinkMs: arg('think', 400) })
    .then((f) => {
      for (const [k, v] of Object.entries(f)) console.log(`  ${k.padEnd(36)} ${v}`);
    })
    .catch((error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    });
}
