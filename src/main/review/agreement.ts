// Agreement between reviewers per question (similarity, heatmap A, heatmap B) from their current
// verdicts: Cohen's kappa for two reviewers, Fleiss' kappa for three or more, each over the pairs
// every one of the reviewers answered; and Cohen's kappa for every two reviewers.
import {
  HEATMAP_ANSWERS,
  REVIEW_QUESTIONS,
  SIMILARITY_ANSWERS,
  type KappaDto,
  type QuestionAgreementDto,
  type ReviewQuestion,
} from '../../shared/dto';
import { categoryCounts, cohenKappa, fleissKappa, type KappaResult } from './kappa';

/** One reviewer's current answers on one pair (null: not answered). */
export interface RatedVerdict {
  pairId: number;
  reviewer: string;
  similarity: string | null;
  heatmapA: string | null;
  heatmapB: string | null;
}

const CATEGORIES: Record<ReviewQuestion, readonly string[]> = {
  similarity: SIMILARITY_ANSWERS,
  heatmapA: HEATMAP_ANSWERS,
  heatmapB: HEATMAP_ANSWERS,
};

const dto = (method: KappaDto['method'], raters: string[], r: KappaResult): KappaDto => ({
  method,
  raters,
  pairs: r.subjects,
  kappa: r.kappa,
  observed: r.observed,
  expected: r.expected,
});

/** Each pair's answers to a question, by reviewer (pairs in id order). */
function answersByPair(verdicts: readonly RatedVerdict[], question: ReviewQuestion): Map<number, Map<string, string>> {
  const byPair = new Map<number, Map<string, string>>();
  for (const v of [...verdicts].sort((a, b) => a.pairId - b.pairId)) {
    const answer = v[question];
    if (answer === null) continue;
    if (!byPair.has(v.pairId)) byPair.set(v.pairId, new Map());
    byPair.get(v.pairId)!.set(v.reviewer, answer);
  }
  return byPair;
}

/** The answers of `raters` on the pairs all of them answered. */
function jointAnswers(byPair: Map<number, Map<string, string>>, raters: readonly string[]): string[][] {
  const out: string[][] = [];
  for (const answers of byPair.values()) {
    if (raters.every((r) => answers.has(r))) out.push(raters.map((r) => answers.get(r)!));
  }
  return out;
}

function cohen(byPair: Map<number, Map<string, string>>, a: string, b: string): KappaDto {
  const joint = jointAnswers(byPair, [a, b]).map((x) => [x[0], x[1]] as const);
  return dto('cohen', [a, b], cohenKappa(joint));
}

/** Agreement on one question among `reviewers` (sorted names). */
export function questionAgreement(
  verdicts: readonly RatedVerdict[],
  reviewers: readonly string[],
  question: ReviewQuestion,
): QuestionAgreementDto {
  const byPair = answersByPair(verdicts, question);
  const pairwise: KappaDto[] = [];
  for (let i = 0; i < reviewers.length; i++)
    for (let j = i + 1; j < reviewers.length; j++) pairwise.push(cohen(byPair, reviewers[i], reviewers[j]));
  let overall: KappaDto | null = null;
  if (reviewers.length === 2) overall = pairwise[0];
  else if (reviewers.length >= 3) {
    const counts = categoryCounts(jointAnswers(byPair, reviewers), CATEGORIES[question]);
    overall = dto('fleiss', [...reviewers], fleissKappa(counts));
  }
  return { question, overall, pairwise };
}

/** Agreement on every question among the reviewers of these verdicts. */
export function agreement(verdicts: readonly RatedVerdict[]): QuestionAgreementDto[] {
  const reviewers = [...new Set(verdicts.map((v) => v.reviewer))].sort();
  return REVIEW_QUESTIONS.map((q) => questionAgreement(verdicts, reviewers, q));
}
