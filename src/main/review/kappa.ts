// Chance-corrected agreement between raters on nominal categories: Cohen's kappa for two raters
// (Cohen 1960), Fleiss' kappa for any number of raters per subject (Fleiss 1971). Pure functions.

export interface KappaResult {
  /** subjects (pairs) the kappa was computed on */
  subjects: number;
  /** (observed - expected) / (1 - expected); null when undefined: no subject, or expected agreement 1 */
  kappa: number | null;
  /** observed agreement (Cohen: share of subjects both raters put in the same category; Fleiss: mean P_i) */
  observed: number | null;
  /** agreement expected by chance from the raters' marginals (Cohen: per rater; Fleiss: pooled) */
  expected: number | null;
}

const UNDEFINED: Omit<KappaResult, 'subjects'> = { kappa: null, observed: null, expected: null };

function fromAgreement(subjects: number, observed: number, expected: number): KappaResult {
  // Everyone used one single category: chance agreement is 1 and kappa is 0/0.
  if (1 - expected < 1e-12) return { subjects, kappa: null, observed, expected };
  return { subjects, kappa: (observed - expected) / (1 - expected), observed, expected };
}

/** Cohen's kappa: `ratings[i]` holds the two raters' categories of subject i. */
export function cohenKappa<C>(ratings: readonly (readonly [C, C])[]): KappaResult {
  const n = ratings.length;
  if (n === 0) return { subjects: 0, ...UNDEFINED };
  const first = new Map<C, number>();
  const second = new Map<C, number>();
  let agree = 0;
  for (const [a, b] of ratings) {
    if (a === b) agree++;
    first.set(a, (first.get(a) ?? 0) + 1);
    second.set(b, (second.get(b) ?? 0) + 1);
  }
  let expected = 0;
  for (const [category, count] of first) expected += (count / n) * ((second.get(category) ?? 0) / n);
  return fromAgreement(n, agree / n, expected);
}

/**
 * Fleiss' kappa from a subjects x categories table: `counts[i][j]` raters put subject i in
 * category j. Every subject must have the same number of ratings, at least 2.
 */
export function fleissKappa(counts: readonly (readonly number[])[]): KappaResult {
  const subjects = counts.length;
  if (subjects === 0) return { subjects: 0, ...UNDEFINED };
  const k = counts[0].length;
  const raters = counts[0].reduce((s, x) => s + x, 0);
  if (raters < 2) throw new Error(`Fleiss' kappa needs at least 2 ratings per subject (got ${raters})`);
  const totals = new Array<number>(k).fill(0);
  let sumP = 0;
  counts.forEach((row, i) => {
    if (row.length !== k) throw new Error(`subject ${i} has ${row.length} categories, subject 0 has ${k}`);
    const m = row.reduce((s, x) => s + x, 0);
    if (m !== raters)
      throw new Error(`subject ${i} has ${m} ratings, subject 0 has ${raters}: Fleiss' kappa needs the same number for every subject`);
    let squares = 0;
    row.forEach((x, j) => {
      totals[j] += x;
      squares += x * x;
    });
    sumP += (squares - raters) / (raters * (raters - 1));
  });
  const expected = totals.reduce((s, t) => s + (t / (subjects * raters)) ** 2, 0);
  return fromAgreement(subjects, sumP / subjects, expected);
}

/** The subjects x categories table of Fleiss' kappa from each subject's ratings (categories in `categories` order). */
export function categoryCounts<C>(subjects: readonly (readonly C[])[], categories: readonly C[]): number[][] {
  const index = new Map(categories.map((c, j) => [c, j]));
  return subjects.map((ratings) => {
    const row = new Array<number>(categories.length).fill(0);
    for (const r of ratings) {
      const j = index.get(r);
      if (j === undefined) throw new Error(`unknown category ${String(r)}`);
      row[j]++;
    }
    return row;
  });
}
