// "Deletion AUC of Grad-CAM beats the random map on a trained small CNN over
// Fashion-MNIST test pairs (report the mean and the share of pairs where it does)."
//
//   npx tsx scripts/bench-cam/deletion-fashion.ts [--model DIR] [--pairs 100] [--steps 28]
//        [--method gradcam] [--layer NAME] [--seed 0] [--baseline zeros|blur|VALUE]
//
// DIR: a saved Siamese model (saveSiamese; e.g. from scripts/train-fashion.ts --out DIR);
// default /tmp/simlens-fashion-model, else /tmp/simlens-fashion-smoke. Pairs: seeded,
// half same-class, half different-class, from the official t10k images (never trained
// on). For each pair and each image: the method's factual map, deletion (zeros baseline,
// = Fashion-MNIST's black background) and insertion (blur baseline) AUC for the map, a
// seeded random map and the centre prior. Reported separately for same/different pairs.
// Also: the share of the map's mass on black pixels (x = 0), where the zeros baseline of
// deletion changes nothing, so evidence placed there cannot lower the deletion curve.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/main/engine/runtime/backend';
import { explainPair, isCamMethod, type CamMethod } from '../../src/main/engine/explain/cam';
import { aggregateFaithfulness, faithfulness, type FaithfulnessReport, type PixelBaseline } from '../../src/main/engine/explain/metrics';
import { loadSiamese } from '../../src/main/engine/models';
import { toCamModel } from '../../src/main/engine/explain';
import { upsampleBilinear } from '../../src/main/images/overlay';
import { createRng } from '../../src/main/pairs/rng';

const DIR = '/usr/share/datasets/fashion-mnist';
const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
};

function readIdx(file: string): { dims: number[]; data: Uint8Array } {
  const buf = gunzipSync(readFileSync(join(DIR, file)));
  const nd = buf.readUInt32BE(0) & 0xff;
  const dims = Array.from({ length: nd }, (_, i) => buf.readUInt32BE(4 + 4 * i));
  return {
    dims,
    data: new Uint8Array(
      buf.buffer,
      buf.byteOffset + 4 + 4 * nd,
      dims.reduce((a, b) => a * b, 1),
    ),
  };
}

async function main() {
  const modelDir = arg(
    'model',
    existsSync('/tmp/simlens-fashion-model/siamese.json') ? '/tmp/simlens-fashion-model' : '/tmp/simlens-fashion-smoke',
  );
  const nPairs = Number(arg('pairs', '100'));
  const steps = Number(arg('steps', '28'));
  const method = arg('method', 'gradcam');
  if (!isCamMethod(method)) throw new Error(`unknown method ${method}`);
  const seed = Number(arg('seed', '0'));
  // the pixel baseline of BOTH curves (default: zeros for deletion, blur for insertion)
  const baselineArg = arg('baseline', '');
  const baseline: PixelBaseline | undefined =
    baselineArg === '' ? undefined : baselineArg === 'zeros' || baselineArg === 'blur' ? baselineArg : Number(baselineArg);
  const backend = await initBackend();
  const siamese = await loadSiamese(modelDir);
  const layerArg = arg('layer', '');
  const cam = toCamModel(siamese, layerArg || undefined);
  const meta = JSON.parse(readFileSync(join(modelDir, 'siamese.json'), 'utf8'));
  const img = readIdx('t10k-images-idx3-ubyte.gz');
  const lab = readIdx('t10k-labels-idx1-ubyte.gz').data;
  const rng = createRng(seed, 4242);
  const byClass = Array.from({ length: 10 }, (_, c) => Array.from(lab.keys()).filter((i) => lab[i] === c));
  const image = (i: number) =>
    tf.tensor4d(
      Float32Array.from(img.data.subarray(i * 784, (i + 1) * 784), (v) => v / 255),
      [1, 28, 28, 1],
    );
  const reports: { same: FaithfulnessReport[]; different: FaithfulnessReport[] } = { same: [], different: [] };
  const t0 = Date.now();
  const before = tf.memory().numTensors;
  let noEvidence = 0;
  const massOnBlack: { same: number[]; different: number[] } = { same: [], different: [] };
  const pairWins: { same: number[]; different: number[] } = { same: [], different: [] };
  for (let p = 0; p < nPairs; p++) {
    const same = p % 2 === 0;
    const a = rng.int(lab.length);
    let b: number;
    if (same) {
      do b = byClass[lab[a]][rng.int(byClass[lab[a]].length)];
      while (b === a);
    } else {
      do b = rng.int(lab.length);
      while (lab[b] === lab[a]);
    }
    const [x1, x2] = [image(a), image(b)];
    const ex = await explainPair(cam, x1, x2, method as CamMethod);
    const pairReports: FaithfulnessReport[] = [];
    for (const which of [0, 1] as const) {
      const im = ex.images[which];
      if (im.noEvidence.factual) {
        noEvidence++;
        continue; // nothing to rank by: a zero map is not an explanation to test
      }
      const up = upsampleBilinear(im.factual, im.h, im.w, 28, 28);
      const px = (which === 0 ? x1 : x2).dataSync();
      let onBlack = 0;
      let total = 0;
      for (let p = 0; p < 784; p++) {
        total += up[p];
        if (px[p] === 0) onBlack += up[p];
      }
      massOnBlack[same ? 'same' : 'different'].push(total > 0 ? onBlack / total : 0);
      const rep = await faithfulness(
        cam,
        x1,
        x2,
        which,
        { data: im.factual, h: im.h, w: im.w },
        { steps, seed: p, randomSeed: 1000 + p, batchSize: steps + 1, ...(baseline !== undefined ? { baseline } : {}) },
      );
      reports[same ? 'same' : 'different'].push(rep);
      pairReports.push(rep);
    }
    if (pairReports.length > 0) {
      // per pair: mean deletion AUC over its measured images, map vs random
      const m = (k: 'map' | 'random') => pairReports.reduce((a, r) => a + r[k].deletion.auc, 0) / pairReports.length;
      pairWins[same ? 'same' : 'different'].push(m('map') < m('random') ? 1 : 0);
    }
    tf.dispose([x1, x2]);
  }
  const leaked = tf.memory().numTensors - before;
  const mean = (v: number[]) => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : null);
  const part = (r: FaithfulnessReport[], pairs: number[], black: number[]) => ({
    ...aggregateFaithfulness(r),
    pairShareDeletionBeatsRandom: mean(pairs),
    mapMassOnBlack: mean(black),
  });
  const summary = {
    same: part(reports.same, pairWins.same, massOnBlack.same),
    different: part(reports.different, pairWins.different, massOnBlack.different),
    all: part(
      [...reports.same, ...reports.different],
      [...pairWins.same, ...pairWins.different],
      [...massOnBlack.same, ...massOnBlack.different],
    ),
  };
  const out = {
    backend: backend.name,
    model: { dir: modelDir, testAuc: meta.evaluation?.test?.auc ?? null, layer: cam.layer },
    method,
    baseline: baseline ?? 'default',
    pairs: nPairs,
    steps,
    imagesWithNoEvidence: noEvidence,
    seconds: (Date.now() - t0) / 1000,
    leakedTensors: leaked,
    summary,
  };
  console.log(JSON.stringify(out, null, 2));
  siamese.dispose();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
