import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImageSet, decodeImage, inputShapeFor, pairListFrom } from '../../src/main/engine/data/dataset';
import { fileLoadHandler, fileSaveHandler, loadLayersModel } from '../../src/main/engine/runtime/model-io';

const dirs: string[] = [];
beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterAll(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('decodeImage', () => {
  it("'raw' uint8 HWC at the input size: bytes / 255", async () => {
    const px = Buffer.from([0, 51, 102, 255]);
    const out = await decodeImage({ width: 2, height: 2, channels: 1, pixel_encoding: 'raw', pixels: px }, [2, 2, 1]);
    expect(Array.from(out)).toEqual([0, 0.2, 0.4, 1].map((v) => expect.closeTo(v, 6)));
  });

  it("'png' bytes decode; grey is replicated to 3 channels; resizing keeps a flat image flat", async () => {
    const png = await sharp(Buffer.alloc(16, 200), { raw: { width: 4, height: 4, channels: 1 } })
      .png()
      .toBuffer();
    const out = await decodeImage({ width: 4, height: 4, channels: 1, pixel_encoding: 'png', pixels: png }, [2, 2, 3]);
    expect(out).toHaveLength(12);
    for (const v of out) expect(v).toBeCloseTo(200 / 255, 2);
  });

  it('RGB to grey at the input channel count: the Rec. 709 luminance of the linear colour, back in sRGB', async () => {
    const toLinear = (v: number) => (v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    const toSrgb = (y: number) => (y <= 0.0031308 ? 12.92 * y : 1.055 * y ** (1 / 2.4) - 0.055);
    const grey = ([r, g, b]: number[]) =>
      Math.round(255 * toSrgb(0.2126 * toLinear(r / 255) + 0.7152 * toLinear(g / 255) + 0.0722 * toLinear(b / 255)));
    // red 127, green 220, blue 76: the weights differ 3-10 fold, so a swapped channel or a plain mean is caught
    expect(
      [
        [255, 0, 0],
        [0, 255, 0],
        [0, 0, 255],
      ].map(grey),
    ).toEqual([127, 220, 76]);
    for (const colour of [
      [255, 0, 0],
      [0, 255, 0],
      [0, 0, 255],
      [128, 64, 32],
      [200, 200, 200],
    ]) {
      const rgb = Buffer.from(Array.from({ length: 4 }, () => colour).flat()); // 2x2, one colour
      const out = await decodeImage({ width: 2, height: 2, channels: 3, pixel_encoding: 'raw', pixels: rgb }, [2, 2, 1]);
      expect(out).toHaveLength(4);
      for (const v of out) expect(Math.abs(v * 255 - grey(colour)), `rgb(${colour.join(', ')})`).toBeLessThanOrEqual(1);
    }
  });

  it('builds an ImageSet in row order and pair lists with ids', async () => {
    const rows = [0, 255].map((v) => ({ width: 1, height: 1, channels: 1, pixel_encoding: 'raw' as const, pixels: Buffer.from([v]) }));
    const set = await buildImageSet(rows, [1, 1, 1]);
    expect(Array.from(set.pixels)).toEqual([0, 1]);
    expect(inputShapeFor([{ width: 28, height: 28, channels: 1 }])).toEqual([28, 28, 1]);
    expect(inputShapeFor([{ width: 500, height: 250, channels: 3 }])).toEqual([32, 64, 3]);
    const pl = pairListFrom([{ a: 0, b: 1, label: 1, id: 7 }]);
    expect([pl.a[0], pl.b[0], pl.label[0], pl.ids![0]]).toEqual([0, 1, 1, 7]);
  });
});

describe('model folders (file IOHandler)', () => {
  it('writes several shards when asked and reads them back into identical weights', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'simlens-io-'));
    dirs.push(dir);
    const model = tf.sequential({
      layers: [tf.layers.dense({ inputShape: [30], units: 40, kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) })],
    });
    await model.save(fileSaveHandler(dir, 1000));
    const files = readdirSync(dir).sort();
    expect(files.filter((f) => f.endsWith('.bin')).length).toBe(Math.ceil(((30 * 40 + 40) * 4) / 1000));
    const back = await loadLayersModel(dir);
    const [w1, w2] = [model.getWeights()[0], back.getWeights()[0]];
    expect(Array.from(w2.dataSync())).toEqual(Array.from(w1.dataSync()));
    await expect(fileLoadHandler(join(dir, 'missing')).load!()).rejects.toThrow(/No model.json/);
  });
});
