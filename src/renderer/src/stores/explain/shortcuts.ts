// The explanation view's keyboard shortcuts and opacity steps (pure).
import type { ShowMode } from './overlays';

export const OPACITY_STEP = 0.1;

export type KeyAction =
  | { kind: 'method'; index: number }
  | { kind: 'show'; mode: ShowMode }
  | { kind: 'opacity'; delta: number }
  | { kind: 'pair'; delta: 1 | -1 };

/** The explanation view's keyboard shortcuts (null: not ours). */
export function keyAction(key: string): KeyAction | null {
  if (/^[1-9]$/.test(key)) return { kind: 'method', index: Number(key) - 1 };
  switch (key) {
    case 'f':
      return { kind: 'show', mode: 'factual' };
    case 'c':
      return { kind: 'show', mode: 'counterfactual' };
    case 'b':
      return { kind: 'show', mode: 'both' };
    case '[':
      return { kind: 'opacity', delta: -OPACITY_STEP };
    case ']':
      return { kind: 'opacity', delta: OPACITY_STEP };
    case 'ArrowLeft':
      return { kind: 'pair', delta: -1 };
    case 'ArrowRight':
      return { kind: 'pair', delta: 1 };
    default:
      return null;
  }
}

export const clampOpacity = (v: number): number => Math.round(Math.min(1, Math.max(0, v)) * 100) / 100;
