// Live mask agreement (src/shared/mask-agreement.ts): the renderer's EPG, pointing game and IoU
// against the mask being painted equal the metrics job's (engine/explain/metrics/localization.ts)
// to the bit, and one measurement of a 1024 x 1024 mask takes well under 50 ms.
import { describe, expect, it } from 'vitest';
import { energyPointingGame, pointingGame, thresholdIoU } from '../../src/main/engine/explain/metrics/localization';
import { energyInside, maskAgreement, prepareMap } from '../../src/shared/mask-agreement';

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('mask agreement', () => {
  it('equals the metrics job on random maps and masks (several grids and mask sizes)', () => {
    const r = rng(11);
    for (let t = 0; t < 60; t++) {
      const h = 1 + Math.floor(r() * 9);
      const w = 1 + Math.floor(r() * 9);
      const H = t % 5 === 0 ? h : 1 + Math.floor(r() * 40);
      const W = t % 5 === 0 ? w : 1 + Math.floor(r() * 40);
      const map = Float32Array.from({ length: h * w }, () => (t % 13 === 0 ? 0 : r() < 0.2 ? 0 : r()));
      const p = r();
      const mask = Uint8Array.from({ length: H * W }, () => (r() < p ? 1 : 0));
      const got = maskAgreement(prepareMap({ data: map, h, w }, H, W), mask);
      const grid = { data: map, h, w };
      const m = { data: mask, h: H, w: W };
      expect(got).toEqual({ epg: energyPointingGame(grid, m), pointingGame: pointingGame(grid, m), iou: thresholdIoU(grid, m) });
      expect(energyInside(grid, mask, H, W)).toBe(energyPointingGame(grid, m));
    }
  });

  it('answers null for a map without evidence and for an empty union', () => {
    const zero = prepareMap({ data: new Float32Array(4), h: 2, w: 2 }, 4, 4);
    expect(maskAgreement(zero, new Uint8Array(16).fill(1))).toEqual({ epg: null, pointingGame: null, iou: 0 });
    expect(maskAgreement(zero, new Uint8Array(16))).toEqual({ epg: null, pointingGame: null, iou: null });
    // all energy in the top-left cell: inside a mask of the top-left quarter
    const corner = prepareMap({ data: Float32Array.of(1, 0, 0, 0), h: 2, w: 2 }, 2, 2);
    expect(maskAgreement(corner, Uint8Array.of(1, 0, 0, 0))).toEqual({ epg: 1, pointingGame: true, iou: 1 });
    expect(maskAgreement(corner, Uint8Array.of(0, 1, 1, 1))).toEqual({ epg: 0, pointingGame: false, iou: 0 });
  });

  it('refuses a negative map and a mask of another size', () => {
    expect(() => prepareMap({ data: Float32Array.of(1, -1), h: 1, w: 2 }, 2, 2)).toThrow(/non-negative/);
    const p = prepareMap({ data: Float32Array.of(1, 1), h: 1, w: 2 }, 2, 2);
    expect(() => maskAgreement(p, new Uint8Array(3))).toThrow(/prepared for 2 x 2/);
  });

  it('measures a 7x7 map against a 1024 x 1024 mask in well under 50 ms per stroke', () => {
    const r = rng(5);
    const map = Float32Array.from({ length: 49 }, () => r());
    const prepared = prepareMap({ data: map, h: 7, w: 7 }, 1024, 1024);
    const mask = new Uint8Array(1024 * 1024);
    const times: number[] = [];
    for (let k = 0; k < 9; k++) {
      // a stroke: a disc more
      const cx = 100 + 90 * k;
      for (let y = 300; y < 500; y++)
        for (let x = cx - 60; x < cx + 60; x++) if ((x - cx) ** 2 + (y - 400) ** 2 < 3600) mask[y * 1024 + x] = 1;
      const t0 = performance.now();
      maskAgreement(prepared, mask);
      times.push(performance.now() - t0);
    }
    const median = times.sort((a, b) => a - b)[4];
    expect(median).toBeLessThan(50);
  });
});
