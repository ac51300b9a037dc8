// Bilinear upsampling conventions, colormap values, blending and PNG output.
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { colormapFloat, colormapLut, colormapRgb } from '../../src/main/images/colormap';
import { blendOverlay, decodeImage, heatmapPng, overlayPng, upsampleBilinear } from '../../src/main/images/overlay';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-6) => {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < b.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(tol);
};

describe('bilinear upsampling', () => {
  it('half-pixel centres (default): 1x2 -> 1x4 and 2x2 -> 4x4 by hand', () => {
    close(upsampleBilinear([0, 1], 1, 2, 1, 4), [0, 0.25, 0.75, 1]);
    // source rows at -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1)
    close(upsampleBilinear([0, 1, 2, 3], 2, 2, 4, 4), [0, 0.25, 0.75, 1, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3]);
  });

  it('align corners: the corner samples coincide', () => {
    close(upsampleBilinear([0, 1], 1, 2, 1, 4, { alignCorners: true }), [0, 1 / 3, 2 / 3, 1]);
  });

  it('same size is the identity; a constant stays constant', () => {
    close(upsampleBilinear([1, 2, 3, 4, 5, 6], 2, 3, 2, 3), [1, 2, 3, 4, 5, 6]);
    for (const v of upsampleBilinear(new Float32Array(12).fill(0.3), 3, 4, 17, 9)) expect(v).toBeCloseTo(0.3, 6);
  });

  it('agrees with tf.image.resizeBilinear(halfPixelCenters) and (alignCorners)', () => {
    const h = 3;
    const w = 5;
    const map = Float32Array.from({ length: h * w }, (_, i) => Math.sin(i * 1.7) + i / 10);
    const t = tf.tensor4d(map, [1, h, w, 1]);
    const half = tf.image.resizeBilinear(t, [7, 11], false, true);
    const ac = tf.image.resizeBilinear(t, [7, 11], true, false);
    close(upsampleBilinear(map, h, w, 7, 11), half.dataSync(), 1e-5);
    close(upsampleBilinear(map, h, w, 7, 11, { alignCorners: true }), ac.dataSync(), 1e-5);
    tf.dispose([t, half, ac]);
  });
});

describe('colormaps', () => {
  it('viridis: known entries of the matplotlib table', () => {
    expect(colormapRgb('viridis', 0)).toEqual([68, 1, 84]); // #440154
    expect(colormapRgb('viridis', 1)).toEqual([253, 231, 37]); // #fde725
    close(colormapFloat('viridis', 0.5), [0.127568, 0.566949, 0.550556]); // entry 128, #21918c
    close(colormapFloat('viridis', 0.25), [0.229739, 0.322361, 0.545706]); // entry 64
  });

  it('jet: matplotlib _jet_data', () => {
    close(colormapFloat('jet', 0), [0, 0, 0.5]);
    close(colormapFloat('jet', 1), [0.5, 0, 0]);
    close(colormapFloat('jet', 0.5), [0.15 / 0.31, 1, 1 - 0.16 / 0.31]);
    // matplotlib's cm.jet(0.5) samples its 256-entry LUT at x = 128/255: (0.490196, 1, 0.477546)
    close(colormapFloat('jet', 128 / 255), [0.490196, 1, 0.477546], 1e-6);
    close(colormapFloat('jet', 0.375), [0.025 / 0.31, 1, 1 - 0.035 / 0.31]);
  });

  it('clamps and handles non-finite values; LUT has 256 entries', () => {
    expect(colormapRgb('jet', -3)).toEqual(colormapRgb('jet', 0));
    expect(colormapRgb('jet', 7)).toEqual(colormapRgb('jet', 1));
    expect(colormapRgb('viridis', Number.NaN)).toEqual(colormapRgb('viridis', 0));
    const lut = colormapLut('viridis');
    expect(lut.length).toBe(768);
    expect(Array.from(lut.slice(765))).toEqual([253, 231, 37]);
  });
});

describe('overlay', () => {
  it('alpha-blends the coloured map onto a grey image', () => {
    const image = { data: new Uint8Array([100, 100, 100, 100]), width: 2, height: 2, channels: 1 };
    const out = blendOverlay(image, [1, 1, 1, 1], 2, 2, { colormap: 'jet', opacity: 0.5 });
    // jet(1) = (0.5, 0, 0) -> (128, 0, 0); 0.5 * 100 + 0.5 * 128 = 114
    expect(Array.from(out.slice(0, 3))).toEqual([114, 50, 50]);
    const faint = blendOverlay(image, [0, 0, 0, 0], 2, 2, { opacity: 0.8, weightByMap: true });
    expect(Array.from(faint)).toEqual(new Array(12).fill(100));
  });

  it('upsamples the map to an RGB image and encodes a PNG that decodes to the same pixels', async () => {
    const W = 8;
    const H = 6;
    const rgb = new Uint8Array(W * H * 3).map((_, i) => (i * 37) % 256);
    const image = { data: rgb, width: W, height: H, channels: 3 };
    const map = [0, 0.5, 1, 0.25];
    const png = await overlayPng(image, map, 2, 2, { colormap: 'viridis', opacity: 0.4 });
    const meta = await sharp(png).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', W, H]);
    const back = await decodeImage(png);
    expect(back.channels).toBe(3);
    expect(Array.from(back.data)).toEqual(Array.from(blendOverlay(image, map, 2, 2, { colormap: 'viridis', opacity: 0.4 })));
    const heat = await heatmapPng(map, 2, 2, 16, 16, { colormap: 'jet' });
    expect((await sharp(heat).metadata()).width).toBe(16);
  });

  it('decodes a grey PNG as one channel', async () => {
    const grey = await sharp(Buffer.from(new Uint8Array(16).fill(9)), { raw: { width: 4, height: 4, channels: 1 } })
      .toColourspace('b-w')
      .png()
      .toBuffer();
    expect((await sharp(grey).metadata()).channels).toBe(1);
    const img = await decodeImage(grey);
    expect([img.width, img.height, img.channels]).toEqual([4, 4, 1]);
  });
});
