import { defineStore } from 'pinia';
import { shallowReactive } from 'vue';
import { useApi } from '../api';
import { useAppStore } from './app';

/** Most thumbnails kept; a 28x28 PNG data URL is ~1 KB, a 64x64 one a few KB. */
const MAX_CACHED = 5000;
const MAX_PER_CALL = 1000;

/**
 * A client cache of thumbnail data URLs by image id: each id is fetched once, in
 * batches; the oldest entries go first when the cache is full.
 */
export const useThumbnailsStore = defineStore('thumbnails', () => {
  const api = useApi();
  const app = useAppStore();
  const urls = shallowReactive(new Map<number, string>());
  const inFlight = new Set<number>();

  async function ensure(ids: number[]): Promise<void> {
    const missing = [...new Set(ids)].filter((id) => !urls.has(id) && !inFlight.has(id));
    if (missing.length === 0) return;
    missing.forEach((id) => inFlight.add(id));
    try {
      for (let i = 0; i < missing.length; i += MAX_PER_CALL) {
        const batch = await api['images.thumbnails']({ ids: missing.slice(i, i + MAX_PER_CALL) });
        for (const [id, url] of Object.entries(batch)) urls.set(Number(id), url);
      }
      evict();
    } catch (error) {
      app.notify(error);
    } finally {
      missing.forEach((id) => inFlight.delete(id));
    }
  }

  function evict(): void {
    const extra = urls.size - MAX_CACHED;
    if (extra <= 0) return;
    let n = 0;
    for (const id of urls.keys()) {
      if (n++ >= extra) break;
      urls.delete(id);
    }
  }

  const get = (id: number): string | undefined => urls.get(id);

  return { urls, ensure, get };
});
