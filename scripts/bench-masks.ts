// Benchmark section "masks" (for scripts/bench.ts): import and export of 10,000 masks through the
// services the app and `simlens masks` use, on synthetic workspaces (10,000 images of 28 x 28, the
// demo's size, in 10 class folders; pixels are never read). Each image gets a blob-shaped mask.
// Baselines measured in the same run on the same masks: the raw RLE codec (encode every mask to
// its compressed string and decode it back) and the raw PNG codec (the one exports and imports
// use, src/main/images/mask-png.ts: encode and decode every mask in memory, no files, no store). Also: masks.save per stroke, and the live agreement of a map
// with a 1024 x 1024 mask (the renderer's per-stroke measure).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

type Figures = Record<string, number | string | boolean>;

const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;
const round = (x: number, digits = 3) => Number(x.toFixed(digits));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** A seeded blob mask (an ellipse with a notch) of h x w. */
function blob(i: number, h: number, w: number): Uint8Array {
  let s = (i * 2654435761) >>> 0;
  const r = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const cx = w * (0.3 + 0.4 * r());
  const cy = h * (0.3 + 0.4 * r());
  const rx = w * (0.15 + 0.25 * r());
  const ry = h * (0.15 + 0.25 * r());
  const m = new Uint8Array(h * w);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) if (((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1 && !(x > cx && y < cy - ry / 3)) m[y * w + x] = 1;
  return m;
}

export async function masksSection(opts: { count?: number; side?: number } = {}): Promise<Figures> {
  const count = opts.count ?? 10_000;
  const side = opts.side ?? 28;
  const { SimLensApp } = await import('../src/main/app');
  const { encodeMaskString, decodeMaskString } = await import('../src/shared/mask-rle');
  const { prepareMap, maskAgreement } = await import('../src/shared/mask-agreement');
  const { readMaskPng, writeMaskPng } = await import('../src/main/images/mask-png');
  const dir = mkdtempSync(join(tmpdir(), 'simlens-bench-masks-'));
  const apps: InstanceType<typeof SimLensApp>[] = [];
  /** A workspace with the same `count` images (same files and sizes; ids in order). */
  const workspace = (name: string) => {
    const app = new SimLensApp({ dbPath: join(dir, name, 'simlens.db'), shell: 'cli' });
    apps.push(app);
    const datasetId = Number(
      app.db.prepare("INSERT INTO datasets (name, source_kind, source_path) VALUES ('bench', 'folder', '/bench')").run().lastInsertRowid,
    );
    const insert = app.db.prepare(
      "INSERT INTO images (dataset_id, sha256, source_path, class_label, width, height, channels, pixel_encoding, pixels) VALUES (?, ?, ?, ?, ?, ?, 1, 'raw', x'00')",
    );
    app.db.transaction(() => {
      for (let i = 0; i < count; i++)
        insert.run(datasetId, `sha-${i}`, `/bench/class-${i % 10}/img-${i}.png`, `class-${i % 10}`, side, side);
    })();
    return { app, datasetId };
  };
  try {
    const masks = Array.from({ length: count }, (_, i) => blob(i, side, side));

    // baselines: the raw codecs on the same masks
    let t0 = process.hrtime.bigint();
    const strings = masks.map((m) => encodeMaskString(m, side, side));
    for (const s of strings) decodeMaskString(s, side, side);
    const rleS = seconds(t0);
    t0 = process.hrtime.bigint();
    for (const m of masks) await readMaskPng(writeMaskPng(m, side, side));
    const pngCodecS = seconds(t0);

    // the source workspace: every mask saved through the contract, as the renderer saves a stroke
    const src = workspace('src');
    const saves: number[] = [];
    t0 = process.hrtime.bigint();
    for (let i = 0; i < count; i++) {
      const s0 = process.hrtime.bigint();
      await src.app.call('masks.save', { imageId: i + 1, author: 'bench', size: [side, side], counts: strings[i], source: 'painted' });
      saves.push(seconds(s0) * 1000);
    }
    const saveS = seconds(t0);

    const time = async <T>(f: () => Promise<T>): Promise<[T, number]> => {
      const s0 = process.hrtime.bigint();
      const out = await f();
      return [out, seconds(s0)];
    };
    const [png, exportPngS] = await time(() => src.app.call('masks.export', { format: 'png', out: join(dir, 'png') }));
    const [coco, exportCocoS] = await time(() => src.app.call('masks.export', { format: 'coco', out: join(dir, 'masks.json') }));
    const [, exportCsvS] = await time(() => src.app.call('masks.export', { format: 'csv', out: join(dir, 'masks.csv') }));
    const pngIn = workspace('png-in');
    const [fromPng, importPngS] = await time(() => pngIn.app.call('masks.import', { path: png.path, author: 'bench' }));
    const cocoIn = workspace('coco-in');
    const [fromCoco, importCocoS] = await time(() => cocoIn.app.call('masks.import', { path: coco.path }));
    if (fromPng.imported !== count || fromCoco.imported !== count)
      throw new Error(`imported ${fromPng.imported} (PNG) and ${fromCoco.imported} (COCO) of ${count} masks`);
    // spot check: the masks came back exactly
    for (const i of [0, Math.floor(count / 2), count - 1]) {
      for (const ws of [pngIn, cocoIn]) {
        const got = await ws.app.call('masks.get', { imageId: i + 1 });
        if (got?.counts !== strings[i]) throw new Error(`mask ${i} did not come back exactly`);
      }
    }

    // the renderer's per-stroke measure: a 7 x 7 map against a 1024 x 1024 mask
    const prepared = prepareMap({ data: Float32Array.from({ length: 49 }, (_, i) => (i * 37) % 11), h: 7, w: 7 }, 1024, 1024);
    const big = new Uint8Array(1024 * 1024);
    const live: number[] = [];
    for (let k = 0; k < 15; k++) {
      for (let y = 200; y < 260; y++) for (let x = 60 * k; x < 60 * k + 60; x++) big[y * 1024 + x] = 1;
      const s0 = process.hrtime.bigint();
      maskAgreement(prepared, big);
      live.push(seconds(s0) * 1000);
    }

    return {
      masks: count,
      mask_size: `${side}x${side}`,
      baseline_rle_encode_decode_s: round(rleS),
      baseline_png_encode_decode_s: round(pngCodecS),
      save_each_median_ms: round(median(saves), 2),
      save_each_max_ms: round(Math.max(...saves), 1),
      save_all_s: round(saveS),
      export_png_s: round(exportPngS),
      export_coco_s: round(exportCocoS),
      export_csv_s: round(exportCsvS),
      import_png_s: round(importPngS),
      import_coco_s: round(importCocoS),
      ratio_export_png_to_png_codec: round(exportPngS / pngCodecS, 2),
      ratio_import_png_to_png_codec: round(importPngS / pngCodecS, 2),
      ratio_export_coco_to_rle_codec: round(exportCocoS / rleS, 2),
      ratio_import_coco_to_rle_codec: round(importCocoS / rleS, 2),
      live_agreement_1024_median_ms: round(median(live), 2),
      ...(await brushFrameFigures()),
    };
  } finally {
    for (const app of apps) await app.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- brush frame time: the painting UI's part of `npm run bench -- masks` ----
// A 200-point brush stroke (48 px) on a 1024 x 1024 mask in Chromium (the system's, else
// Playwright's), with the renderer's painting code bundled by Vite from scripts/bench-brush-page.ts:
// per frame the painting work (one capsule into the mask, the dirty rectangle onto the canvas) and
// the interval between animation frames (60 Hz: ~16.7 ms when nothing is late); the issue asks for
// no frame over 32 ms. Then what the end of a stroke costs (undo step, RLE for the save, agreement),
// and the magic wand on a 1024 x 1024 image (a 40% region and the whole image).
export async function brushFrameFigures(): Promise<Figures> {
  const { existsSync } = await import('node:fs');
  const { build } = await import('vite');
  const { chromium } = await import('@playwright/test');
  const out = await build({
    configFile: false,
    logLevel: 'silent',
    build: {
      write: false,
      minify: false,
      lib: { entry: join(__dirname, 'bench-brush-page.ts'), formats: ['iife'], name: 'SimLensBrushBench' },
    },
  });
  const chunk = (Array.isArray(out) ? out[0] : out) as { output: { type: string; code?: string }[] };
  const code = chunk.output.find((o) => o.type === 'chunk')?.code;
  if (!code) throw new Error('bench-brush-page did not bundle');
  const system = '/usr/bin/chromium';
  const browser = await chromium.launch({
    headless: true,
    ...(existsSync(system) ? { executablePath: system, args: ['--headless', '--no-sandbox', '--disable-gpu'] } : {}),
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
    await page.setContent('<!doctype html><body style="margin:0"></body>');
    await page.addScriptTag({ content: code });
    type Run = {
      work: number[];
      frames: number[];
      mountFrames: number[];
      endStrokeMs: number;
      encodeMs: number;
      agreementMs: number;
      area: number;
    };
    const run = async () => (await page.evaluate('globalThis.runBrushBench({ side: 1024, points: 200, brush: 48 })')) as Run;
    await run(); // warm-up (JIT)
    const r = await run();
    const sorted = [...r.frames].sort((a, b) => a - b);
    // the same number of frames with nothing drawn, right after: the browser's and machine's own stalls
    const idle = (await page.evaluate(`globalThis.runFrameBaseline({ frames: ${r.frames.length} })`)) as number[];
    // long frames in which the brush's own work was small: a stall from outside the brush
    const longFrames = r.frames.flatMap((f, i) => (f > 32 ? [{ frame: i, ms: round(f, 1), brushWorkMs: round(r.work[i], 2) }] : []));
    type Wand = Record<'blob' | 'uniform', { fill: number[]; ms: number[]; area: number }>;
    const wand = (await page.evaluate('globalThis.runWandBench({ side: 1024, runs: 21 })')) as Wand;
    return {
      brush_stroke: '200 points, 48 px brush, 1024x1024, Chromium',
      brush_work_median_ms: round(median(r.work), 2),
      brush_work_max_ms: round(Math.max(...r.work), 2),
      brush_frame_median_ms: round(median(r.frames), 1),
      brush_frame_max_ms: round(Math.max(...r.frames), 1),
      brush_frames_over_32ms: r.frames.filter((f) => f > 32).length,
      brush_frame_p95_ms: round(sorted[Math.floor(sorted.length * 0.95)], 1),
      brush_long_frames: JSON.stringify(longFrames),
      layer_mount_frame_max_ms: round(Math.max(...r.mountFrames), 1),
      idle_frame_median_ms: round(median(idle), 1),
      idle_frame_max_ms: round(Math.max(...idle), 1),
      idle_frames_over_32ms: idle.filter((f) => f > 32).length,
      stroke_end_undo_step_ms: round(r.endStrokeMs, 2),
      stroke_end_rle_ms: round(r.encodeMs, 2),
      stroke_end_agreement_ms: round(r.agreementMs, 2),
      brush_stroke_area: r.area,
      wand: 'magic wand (scanline fill + write into the mask), 1024x1024 RGB at full size, Chromium, 21 runs',
      wand_blob_fill_median_ms: round(median(wand.blob.fill), 2),
      wand_blob_median_ms: round(median(wand.blob.ms), 2),
      wand_blob_max_ms: round(Math.max(...wand.blob.ms), 2),
      wand_blob_area: wand.blob.area,
      wand_whole_image_fill_median_ms: round(median(wand.uniform.fill), 2),
      wand_whole_image_median_ms: round(median(wand.uniform.ms), 2),
      wand_whole_image_max_ms: round(Math.max(...wand.uniform.ms), 2),
    };
  } finally {
    await browser.close();
  }
}
