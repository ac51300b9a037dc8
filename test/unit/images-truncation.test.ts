import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { looksTruncated, normalise } from '../../src/main/images/decode';

describe('truncated files', () => {
  it('detects JPEG and PNG streams cut before their end marker', async () => {
    const img = sharp({ create: { width: 64, height: 48, channels: 3, background: '#3366cc' } });
    const jpeg = await img.clone().jpeg().toBuffer();
    const png = await img.clone().png().toBuffer();
    expect(looksTruncated(jpeg)).toBe(false);
    expect(looksTruncated(png)).toBe(false);
    expect(looksTruncated(jpeg.subarray(0, Math.floor(jpeg.length * 0.6)))).toBe(true);
    expect(looksTruncated(png.subarray(0, png.length - 20))).toBe(true);
    expect(looksTruncated(Buffer.from('hello world'))).toBe(false);
  });

  it('reports a truncated JPEG as truncated, whatever text libvips gives', async () => {
    const jpeg = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#884422' } })
      .jpeg()
      .toBuffer();
    await expect(normalise(jpeg.subarray(0, Math.floor(jpeg.length / 2)))).rejects.toThrow(/^truncated image/);
  });
});
