// The review view's keyboard (pure): which key does what, and the list `?` shows. Laid out by
// place: the left hand's top row judges the left image's heatmap (q w e), the right hand's the
// right image's (i o p), y / n answer "is the model's call right?".
import type { HeatmapAnswer, SimilarityAnswer } from '../../../../shared/dto';
import type { ImageSide, ShowMode } from '../explain/overlay-cache';
import { OPACITY_STEP } from '../explain/shortcuts';

export type ReviewAction =
  | { kind: 'similarity'; answer: SimilarityAnswer }
  | { kind: 'heatmap'; image: ImageSide; answer: HeatmapAnswer }
  | { kind: 'move'; to: 'next' | 'prev' | 'skip' }
  | { kind: 'undo' }
  | { kind: 'method'; index: number }
  | { kind: 'show'; mode: ShowMode }
  | { kind: 'raw' }
  | { kind: 'colormap' }
  | { kind: 'opacity'; delta: number }
  | { kind: 'zoom'; step: 1 | -1 }
  | { kind: 'zoomReset' }
  | { kind: 'pan'; dx: number; dy: number }
  | { kind: 'tag'; index: number }
  | { kind: 'focus'; field: 'note' | 'tags' }
  | { kind: 'history' }
  | { kind: 'help' };

/** The parts of a KeyboardEvent the map reads. */
export interface KeyPress {
  key: string;
  /** the physical key ('Digit1', ...): Shift+digit toggles a tag whatever the layout prints */
  code?: string;
  shiftKey?: boolean;
  ctrlKey?: boolean;
  metaKey?: boolean;
  altKey?: boolean;
}

/** A pan step, as a share of the visible image. */
export const PAN_STEP = 0.1;

const HEATMAP_KEYS: Record<string, [ImageSide, HeatmapAnswer]> = {
  q: ['a', 'sensible'],
  w: ['a', 'not_sensible'],
  e: ['a', 'unsure'],
  i: ['b', 'sensible'],
  o: ['b', 'not_sensible'],
  p: ['b', 'unsure'],
};

/** The action of a key press in the review view (null: not one of ours, let the page have it). */
export function reviewKeyAction(e: KeyPress): ReviewAction | null {
  if (e.altKey) return null;
  if (e.ctrlKey || e.metaKey) return e.key.toLowerCase() === 'z' && !e.shiftKey ? { kind: 'undo' } : null;
  if (e.shiftKey) {
    const digit = /^Digit([1-9])$/.exec(e.code ?? '');
    if (digit) return { kind: 'tag', index: Number(digit[1]) - 1 };
    const pan: Record<string, [number, number]> = {
      ArrowLeft: [-PAN_STEP, 0],
      ArrowRight: [PAN_STEP, 0],
      ArrowUp: [0, -PAN_STEP],
      ArrowDown: [0, PAN_STEP],
    };
    if (pan[e.key]) return { kind: 'pan', dx: pan[e.key][0], dy: pan[e.key][1] };
  }
  if (/^[1-9]$/.test(e.key)) return { kind: 'method', index: Number(e.key) - 1 };
  const heatmap = HEATMAP_KEYS[e.key];
  if (heatmap) return { kind: 'heatmap', image: heatmap[0], answer: heatmap[1] };
  switch (e.key) {
    case 'y':
      return { kind: 'similarity', answer: 'correct' };
    case 'n':
      return { kind: 'similarity', answer: 'wrong' };
    case 'ArrowRight':
      return { kind: 'move', to: 'next' };
    case 'ArrowLeft':
      return { kind: 'move', to: 'prev' };
    case 's':
      return { kind: 'move', to: 'skip' };
    case 'u':
      return { kind: 'undo' };
    case 'f':
      return { kind: 'show', mode: 'factual' };
    case 'c':
      return { kind: 'show', mode: 'counterfactual' };
    case 'b':
      return { kind: 'show', mode: 'both' };
    case 'r':
      return { kind: 'raw' };
    case 'v':
      return { kind: 'colormap' };
    case '[':
      return { kind: 'opacity', delta: -OPACITY_STEP };
    case ']':
      return { kind: 'opacity', delta: OPACITY_STEP };
    case '+':
    case '=':
      return { kind: 'zoom', step: 1 };
    case '-':
    case '_':
      return { kind: 'zoom', step: -1 };
    case '0':
      return { kind: 'zoomReset' };
    case 't':
      return { kind: 'focus', field: 'tags' };
    case 'm':
      return { kind: 'focus', field: 'note' };
    case 'h':
      return { kind: 'history' };
    case '?':
      return { kind: 'help' };
    default:
      return null;
  }
}

export interface KeyHelpGroup {
  title: string;
  keys: { keys: string[]; what: string }[];
}

/** What `?` shows, in the order a reviewer needs it. */
export const KEY_HELP: KeyHelpGroup[] = [
  {
    title: 'Verdict (saved at once)',
    keys: [
      { keys: ['y', 'n'], what: 'similarity: the model’s call is correct / wrong' },
      { keys: ['q', 'w', 'e'], what: 'image A’s heatmap: sensible / not sensible / unsure' },
      { keys: ['i', 'o', 'p'], what: 'image B’s heatmap: sensible / not sensible / unsure' },
      { keys: ['u', 'Ctrl+Z'], what: 'undo my last verdict (goes back to its pair)' },
      { keys: ['Shift+1…9'], what: 'toggle tag 1…9' },
      { keys: ['t'], what: 'type a new tag' },
      { keys: ['m'], what: 'write a note (Enter saves, Escape leaves)' },
      { keys: ['h'], what: 'show / hide the pair’s verdict history' },
    ],
  },
  {
    title: 'Queue',
    keys: [
      { keys: ['→'], what: 'next pair' },
      { keys: ['←'], what: 'previous pair' },
      { keys: ['s'], what: 'skip to the next pair without my complete verdict' },
    ],
  },
  {
    title: 'Maps',
    keys: [
      { keys: ['1…8'], what: 'explanation method (computed on demand)' },
      { keys: ['f', 'c', 'b'], what: 'factual / counterfactual / both' },
      { keys: ['r'], what: 'raw images (maps hidden) on / off' },
      { keys: ['v'], what: 'colormap jet / viridis' },
      { keys: ['[', ']'], what: 'map opacity − / +' },
    ],
  },
  {
    title: 'View',
    keys: [
      { keys: ['+', '−'], what: 'zoom in / out (or the mouse wheel), both images together' },
      { keys: ['0'], what: 'fit (zoom reset)' },
      { keys: ['Shift+←↑→↓'], what: 'pan (or drag)' },
      { keys: ['?'], what: 'this list' },
      { keys: ['Esc'], what: 'close this list, leave a field' },
    ],
  },
];
