// The painting keys (pure), for any view that mounts the mask tools. Views give them priority
// over their own keys while painting. Two schemes, as the view's own keys allow:
// - 'plain' (explanation view): P / E / L / G / W pick brush, eraser, lasso, polygon, wand;
//   [ and ] change the brush size;
// - 'shifted' (review view, whose plain letters and [ ] are verdict and map keys): the same
//   letters with Shift, and Shift+[ / Shift+] ({ and }) for the brush size.
// Both: Ctrl+Z undo, Ctrl+Shift+Z (or Ctrl+Y) redo. While a polygon is being placed: Enter
// closes and fills it (Shift+Enter cuts it out), Escape drops it, Backspace removes its last vertex.
import type { MaskTool } from '../masks';

export type MaskKeyScheme = 'plain' | 'shifted';

export type MaskKeyAction =
  | { kind: 'undo' }
  | { kind: 'redo' }
  | { kind: 'brush'; dir: 1 | -1 }
  | { kind: 'tool'; tool: MaskTool }
  | { kind: 'polygon'; op: 'close'; value: 0 | 1 }
  | { kind: 'polygon'; op: 'cancel' | 'back' };

export interface KeyLike {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  shiftKey: boolean;
  altKey: boolean;
}

const TOOL_KEYS: Record<string, MaskTool> = { p: 'brush', e: 'eraser', l: 'lasso', g: 'polygon', w: 'wand' };
/** The tools in the order the toolbar and the key lists show them. */
export const MASK_TOOLS: readonly MaskTool[] = ['brush', 'eraser', 'lasso', 'polygon', 'wand'];

/** The painting action of a key (null: not a painting key in this scheme); `polygonOpen`: a polygon is being placed. */
export function maskKeyAction(e: KeyLike, scheme: MaskKeyScheme = 'plain', polygonOpen = false): MaskKeyAction | null {
  if (e.altKey) return null;
  const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
  if (e.ctrlKey || e.metaKey) {
    if (key === 'z') return e.shiftKey ? { kind: 'redo' } : { kind: 'undo' };
    if (key === 'y' && !e.shiftKey) return { kind: 'redo' };
    return null;
  }
  if (polygonOpen) {
    if (e.key === 'Enter') return { kind: 'polygon', op: 'close', value: e.shiftKey ? 0 : 1 };
    if (e.key === 'Escape') return { kind: 'polygon', op: 'cancel' };
    if (e.key === 'Backspace') return { kind: 'polygon', op: 'back' };
  }
  const sizeKeys = scheme === 'plain' ? ['[', '{', ']', '}'] : ['{', '}'];
  if (sizeKeys.includes(e.key)) return { kind: 'brush', dir: e.key === '[' || e.key === '{' ? -1 : 1 };
  if (e.shiftKey === (scheme === 'shifted') && key in TOOL_KEYS) return { kind: 'tool', tool: TOOL_KEYS[key] };
  return null;
}

/** How a tool's key is written in a scheme ('P' or 'Shift+P'; `short`: '⇧P', for buttons). */
export function toolKeyLabel(tool: MaskTool, scheme: MaskKeyScheme, short = false): string {
  const letter = Object.keys(TOOL_KEYS)
    .find((k) => TOOL_KEYS[k] === tool)!
    .toUpperCase();
  if (scheme === 'plain') return letter;
  return short ? `⇧${letter}` : `Shift+${letter}`;
}

/** The painting keys of a scheme, for a view's key list. */
export function maskKeyHelp(scheme: MaskKeyScheme): { keys: string[]; what: string }[] {
  const tools = MASK_TOOLS.map((t) => toolKeyLabel(t, scheme));
  return [
    { keys: tools, what: 'brush / eraser / lasso / polygon / magic wand' },
    { keys: scheme === 'shifted' ? ['Shift+[', 'Shift+]'] : ['[', ']'], what: 'brush size − / +' },
    { keys: ['Ctrl+Z', 'Ctrl+Shift+Z'], what: 'undo / redo a mask step (of the image last painted)' },
    { keys: ['Enter', 'Backspace', 'Esc'], what: 'polygon: close and fill / remove the last vertex / drop it' },
  ];
}
