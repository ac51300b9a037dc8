// Pixel-level expectations of the e2e tests: an overlay the page shows, decoded, against the one
// computed here from the stored map (read from the server's database, read-only): the map
// upsampled to the image (bilinear, half-pixel centres) and coloured, at opacity 1 (the page
// blends it over the image with CSS opacity). A blend that returned the bare image, or a map that
// was not the stored one, differs.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { decodeMap } from '../../src/main/engine/explain/cam';
import { colormapRgb } from '../../src/main/images/colormap';
import { upsampleBilinear } from '../../src/main/images/overlay';
import { appWorkspace } from './env';

export interface Rgb {
  data: Uint8Array;
  width: number;
  height: number;
}

/** A data: URL (PNG) or any image sharp reads, as RGB bytes. */
export async function rgbOfDataUrl(url: string): Promise<Rgb> {
  const m = /^data:image\/\w+;base64,(.*)$/.exec(url);
  if (!m) throw new Error(`not a data URL: ${url.slice(0, 40)}`);
  const { data, info } = await sharp(Buffer.from(m[1], 'base64'))
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`expected 3 channels, got ${info.channels}`);
  return { data: new Uint8Array(data), width: info.width, height: info.height };
}

/** The coloured map alone (opacity 1) of a stored explanation, computed from the database. */
export function storedOverlay(
  q: { pairId: number; modelId: number; method: string; layer: string; image: 'a' | 'b'; kind: 'factual' | 'counterfactual' },
  colormap: 'jet' | 'viridis',
): Rgb {
  const db = new Database(join(appWorkspace(), 'simlens.db'), { readonly: true, fileMustExist: true });
  try {
    const row = db
      .prepare(
        `SELECT e.map_height AS h, e.map_width AS w, e.${q.image}_${q.kind} AS map, i.width AS W, i.height AS H
         FROM explanations e JOIN pairs p ON p.id = e.pair_id JOIN images i ON i.id = p.image_${q.image}
         WHERE e.pair_id = ? AND e.model_id = ? AND e.method = ? AND e.layer = ?`,
      )
      .get(q.pairId, q.modelId, q.method, q.layer) as { h: number; w: number; map: Buffer; W: number; H: number } | undefined;
    if (!row) throw new Error(`no stored ${q.method} explanation of pair ${q.pairId} by model ${q.modelId}`);
    const up = upsampleBilinear(decodeMap(row.map, row.h, row.w), row.h, row.w, row.H, row.W);
    const data = new Uint8Array(row.W * row.H * 3);
    for (let p = 0; p < up.length; p++) data.set(colormapRgb(colormap, Math.round(Math.min(1, Math.max(0, up[p])) * 255) / 255), 3 * p);
    return { data, width: row.W, height: row.H };
  } finally {
    db.close();
  }
}

/** The stored image of a pair (the demo's: raw grey bytes), as RGB. */
export function storedImage(pairId: number, image: 'a' | 'b'): Rgb {
  const db = new Database(join(appWorkspace(), 'simlens.db'), { readonly: true, fileMustExist: true });
  try {
    const row = db
      .prepare(
        `SELECT i.width AS W, i.height AS H, i.channels AS c, i.pixel_encoding AS enc, i.pixels AS px FROM pairs p JOIN images i ON i.id = p.image_${image} WHERE p.id = ?`,
      )
      .get(pairId) as { W: number; H: number; c: number; enc: string; px: Buffer };
    if (row.c !== 1 || row.enc !== 'raw') throw new Error(`expected a raw grey image, got ${row.c} channels, ${row.enc}`);
    return { data: Uint8Array.from(Array.from(row.px).flatMap((v) => [v, v, v])), width: row.W, height: row.H };
  } finally {
    db.close();
  }
}

/** Largest per-channel difference of two images of the same size. */
export function maxDiff(x: Rgb, y: Rgb): number {
  if (x.width !== y.width || x.height !== y.height) throw new Error(`sizes differ: ${x.width}x${x.height} vs ${y.width}x${y.height}`);
  let worst = 0;
  for (let i = 0; i < x.data.length; i++) worst = Math.max(worst, Math.abs(x.data[i] - y.data[i]));
  return worst;
}
