// A small LRU of rendered overlays (data URLs), bounded by entries and bytes.
import type { OverlayDto } from '../../shared/dto';

export class OverlayCache {
  private readonly map = new Map<string, OverlayDto & { bytes: number }>();
  private bytes = 0;
  constructor(
    private readonly maxEntries: number,
    private readonly maxBytes: number,
  ) {}
  get(key: string): OverlayDto | undefined {
    const hit = this.map.get(key);
    if (!hit) return undefined;
    this.map.delete(key);
    this.map.set(key, hit);
    const { bytes: _bytes, ...dto } = hit;
    void _bytes;
    return dto;
  }
  set(key: string, value: OverlayDto): void {
    const bytes = value.dataUrl.length;
    if (bytes > this.maxBytes) return;
    const old = this.map.get(key);
    if (old) {
      this.bytes -= old.bytes;
      this.map.delete(key);
    }
    this.map.set(key, { ...value, bytes });
    this.bytes += bytes;
    for (const [k, v] of this.map) {
      if (this.map.size <= this.maxEntries && this.bytes <= this.maxBytes) break;
      this.map.delete(k);
      this.bytes -= v.bytes;
    }
  }
  get size(): number {
    return this.map.size;
  }
  clear(): void {
    this.map.clear();
    this.bytes = 0;
  }
}
