// Type-checked with the renderer (tsconfig.web.json). The review view's pure parts: the key map
// (every key `?` lists does what it says, modifiers, held keys), verdict completeness and
// auto-advance, which explanation a write records, where skip goes, the prefetch window, and
// the shared zoom / pan viewport.
import { describe, expect, it } from 'vitest';
import {
  FIT,
  clampView,
  panBy,
  pixelatedAt,
  pointAt,
  stageTransform,
  zoomBy,
  ZOOM_MAX,
} from '../../src/renderer/src/components/review/viewport';
import { KEY_HELP, PAN_STEP, reviewKeyAction, type ReviewAction } from '../../src/renderer/src/stores/review/keys';
import { aheadFromSetting, needsMore, prefetchWindow, PREFETCH_AHEAD } from '../../src/renderer/src/stores/review/prefetch';
import {
  answeredCount,
  answersOf,
  completesVerdict,
  isComplete,
  isEmpty,
  nextToReview,
  NO_ANSWERS,
  shownFor,
  toggleTag,
  withChange,
  type Answers,
} from '../../src/renderer/src/stores/review/rules';
import type { VerdictDto } from '../../src/shared/dto';

const key = (k: string, mods: Partial<{ shiftKey: boolean; ctrlKey: boolean; metaKey: boolean; altKey: boolean; code: string }> = {}) =>
  reviewKeyAction({ key: k, ...mods });

describe('review key map', () => {
  it('answers the three questions with y n / q w e / i o p', () => {
    expect(key('y')).toEqual({ kind: 'similarity', answer: 'correct' });
    expect(key('n')).toEqual({ kind: 'similarity', answer: 'wrong' });
    expect(['q', 'w', 'e'].map((k) => key(k))).toEqual([
      { kind: 'heatmap', image: 'a', answer: 'sensible' },
      { kind: 'heatmap', image: 'a', answer: 'not_sensible' },
      { kind: 'heatmap', image: 'a', answer: 'unsure' },
    ]);
    expect(['i', 'o', 'p'].map((k) => key(k))).toEqual([
      { kind: 'heatmap', image: 'b', answer: 'sensible' },
      { kind: 'heatmap', image: 'b', answer: 'not_sensible' },
      { kind: 'heatmap', image: 'b', answer: 'unsure' },
    ]);
  });

  it('moves, skips, undoes, and switches methods, maps, opacity and zoom', () => {
    expect(key('ArrowRight')).toEqual({ kind: 'move', to: 'next' });
    expect(key('ArrowLeft')).toEqual({ kind: 'move', to: 'prev' });
    expect(key('s')).toEqual({ kind: 'move', to: 'skip' });
    expect(key('u')).toEqual({ kind: 'undo' });
    expect(key('z', { ctrlKey: true })).toEqual({ kind: 'undo' });
    expect(key('z', { metaKey: true })).toEqual({ kind: 'undo' });
    expect(key('1')).toEqual({ kind: 'method', index: 0 });
    expect(key('8')).toEqual({ kind: 'method', index: 7 });
    expect(key('f')).toEqual({ kind: 'show', mode: 'factual' });
    expect(key('c')).toEqual({ kind: 'show', mode: 'counterfactual' });
    expect(key('b')).toEqual({ kind: 'show', mode: 'both' });
    expect(key('r')).toEqual({ kind: 'raw' });
    expect(key('v')).toEqual({ kind: 'colormap' });
    expect(key('[')).toMatchObject({ kind: 'opacity' });
    expect((key('[') as { delta: number }).delta).toBeLessThan(0);
    expect((key(']') as { delta: number }).delta).toBeGreaterThan(0);
    expect(key('+')).toEqual({ kind: 'zoom', step: 1 });
    expect(key('=')).toEqual({ kind: 'zoom', step: 1 });
    expect(key('-')).toEqual({ kind: 'zoom', step: -1 });
    expect(key('0')).toEqual({ kind: 'zoomReset' });
    expect(key('?')).toEqual({ kind: 'help' });
    expect(key('h')).toEqual({ kind: 'history' });
    expect(key('t')).toEqual({ kind: 'focus', field: 'tags' });
    expect(key('m')).toEqual({ kind: 'focus', field: 'note' });
  });

  it('Shift+digit toggles a tag by the physical key, Shift+arrows pan', () => {
    // Shift+1 prints '!' on a US layout and something else elsewhere: the code decides
    expect(key('!', { shiftKey: true, code: 'Digit1' })).toEqual({ kind: 'tag', index: 0 });
    expect(key('(', { shiftKey: true, code: 'Digit9' })).toEqual({ kind: 'tag', index: 8 });
    expect(key('ArrowRight', { shiftKey: true })).toEqual({ kind: 'pan', dx: PAN_STEP, dy: 0 });
    expect(key('ArrowUp', { shiftKey: true })).toEqual({ kind: 'pan', dx: 0, dy: -PAN_STEP });
  });

  it('leaves the browser its own shortcuts and unknown keys', () => {
    expect(key('r', { ctrlKey: true })).toBeNull(); // reload
    expect(key('y', { altKey: true })).toBeNull();
    expect(key('z', { ctrlKey: true, shiftKey: true })).toBeNull(); // redo is not ours
    expect(key('Tab')).toBeNull(); // focus moves freely
    expect(key('Enter')).toBeNull();
    expect(key('x')).toBeNull();
  });

  it('every key the help lists is bound, and no two help lines share a key', () => {
    const seen = new Map<string, string>();
    const simple = (k: string): ReviewAction | null => {
      if (k === 'Ctrl+Z') return key('z', { ctrlKey: true });
      if (k === 'Esc' || k.startsWith('Shift+')) return { kind: 'help' }; // Escape is the view's; Shift+… checked above
      if (k === '→') return key('ArrowRight');
      if (k === '←') return key('ArrowLeft');
      if (k === '−') return key('-');
      if (k === '1…8') return key('1');
      return key(k);
    };
    for (const group of KEY_HELP) {
      for (const line of group.keys) {
        for (const k of line.keys) {
          expect(simple(k), `help key ${k} (${line.what})`).not.toBeNull();
          expect(seen.get(k), `key ${k} listed twice`).toBeUndefined();
          seen.set(k, line.what);
        }
      }
    }
    // the verdict keys, moves and undo are all listed
    for (const k of ['y', 'n', 'q', 'w', 'e', 'i', 'o', 'p', 'u', '→', '←', 's', '?']) expect(seen.has(k), k).toBe(true);
  });
});

const verdict = (a: Partial<VerdictDto>): VerdictDto => ({
  id: 1,
  uid: 'u',
  pairId: 1,
  modelId: 1,
  reviewer: 'r',
  similarity: null,
  heatmapA: null,
  heatmapB: null,
  method: null,
  layer: null,
  note: null,
  tags: [],
  complete: false,
  current: true,
  origin: 'local',
  createdAt: '',
  ...a,
});

describe('verdict rules', () => {
  const full: Answers = { similarity: 'correct', heatmapA: 'sensible', heatmapB: 'unsure', note: null, tags: [] };

  it('a verdict is complete with all three answers; the note and tags are optional', () => {
    expect(isComplete(full)).toBe(true);
    expect(isComplete({ ...full, heatmapB: null })).toBe(false);
    expect(answeredCount({ ...full, similarity: null })).toBe(2);
    expect(isEmpty(NO_ANSWERS)).toBe(true);
    expect(isEmpty({ ...NO_ANSWERS, tags: ['decoy'] })).toBe(false);
    expect(isEmpty({ ...NO_ANSWERS, note: 'x' })).toBe(false);
    expect(answersOf(verdict({ similarity: 'wrong', tags: ['a'] }))).toEqual({ ...NO_ANSWERS, similarity: 'wrong', tags: ['a'] });
  });

  it('auto-advances only when a change completes the verdict, not when a complete one is corrected', () => {
    const two = { ...full, heatmapB: null };
    expect(completesVerdict(two, full)).toBe(true);
    expect(completesVerdict(full, { ...full, similarity: 'wrong' })).toBe(false);
    expect(completesVerdict(NO_ANSWERS, withChange(NO_ANSWERS, { similarity: 'correct' }))).toBe(false);
    expect(completesVerdict(full, toggleTag(full, 'decoy'))).toBe(false);
  });

  it('keeps tags sorted and unique; toggling twice removes a tag', () => {
    const a = toggleTag(toggleTag(NO_ANSWERS, 'texture'), 'background');
    expect(a.tags).toEqual(['background', 'texture']);
    expect(toggleTag(a, 'texture').tags).toEqual(['background']);
    expect(withChange(a, { tags: ['x', 'b', 'x'] }).tags).toEqual(['b', 'x']);
  });

  it('records the maps on screen with a heatmap answer, the stored ones with other changes, none without heatmap answers', () => {
    const shown = { method: 'layercam' as const, layer: 'conv3' };
    const stored = { method: 'gradcam' as const, layer: 'conv4' };
    // a heatmap answer: what is on screen
    expect(shownFor(NO_ANSWERS, { ...NO_ANSWERS, heatmapA: 'sensible' }, null, shown)).toEqual(shown);
    expect(shownFor({ ...full }, { ...full, heatmapB: 'sensible' }, stored, shown)).toEqual(shown);
    // the similarity or a tag changed: the heatmaps were judged on the stored method
    expect(shownFor(full, { ...full, similarity: 'wrong' }, stored, shown)).toEqual(stored);
    // no heatmap answer at all: nothing to record
    expect(shownFor(NO_ANSWERS, { ...NO_ANSWERS, similarity: 'correct' }, null, shown)).toBeNull();
    // a heatmap answer with no map on screen: nothing to name (the store refuses it)
    expect(shownFor(NO_ANSWERS, { ...NO_ANSWERS, heatmapA: 'unsure' }, null, null)).toBeNull();
  });

  it('skip goes to the next pair without a complete verdict, past the complete ones', () => {
    const done = [true, false, true, true, false];
    expect(nextToReview(done.length, 0, (i) => done[i])).toBe(1);
    expect(nextToReview(done.length, 1, (i) => done[i])).toBe(4);
    expect(nextToReview(done.length, 4, (i) => done[i])).toBeNull();
    expect(nextToReview(0, 0, () => false)).toBeNull();
  });
});

describe('prefetch window', () => {
  it('prepares the next pairs first, then the one before, inside the loaded queue', () => {
    expect(prefetchWindow(5, 50)).toEqual([6, 7, 8, 4]);
    expect(prefetchWindow(0, 50)).toEqual([1, 2, 3]);
    expect(prefetchWindow(48, 50)).toEqual([49, 47]);
    expect(prefetchWindow(49, 50)).toEqual([48]);
    expect(prefetchWindow(0, 1)).toEqual([]);
    expect(prefetchWindow(3, 10, 0, 0)).toEqual([]);
    expect(prefetchWindow(-1, 10)).toEqual([]);
    expect(prefetchWindow(10, 10)).toEqual([]);
    expect(prefetchWindow(5, 50, 5, 2)).toEqual([6, 7, 8, 9, 10, 4, 3]);
  });

  it('asks for the next page before the window runs out', () => {
    expect(needsMore(10, 50, true)).toBe(false);
    expect(needsMore(45, 50, true)).toBe(true);
    expect(needsMore(49, 50, false)).toBe(false);
  });

  it('reads the prefetch depth setting ("0" turns it off)', () => {
    expect(aheadFromSetting(null)).toBe(PREFETCH_AHEAD);
    expect(aheadFromSetting('0')).toBe(0);
    expect(aheadFromSetting('5')).toBe(5);
    expect(aheadFromSetting('-1')).toBe(PREFETCH_AHEAD);
    expect(aheadFromSetting('lots')).toBe(PREFETCH_AHEAD);
  });
});

describe('shared viewport', () => {
  const box = { w: 400, h: 400 };
  const img = { w: 28, h: 28 };

  it('fits the image at zoom 1 and centres it', () => {
    const t = stageTransform(FIT, box, img);
    expect(t.scale).toBeCloseTo(400 / 28);
    expect(t.x).toBeCloseTo(0);
    expect(t.y).toBeCloseTo(0);
    // a wide image in a square box: fitted by its width, centred vertically
    const wide = stageTransform(FIT, box, { w: 200, h: 100 });
    expect(wide.scale).toBe(2);
    expect(wide.y).toBe(100);
  });

  it('zooms about the point under the cursor, which stays where it is on screen', () => {
    const at = pointAt(FIT, box, img, 300, 100);
    const v = zoomBy(FIT, 2, at);
    const after = stageTransform(v, box, img);
    expect(after.x + at.x * img.w * after.scale).toBeCloseTo(300);
    expect(after.y + at.y * img.h * after.scale).toBeCloseTo(100);
  });

  it('keeps the zoom in range and the view on the image', () => {
    expect(zoomBy(FIT, 0.1).zoom).toBe(1);
    expect(zoomBy(FIT, 1000).zoom).toBe(ZOOM_MAX);
    expect(panBy(FIT, 0.3, 0)).toEqual(FIT); // nothing to pan at zoom 1
    const z = zoomBy(FIT, 4);
    expect(panBy(z, 10, -10)).toEqual({ zoom: 4, cx: 1 - 0.125, cy: 0.125 });
    expect(clampView({ zoom: NaN, cx: 2, cy: -1 })).toEqual(FIT);
  });

  it('draws nearest-neighbour pixels once a pixel covers two screen pixels', () => {
    expect(pixelatedAt(stageTransform(FIT, box, img).scale)).toBe(true);
    expect(pixelatedAt(stageTransform(FIT, box, { w: 1024, h: 1024 }).scale)).toBe(false);
    // a photo zoomed in: 400 / 1024 x 4 = 1.6 screen pixels per pixel (smooth), x 8 = 3.1 (pixels)
    expect(pixelatedAt(stageTransform(zoomBy(FIT, 4), box, { w: 1024, h: 1024 }).scale)).toBe(false);
    expect(pixelatedAt(stageTransform(zoomBy(FIT, 8), box, { w: 1024, h: 1024 }).scale)).toBe(true);
  });
});
