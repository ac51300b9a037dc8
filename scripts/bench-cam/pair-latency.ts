// Latency of explaining ONE pair (both images, factual + counterfactual Grad-CAM, one
// forward + one backward) against the plain forward of the same pair, in the same run.
//
//   npx tsx scripts/bench-cam/pair-latency.ts [--json] [--skip-resnet] [--reps N]
//
// Models: the project's small CNN at 28x28x1 and ResNet50 at 224x224x3 (untrained,
// seeded weights: latency does not depend on the weight values), split at their default
// Grad-CAM layer by toCamModel. Backend: initBackend() (wasm when no native tfjs is
// installed). Targets (issue 4): small CNN < 20 ms/pair; ResNet50 < 700 ms/pair.
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/main/engine/runtime/backend';
import { gradCamPair, gradientCams } from '../../src/main/engine/explain/cam';
import { buildSiamese, defaultModelConfig, type Arch } from '../../src/main/engine/models';
import { toCamModel } from '../../src/main/engine/explain';

interface Row {
  model: string;
  input: string;
  layer: string;
  case: string;
  reps: number;
  medianMs: number;
  minMs: number;
  ratioToForward: number | null;
  target?: string;
}

const args = process.argv.slice(2);
const asJson = args.includes('--json');
const skipResnet = args.includes('--skip-resnet');
const repsArg = args.indexOf('--reps');
const repsOverride = repsArg >= 0 ? Number(args[repsArg + 1]) : undefined;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function benchModel(arch: Arch, shape: [number, number, number], reps: number, warmup: number, target: number): Promise<Row[]> {
  const siamese = await buildSiamese(defaultModelConfig({ arch, inputShape: shape, seed: 1 }));
  const cam = toCamModel(siamese);
  const x1 = tf.randomUniform([1, ...shape], 0, 1, 'float32', 1) as tf.Tensor4D;
  const x2 = tf.randomUniform([1, ...shape], 0, 1, 'float32', 2) as tf.Tensor4D;
  const before = tf.memory().numTensors;
  const forward = async () => {
    const s = tf.tidy(() => siamese.scorePairs(x1, x2).score);
    await s.data();
    s.dispose();
  };
  const featuresHeadForward = async () => {
    const s = tf.tidy(() => cam.score(cam.head(cam.features(x1)), cam.head(cam.features(x2))));
    await s.data();
    s.dispose();
  };
  const gradcam = () => gradCamPair(cam, x1, x2);
  const allGradient = () => gradientCams(cam, x1, x2, ['gradcam', 'gradcampp', 'xgradcam', 'hirescam', 'layercam']);
  // batch throughput of Grad-CAM (b pairs in one forward/backward), per pair
  const b = arch === 'small' ? 32 : 4;
  const xb1 = tf.randomUniform([b, ...shape], 0, 1, 'float32', 3) as tf.Tensor4D;
  const xb2 = tf.randomUniform([b, ...shape], 0, 1, 'float32', 4) as tf.Tensor4D;
  const batchForward = async () => {
    const s = tf.tidy(() => siamese.scorePairs(xb1, xb2).score);
    await s.data();
    s.dispose();
  };
  const batchGradcam = () => gradientCams(cam, xb1, xb2, ['gradcam']);
  const cases: { name: string; fn: () => Promise<unknown>; per: number; target?: string }[] = [
    { name: 'forward of the pair (baseline)', fn: forward, per: 1 },
    { name: 'forward via features+head split', fn: featuresHeadForward, per: 1 },
    { name: 'Grad-CAM pair: factual+counterfactual, both images', fn: gradcam, per: 1, target: `< ${target} ms` },
    { name: 'all 5 gradient CAMs from one backward', fn: allGradient, per: 1 },
    { name: `forward of a batch of ${b} pairs, per pair`, fn: batchForward, per: b },
    { name: `Grad-CAM, batch of ${b} pairs, per pair`, fn: batchGradcam, per: b },
  ];
  for (let i = 0; i < warmup; i++) for (const c of cases) await c.fn();
  // Interleaved: every rep runs every case once, so load from other processes hits all
  // cases alike; the ratio is the median of per-rep ratios to that rep's pair forward.
  const times = cases.map(() => [] as number[]);
  for (let r = 0; r < reps; r++) {
    for (const [ci, c] of cases.entries()) {
      const t0 = performance.now();
      await c.fn();
      times[ci].push((performance.now() - t0) / c.per);
    }
  }
  const rows: Row[] = cases.map((c, ci) => ({
    model: arch,
    input: shape.join('x'),
    layer: cam.layer,
    case: c.name,
    reps,
    medianMs: median(times[ci]),
    minMs: Math.min(...times[ci]),
    ratioToForward: median(times[ci].map((t, r) => t / times[0][r])),
    ...(c.target ? { target: c.target } : {}),
  }));
  const input = shape.join('x');
  tf.dispose([xb1, xb2]);
  const leaked = tf.memory().numTensors - before;
  if (leaked !== 0)
    rows.push({
      model: arch,
      input,
      layer: cam.layer,
      case: `LEAK: ${leaked} tensors`,
      reps: 0,
      medianMs: NaN,
      minMs: NaN,
      ratioToForward: null,
    });
  tf.dispose([x1, x2]);
  siamese.dispose();
  return rows;
}

async function main() {
  const info = await initBackend();
  const rows: Row[] = [];
  rows.push(...(await benchModel('small', [28, 28, 1], repsOverride ?? 50, 5, 20)));
  if (!skipResnet) rows.push(...(await benchModel('resnet50', [224, 224, 3], repsOverride ?? 5, 1, 700)));
  const out = { backend: info.name, wasm: info.wasm ?? null, notes: info.notes, node: process.version, rows };
  if (asJson) {
    console.log(JSON.stringify(out, null, 2));
    return;
  }
  console.log(
    `backend: ${info.name}${info.wasm ? ` (simd ${info.wasm.simd}, threads ${info.wasm.threads})` : ''}; node ${process.version}`,
  );
  for (const r of rows) {
    const ratio = r.ratioToForward == null ? '' : ` x${r.ratioToForward.toFixed(2)} of forward`;
    console.log(
      `${r.model.padEnd(9)} ${r.input.padEnd(10)} ${r.case.padEnd(54)} median ${r.medianMs.toFixed(1).padStart(7)} ms  min ${r.minMs.toFixed(1).padStart(7)} ms${ratio}${r.target ? `  (target ${r.target})` : ''}`,
    );
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
