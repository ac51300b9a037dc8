// Explanations between the engine, the store and the contract: an engine result as a row to
// store, a stored row as the engine's PairExplanation (maps decoded) and as the contract's DTO.
import type { ExplainMethod, ExplanationDto } from '../../shared/dto';
import {
  decodeMap,
  encodeMap,
  summariseExplanation,
  type CamMethod,
  type ExplainedPair,
  type ImageExplanation,
  type MapSummary,
  type PairExplanation,
} from '../engine/explain';
import type { ExplanationMeta, ExplanationRow, NewExplanation } from '../store/explanations-repo';

/** Where an explanation was computed and stored: pair, version, method and the stored layer key. */
export interface RecordKey {
  pairId: number;
  modelId: number;
  method: CamMethod;
  layer: string;
  inputShape: [number, number, number];
}

/** `backend`: where the maps were computed (the engine's answer). */
export function toRecord(
  key: RecordKey,
  e: ExplainedPair,
  backend: string | null,
  extra: Partial<ExplanationMeta['timings']> = {},
): NewExplanation {
  const meta: ExplanationMeta = {
    counterfactualDefined: e.counterfactualDefined,
    noEvidence: { a: e.noEvidence[0], b: e.noEvidence[1] },
    scale: { a: e.scale[0], b: e.scale[1] },
    timings: { explainMs: e.ms, backend, ...extra },
    inputShape: key.inputShape,
    ...(e.channels ? { channels: e.channels } : {}),
  };
  return {
    pairId: key.pairId,
    modelId: key.modelId,
    method: key.method,
    layer: key.layer,
    mapHeight: e.h,
    mapWidth: e.w,
    aFactual: encodeMap(e.maps[0]),
    aCounterfactual: e.maps[1] ? encodeMap(e.maps[1]) : null,
    bFactual: encodeMap(e.maps[2]),
    bCounterfactual: e.maps[3] ? encodeMap(e.maps[3]) : null,
    score: e.score,
    meta,
  };
}

/** The channel cap a stored Score-CAM row was computed with (null: none or not recorded). */
export function storedCap(row: ExplanationRow): number | null {
  return row.meta.channels?.maxChannels ?? null;
}

/** The stored row as the engine's PairExplanation (maps decoded). */
export function explanationOf(row: ExplanationRow): PairExplanation {
  const { meta } = row;
  const h = row.map_height;
  const w = row.map_width;
  const image = (side: 'a' | 'b'): ImageExplanation => {
    const f = row[`${side}_factual`];
    const c = row[`${side}_counterfactual`];
    return {
      factual: f ? decodeMap(f, h, w) : new Float32Array(h * w),
      counterfactual: c ? decodeMap(c, h, w) : null,
      h,
      w,
      noEvidence: meta.noEvidence?.[side] ?? { factual: false, counterfactual: c ? false : null },
      scale: meta.scale?.[side] ?? { factual: 0, counterfactual: c ? 0 : null },
    };
  };
  return {
    method: row.method as CamMethod,
    layer: row.layer,
    score: row.score ?? NaN,
    counterfactualDefined: meta.counterfactualDefined ?? row.a_counterfactual !== null,
    images: [image('a'), image('b')],
  };
}

function mapSummaryDto(s: MapSummary) {
  return { noEvidence: s.noEvidence, scale: s.scale, peak: s.peak, areaAbove50: s.areaAbove50 };
}

export function explanationDto(row: ExplanationRow, imageIds: [number, number], cached: boolean): ExplanationDto {
  const s = summariseExplanation(explanationOf(row));
  const { meta } = row;
  const img = (i: 0 | 1) => ({
    imageId: imageIds[i],
    factual: mapSummaryDto(s.images[i].factual),
    counterfactual: s.images[i].counterfactual ? mapSummaryDto(s.images[i].counterfactual) : null,
  });
  return {
    pairId: row.pair_id,
    modelId: row.model_id,
    method: row.method as ExplainMethod,
    layer: row.layer,
    mapHeight: row.map_height,
    mapWidth: row.map_width,
    score: s.score,
    counterfactualDefined: s.counterfactualDefined,
    a: img(0),
    b: img(1),
    ...(meta.channels ? { channels: meta.channels } : {}),
    cached,
    explainMs: meta.timings?.explainMs ?? 0,
    createdAt: row.created_at,
  };
}
