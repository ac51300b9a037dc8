// A model version's review summary from its current verdicts (pure: the rows come from the store).
import {
  DEFAULT_REVIEW_TAGS,
  type ExplainMethod,
  type HeatmapAnswer,
  type HeatmapShareDto,
  type ReviewStatsDto,
  type SimilarityAnswer,
} from '../../shared/dto';
import { agreement } from './agreement';

/** A current verdict with what the summary needs of its pair. */
export interface StatsVerdict {
  pairId: number;
  reviewer: string;
  similarity: SimilarityAnswer | null;
  heatmapA: HeatmapAnswer | null;
  heatmapB: HeatmapAnswer | null;
  method: ExplainMethod | null;
  tags: string[];
  /** the pair's images' classes, its label (1 = same) and this version's score (null: not scored) */
  classA: string | null;
  classB: string | null;
  label: 0 | 1;
  score: number | null;
}

class Share {
  sensible = 0;
  notSensible = 0;
  unsure = 0;
  add(answer: HeatmapAnswer): void {
    if (answer === 'sensible') this.sensible++;
    else if (answer === 'not_sensible') this.notSensible++;
    else this.unsure++;
  }
  dto(): HeatmapShareDto {
    const total = this.sensible + this.notSensible + this.unsure;
    return {
      sensible: this.sensible,
      notSensible: this.notSensible,
      unsure: this.unsure,
      total,
      share: total === 0 ? null : this.sensible / total,
    };
  }
}

function shareIn<K>(map: Map<K, Share>, key: K): Share {
  let s = map.get(key);
  if (!s) map.set(key, (s = new Share()));
  return s;
}

const byKey = <K extends string | null>(a: K, b: K) => (a === null ? 1 : b === null ? -1 : a < b ? -1 : a > b ? 1 : 0);

/** The summary of a version's current verdicts; `superseded` counts its earlier rows. */
export function reviewStats(
  modelId: number,
  threshold: number | null,
  verdicts: readonly StatsVerdict[],
  superseded: number,
): ReviewStatsDto {
  const overall = new Share();
  const byClass = new Map<string | null, Share>();
  const byMethod = new Map<ExplainMethod | null, Share>();
  const similarity = { correctModelRight: 0, correctModelWrong: 0, wrongModelRight: 0, wrongModelWrong: 0, undecided: 0 };
  const tags = new Map<string, number>(DEFAULT_REVIEW_TAGS.map((t) => [t, 0]));
  const reviewers = new Map<string, { current: number; complete: number }>();
  let complete = 0;

  for (const v of verdicts) {
    const isComplete = v.similarity !== null && v.heatmapA !== null && v.heatmapB !== null;
    if (isComplete) complete++;
    const r = reviewers.get(v.reviewer) ?? { current: 0, complete: 0 };
    r.current++;
    if (isComplete) r.complete++;
    reviewers.set(v.reviewer, r);
    // each heatmap answer is about one image: it counts for that image's class
    for (const [answer, cls] of [
      [v.heatmapA, v.classA],
      [v.heatmapB, v.classB],
    ] as const) {
      if (answer === null) continue;
      overall.add(answer);
      shareIn(byClass, cls).add(answer);
      shareIn(byMethod, v.method).add(answer);
    }
    if (v.similarity !== null) {
      if (v.score === null || threshold === null) similarity.undecided++;
      else {
        const modelRight = (v.score >= threshold ? 1 : 0) === v.label;
        const key = `${v.similarity}Model${modelRight ? 'Right' : 'Wrong'}` as keyof typeof similarity;
        similarity[key]++;
      }
    }
    for (const t of v.tags) tags.set(t, (tags.get(t) ?? 0) + 1);
  }

  return {
    modelId,
    threshold,
    verdicts: { current: verdicts.length, superseded, complete, pairs: new Set(verdicts.map((v) => v.pairId)).size },
    reviewers: [...reviewers].sort(([a], [b]) => byKey(a, b)).map(([reviewer, r]) => ({ reviewer, ...r })),
    heatmaps: {
      overall: overall.dto(),
      byClass: [...byClass].sort(([a], [b]) => byKey(a, b)).map(([classLabel, s]) => ({ classLabel, ...s.dto() })),
      byMethod: [...byMethod].sort(([a], [b]) => byKey(a, b)).map(([method, s]) => ({ method, ...s.dto() })),
    },
    similarity,
    tags: [...tags].sort(([a, x], [b, y]) => y - x || byKey(a, b)).map(([tag, count]) => ({ tag, count })),
    agreement: agreement(verdicts),
  };
}
