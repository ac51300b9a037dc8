const nf = new Intl.NumberFormat('en-US');

export const fmtInt = (n: number): string => nf.format(n);
export const fmtPercent = (fraction: number): string => `${Math.round(Math.max(0, Math.min(1, fraction)) * 100)}%`;
export function fmtDate(iso: string | null): string {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}
/** The last path segments, for long paths in narrow cells. */
export function shortPath(path: string, keep = 3): string {
  const parts = path.split(/[\\/]/).filter(Boolean);
  return parts.length <= keep ? path : `…/${parts.slice(-keep).join('/')}`;
}
