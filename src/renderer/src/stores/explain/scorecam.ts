// Score-CAM's channel cap as typed in the view, and the line on how many channels were masked (pure).
import { SCORECAM_CAP_RANGE } from '../../../../shared/contract';
import type { ScoreCamChannelsDto } from '../../../../shared/dto';

/** Score-CAM's default channel cap: main's (DEFAULT_SCORECAM_MAX_CHANNELS in its engine) when none is given. */
export const SCORECAM_DEFAULT_CAP = 256;

/** A typed channel cap: an integer in the contract's range, else null. */
export function parseChannelCap(v: unknown): number | null {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isInteger(n) && n >= SCORECAM_CAP_RANGE.min && n <= SCORECAM_CAP_RANGE.max ? n : null;
}

/**
 * One line on how many channels Score-CAM masked, e.g. "Score-CAM: 256 of 2048 channels (cap 256)";
 * per image when A and B differ; says why fewer than the cap were used (the others are constant).
 */
export function scoreCamChannelsText(ch: ScoreCamChannelsDto): string {
  const [ua, ub] = ch.used;
  const [aa, ab] = ch.active;
  const notes: string[] = [ch.maxChannels === null ? 'no cap' : `cap ${ch.maxChannels}`];
  // fewer than the cap (and than the layer has): the others do not vary spatially, so masking them says nothing
  if (Math.min(aa, ab) < ch.total && (ch.maxChannels === null || Math.max(ua, ub) < ch.maxChannels)) {
    notes.push(aa === ab ? `the other ${ch.total - aa} are constant` : 'the others are constant');
  }
  return `Score-CAM: ${ua === ub ? ua : `A ${ua}, B ${ub}`} of ${ch.total} channels (${notes.join('; ')})`;
}
