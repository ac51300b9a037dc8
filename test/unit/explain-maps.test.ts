// explain.maps' payload (src/main/services/explain-maps.ts): maps go as stored up to 64 cells a
// side; larger ones (input-space methods on large inputs) are averaged down, each cell's share of
// the map's energy kept; no-evidence flags and image sizes come along.
import { describe, expect, it } from 'vitest';
import { encodeMap } from '../../src/main/engine/explain';
import { downsampleArea, explainMapsDto, sentGrid } from '../../src/main/services/explain-maps';
import type { ExplanationRow, PairWithImages } from '../../src/main/store/explanations-repo';

describe('explain.maps payload', () => {
  it('keeps grids up to 64 a side, scales larger ones to 64 on the long side (aspect kept)', () => {
    expect(sentGrid(7, 7)).toEqual([7, 7]);
    expect(sentGrid(64, 64)).toEqual([64, 64]);
    expect(sentGrid(224, 224)).toEqual([64, 64]);
    expect(sentGrid(224, 112)).toEqual([64, 32]);
    expect(sentGrid(1, 500)).toEqual([1, 64]);
  });

  it('averages over the area each cell covers (whole and fractional blocks), keeping the energy shares', () => {
    const map = Float32Array.from({ length: 16 }, (_, i) => i);
    expect(Array.from(downsampleArea(map, 4, 4, 2, 2))).toEqual([2.5, 4.5, 10.5, 12.5]);
    const r = Float32Array.from({ length: 9 * 9 }, (_, i) => (i * 7919) % 13);
    const down = downsampleArea(r, 9, 9, 4, 4);
    // the mean is kept (each cell covers 9/4 x 9/4 source cells)
    const mean = (xs: ArrayLike<number>) => Array.from(xs).reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(down)).toBeCloseTo(mean(r), 10);
  });

  it('sends a 224 x 224 map averaged down to 64 x 64 and says so', () => {
    const h = 224;
    const map = new Float32Array(h * h);
    for (let y = 0; y < 112; y++) for (let x = 0; x < 112; x++) map[y * h + x] = 1; // energy in the top-left quarter
    const row = {
      id: 1,
      pair_id: 5,
      model_id: 2,
      method: 'occlusion',
      layer: 'input',
      map_height: h,
      map_width: h,
      a_factual: encodeMap(map),
      a_counterfactual: null,
      b_factual: encodeMap(new Float32Array(h * h)),
      b_counterfactual: null,
      score: 0.7,
      meta: {
        counterfactualDefined: false,
        noEvidence: { a: { factual: false, counterfactual: null }, b: { factual: true, counterfactual: null } },
      },
      created_at: '2025-01-01T00:00:00.000Z',
    } as unknown as ExplanationRow;
    const pair = { id: 5, a: { id: 10, width: 300, height: 200 }, b: { id: 11, width: 224, height: 224 } } as unknown as PairWithImages;
    const dto = explainMapsDto(row, pair, true);
    expect(dto).toMatchObject({
      mapHeight: 64,
      mapWidth: 64,
      downsampledFrom: [224, 224],
      method: 'occlusion',
      layer: 'input',
      counterfactualDefined: false,
    });
    expect(dto.a).toMatchObject({
      imageId: 10,
      imageSize: [200, 300],
      counterfactual: null,
      noEvidence: { factual: false, counterfactual: null },
    });
    expect(dto.b.noEvidence.factual).toBe(true);
    expect(dto.a.factual).toHaveLength(64 * 64);
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    const quarter = dto.a.factual.filter((_, i) => Math.floor(i / 64) < 32 && i % 64 < 32);
    expect(sum(quarter) / sum(dto.a.factual)).toBeCloseTo(1, 10);
  });
});
