// Benchmark section "pairs" (for scripts/bench.ts): pair generation at Fashion-MNIST
// scale and pair paging at 100k+ pairs, through the same service the app uses.
// Images are synthetic rows (4 raw bytes each): generation and paging never read pixels.
// Baseline for paging, measured in the same run: naive paging (LIMIT/OFFSET and a
// count, with the indexes disabled), i.e. what a page costs without keyset + index.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jobResult } from '../src/shared/job-result';

type Figures = Record<string, number | string | boolean>;

const IMAGES = 70_000;
const CLASSES = 10;
const PAGES = 200;
const PAGE_LIMIT = 100;

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
const round = (x: number, digits = 3) => Number(x.toFixed(digits));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function pairsSection(): Promise<Figures> {
  const { SimLensApp } = await import('../src/main/app');
  const { PairsRepo } = await import('../src/main/store/pairs-repo');
  const dir = mkdtempSync(join(tmpdir(), 'simlens-bench-pairs-'));
  const app = new SimLensApp({ dbPath: join(dir, 'bench.db'), shell: 'cli' });
  try {
    const datasetId = Number(
      app.db.prepare("INSERT INTO datasets (name, source_kind, source_path, has_official_test) VALUES ('bench', 'idx', '/bench', 1)").run()
        .lastInsertRowid,
    );
    const insert = app.db.prepare(
      "INSERT INTO images (dataset_id, sha256, source_path, class_label, official_split, width, height, channels, pixel_encoding, pixels) VALUES (?, ?, ?, ?, ?, 2, 2, 1, 'raw', ?)",
    );
    app.db.transaction(() => {
      for (let i = 0; i < IMAGES; i++) {
        const sha = createHash('sha256').update(String(i)).digest('hex');
        insert.run(
          datasetId,
          sha,
          `img-${i}`,
          String(i % CLASSES),
          i >= (IMAGES * 6) / 7 ? 'test' : 'train',
          Buffer.from([i & 255, 0, 0, 0]),
        );
      }
    })();

    // Generation: 70k images (60k official train + 10k official test), 1 partner of each kind per anchor.
    let t0 = process.hrtime.bigint();
    const { jobId } = await app.call('pairs.generate', { datasetId, seed: 1, ratios: undefined, pairsPerAnchor: undefined });
    const job = await app.jobs.wait(jobId);
    const generateMs = ms(t0);
    if (job.status !== 'done') throw new Error(`pairs job ended ${job.status}: ${job.error}`);
    const { pairSetId, pairCount } = jobResult(job, 'pairs')!;

    // Paging: keyset pages spread over the whole set, per filter (rows + total count).
    const maxId = (app.db.prepare('SELECT max(id) AS m FROM pairs').get() as { m: number }).m;
    const filters = {
      all: {},
      split: { split: 'val' as const },
      label: { label: 1 as const },
      split_label: { split: 'test' as const, label: 0 as const },
    };
    const figures: Figures = { images: IMAGES, pairs: pairCount, generate_ms: round(generateMs, 1) };
    let worstRatio = 0;
    for (const [name, f] of Object.entries(filters)) {
      const times: number[] = [];
      for (let i = 0; i < PAGES; i++) {
        const afterId = Math.floor((i / PAGES) * maxId);
        t0 = process.hrtime.bigint();
        await app.call('pairs.page', { datasetId, pairSetId, ...f, afterId, limit: PAGE_LIMIT });
        times.push(ms(t0));
      }
      // Naive paging: the same rows by OFFSET, and the total, without any index.
      const { sql, params } = PairsRepo.pageSql({ pairSetId, ...f });
      const naivePage = app.db.prepare(
        sql
          .replace(/INDEXED BY \w+/, 'NOT INDEXED')
          .replace('AND p.id > ?', '')
          .replace('LIMIT ?', 'LIMIT ? OFFSET ?'),
      );
      const where = sql.slice(sql.indexOf('WHERE') + 6, sql.indexOf('AND p.id > ?'));
      const naiveCount = app.db.prepare(`SELECT count(*) FROM pairs p NOT INDEXED WHERE ${where}`);
      const total = (naiveCount.get(...params) as Record<string, number>)['count(*)'];
      const baseline: number[] = [];
      for (let i = 0; i < 40; i++) {
        t0 = process.hrtime.bigint();
        naivePage.all(...params, PAGE_LIMIT, Math.floor((i / 40) * Math.max(0, total - PAGE_LIMIT)));
        naiveCount.get(...params);
        baseline.push(ms(t0));
      }
      const page = median(times);
      figures[`page_${name}_median_ms`] = round(page);
      figures[`page_${name}_p95_ms`] = round([...times].sort((a, b) => a - b)[Math.floor(times.length * 0.95)]);
      figures[`naive_offset_${name}_median_ms`] = round(median(baseline));
      worstRatio = Math.max(worstRatio, page / median(baseline));
    }
    figures.worst_ratio_page_to_naive = round(worstRatio, 3);
    return figures;
  } finally {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
