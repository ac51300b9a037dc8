// The painting keys (pure), for any view that mounts the mask tools: Ctrl+Z undo, Ctrl+Shift+Z
// (or Ctrl+Y) redo, [ and ] brush size, P / E / L / W the tools. Views give them priority over
// their own keys while painting.
import type { MaskTool } from '../masks';

export type MaskKeyAction = { kind: 'undo' } | { kind: 'redo' } | { kind: 'brush'; dir: 1 | -1 } | { kind: 'tool'; tool: MaskTool };

export interface KeyLike {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  shiftKey: boolean;
  altKey: boolean;
}

const TOOL_KEYS: Record<string, MaskTool> = { p: 'brush', e: 'eraser', l: 'lasso', w: 'wand' };

export function maskKeyAction(e: KeyLike): MaskKeyAction | null {
  if (e.altKey) return null;
  const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
  if (e.ctrlKey || e.metaKey) {
    if (key === 'z') return e.shiftKey ? { kind: 'redo' } : { kind: 'undo' };
    if (key === 'y' && !e.shiftKey) return { kind: 'redo' };
    return null;
  }
  if (e.key === '[' || e.key === '{') return { kind: 'brush', dir: -1 };
  if (e.key === ']' || e.key === '}') return { kind: 'brush', dir: 1 };
  if (!e.shiftKey && key in TOOL_KEYS) return { kind: 'tool', tool: TOOL_KEYS[key] };
  return null;
}
