// Kappas against textbook examples: Cohen's kappa on the Wikipedia worked examples, Fleiss' kappa
// on the Wikipedia worked example and on Fleiss (1971)'s Table 1; and the agreement module that
// applies them to reviewers' verdicts.
import { describe, expect, it } from 'vitest';
import { agreement, questionAgreement, type RatedVerdict } from '../../src/main/review/agreement';
import { categoryCounts, cohenKappa, fleissKappa } from '../../src/main/review/kappa';

/** A 2x2 table (a: both yes, b: A yes B no, c: A no B yes, d: both no) as rating pairs. */
function table2(a: number, b: number, c: number, d: number): ['yes' | 'no', 'yes' | 'no'][] {
  return [
    ...Array.from({ length: a }, () => ['yes', 'yes'] as ['yes', 'yes']),
    ...Array.from({ length: b }, () => ['yes', 'no'] as ['yes', 'no']),
    ...Array.from({ length: c }, () => ['no', 'yes'] as ['no', 'yes']),
    ...Array.from({ length: d }, () => ['no', 'no'] as ['no', 'no']),
  ];
}

describe("Cohen's kappa", () => {
  it('matches the Wikipedia worked example: 50 proposals, po = 0.7, pe = 0.5, kappa = 0.4', () => {
    const r = cohenKappa(table2(20, 5, 10, 15));
    expect(r.subjects).toBe(50);
    expect(r.observed).toBeCloseTo(0.7, 12);
    expect(r.expected).toBeCloseTo(0.5, 12);
    expect(r.kappa).toBeCloseTo(0.4, 12);
  });

  it('matches the Wikipedia "same agreement, different marginals" examples: 0.1304 and 0.2593', () => {
    const first = cohenKappa(table2(45, 15, 25, 15));
    expect(first.observed).toBeCloseTo(0.6, 12);
    expect(first.expected).toBeCloseTo(0.54, 12);
    expect(first.kappa!).toBeCloseTo(0.1304, 4);
    const second = cohenKappa(table2(25, 35, 5, 35));
    expect(second.expected).toBeCloseTo(0.46, 12);
    expect(second.kappa!).toBeCloseTo(0.2593, 4);
  });

  it('is 1 for perfect agreement, negative for systematic disagreement, and undefined without variation or subjects', () => {
    expect(cohenKappa(table2(3, 0, 0, 7)).kappa).toBeCloseTo(1, 12);
    expect(cohenKappa(table2(0, 5, 5, 0)).kappa).toBeCloseTo(-1, 12);
    // both raters always said "yes": po = pe = 1, kappa is 0/0
    expect(cohenKappa(table2(9, 0, 0, 0))).toEqual({ subjects: 9, kappa: null, observed: 1, expected: 1 });
    expect(cohenKappa([])).toEqual({ subjects: 0, kappa: null, observed: null, expected: null });
  });

  it('handles categories only one rater used', () => {
    // rater 1 uses a, b, c; rater 2 only a, b: pe sums over the shared categories
    const r = cohenKappa([
      ['a', 'a'],
      ['b', 'b'],
      ['c', 'b'],
      ['a', 'a'],
    ] as const);
    // po = 3/4; pe = (2/4)(2/4) + (1/4)(2/4) + (1/4)(0) = 3/8; kappa = (3/4 - 3/8) / (5/8) = 0.6
    expect(r.kappa).toBeCloseTo(0.6, 12);
  });
});

describe("Fleiss' kappa", () => {
  it('matches the Wikipedia worked example (10 subjects, 14 raters, 5 categories): P = 0.378, Pe = 0.213, kappa = 0.210', () => {
    const counts = [
      [0, 0, 0, 0, 14],
      [0, 2, 6, 4, 2],
      [0, 0, 3, 5, 6],
      [0, 3, 9, 2, 0],
      [2, 2, 8, 1, 1],
      [7, 7, 0, 0, 0],
      [3, 2, 6, 3, 0],
      [2, 5, 3, 2, 2],
      [6, 5, 2, 1, 0],
      [0, 2, 2, 3, 7],
    ];
    const r = fleissKappa(counts);
    expect(r.subjects).toBe(10);
    expect(r.observed!).toBeCloseTo(0.37802, 5);
    // Wikipedia prints 0.21333 from p_j rounded to 3 digits; exactly it is 0.212755 (= 0.213)
    expect(r.expected!).toBeCloseTo(0.213, 3);
    expect(r.kappa!).toBeCloseTo(0.20993, 5);
  });

  it("matches Fleiss (1971)'s Table 1 (30 patients, 6 psychiatrists, 5 diagnoses): kappa = 0.430", () => {
    // rows: depression, personality disorder, schizophrenia, neurosis, other
    const table = `0,0,0,6,0 0,3,0,0,3 0,1,4,0,1 0,0,0,0,6 0,3,0,3,0 2,0,4,0,0 0,0,4,0,2 2,0,3,1,0 2,0,0,4,0 0,0,0,0,6
      1,0,0,5,0 1,1,0,4,0 0,3,3,0,0 1,0,0,5,0 0,2,0,3,1 0,0,5,0,1 3,0,0,1,2 5,1,0,0,0 0,2,0,4,0 1,0,2,0,3
      0,0,0,0,6 0,1,0,5,0 0,2,0,1,3 2,0,0,4,0 1,0,0,4,1 0,5,0,1,0 4,0,0,0,2 0,2,0,4,0 1,0,5,0,0 0,0,0,0,6`;
    const counts = table
      .trim()
      .split(/\s+/)
      .map((row) => row.split(',').map(Number));
    expect(counts).toHaveLength(30);
    const r = fleissKappa(counts);
    expect(r.kappa!).toBeCloseTo(0.43, 3);
    // Fleiss' own intermediate values: mean agreement P = .556, chance agreement Pe = .220
    expect(r.observed!).toBeCloseTo(0.556, 3);
    expect(r.expected!).toBeCloseTo(0.22, 3);
  });

  it("with two raters it is Scott's pi (pooled marginals), not Cohen's kappa", () => {
    const ratings = table2(20, 5, 10, 15);
    const r = fleissKappa(categoryCounts(ratings, ['yes', 'no']));
    // pooled p(yes) = 55/100: pe = 0.55^2 + 0.45^2 = 0.505; pi = (0.7 - 0.505) / 0.495
    expect(r.kappa!).toBeCloseTo((0.7 - 0.505) / 0.495, 12);
  });

  it('refuses subjects with different numbers of ratings, and is undefined when everyone used one category', () => {
    expect(() =>
      fleissKappa([
        [2, 1],
        [1, 1],
      ]),
    ).toThrow(/same number/);
    expect(() => fleissKappa([[1, 0]])).toThrow(/at least 2/);
    expect(
      fleissKappa([
        [3, 0],
        [3, 0],
      ]).kappa,
    ).toBeNull();
  });
});

describe('agreement between reviewers', () => {
  const v = (
    pairId: number,
    reviewer: string,
    similarity: string | null,
    heatmapA: string | null = null,
    heatmapB: string | null = null,
  ): RatedVerdict => ({
    pairId,
    reviewer,
    similarity,
    heatmapA,
    heatmapB,
  });

  it("two reviewers: Cohen's kappa over the pairs both answered, with that count", () => {
    // The Wikipedia example as similarity verdicts on pairs 1..50, plus pairs only one answered.
    const verdicts: RatedVerdict[] = [];
    table2(20, 5, 10, 15).forEach(([a, b], i) => {
      verdicts.push(v(i + 1, 'ann', a === 'yes' ? 'correct' : 'wrong'), v(i + 1, 'bob', b === 'yes' ? 'correct' : 'wrong'));
    });
    verdicts.push(v(51, 'ann', 'correct'), v(52, 'bob', 'wrong'), v(53, 'bob', null, 'sensible'));
    const [similarity, heatmapA] = agreement(verdicts);
    expect(similarity.question).toBe('similarity');
    expect(similarity.overall).toMatchObject({ method: 'cohen', raters: ['ann', 'bob'], pairs: 50 });
    expect(similarity.overall!.kappa).toBeCloseTo(0.4, 12);
    expect(similarity.pairwise).toEqual([similarity.overall]);
    // nobody else answered heatmap A on pair 53: no pair in common
    expect(heatmapA.overall).toMatchObject({ method: 'cohen', pairs: 0, kappa: null });
  });

  it("three or more reviewers: Fleiss' kappa over the pairs all answered, and Cohen's for every two", () => {
    // Wikipedia's Fleiss example would need 14 raters; here 3 reviewers on 4 pairs, by hand:
    // pair 1: s s s | pair 2: s s n | pair 3: n n n | pair 4: s n u | pair 5 (only two): s s
    const verdicts = [
      v(1, 'a', null, 'sensible'),
      v(1, 'b', null, 'sensible'),
      v(1, 'c', null, 'sensible'),
      v(2, 'a', null, 'sensible'),
      v(2, 'b', null, 'sensible'),
      v(2, 'c', null, 'not_sensible'),
      v(3, 'a', null, 'not_sensible'),
      v(3, 'b', null, 'not_sensible'),
      v(3, 'c', null, 'not_sensible'),
      v(4, 'a', null, 'sensible'),
      v(4, 'b', null, 'not_sensible'),
      v(4, 'c', null, 'unsure'),
      v(5, 'a', null, 'sensible'),
      v(5, 'b', null, 'sensible'),
    ];
    const q = questionAgreement(verdicts, ['a', 'b', 'c'], 'heatmapA');
    // P_i = 1, 1/3, 1, 0 -> P = 7/12; p = (6/12, 5/12, 1/12) -> Pe = (36 + 25 + 1) / 144 = 62/144
    const P = 7 / 12;
    const Pe = 62 / 144;
    expect(q.overall).toMatchObject({ method: 'fleiss', raters: ['a', 'b', 'c'], pairs: 4 });
    expect(q.overall!.kappa).toBeCloseTo((P - Pe) / (1 - Pe), 12);
    expect(q.pairwise.map((k) => [k.raters.join('-'), k.pairs])).toEqual([
      ['a-b', 5],
      ['a-c', 4],
      ['b-c', 4],
    ]);
    // a and b on pairs 1..5: s/s s/s n/n s/n s/s -> po = 4/5, pe = (4/5)(3/5) + (1/5)(2/5) = 14/25
    expect(q.pairwise[0].kappa).toBeCloseTo((4 / 5 - 14 / 25) / (1 - 14 / 25), 12);
  });

  it('one reviewer: no agreement to measure', () => {
    const [similarity] = agreement([v(1, 'solo', 'correct')]);
    expect(similarity.overall).toBeNull();
    expect(similarity.pairwise).toEqual([]);
  });
});
