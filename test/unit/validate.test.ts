import { describe, expect, it } from 'vitest';
import { checkArgs, isMethodName, METHOD_NAMES } from '../../src/shared/contract';
import { ValidationError } from '../../src/shared/validate';

describe('contract argument validation', () => {
  it('accepts well-formed arguments and drops nothing it knows', () => {
    expect(checkArgs('pairs.page', { datasetId: 3, split: 'val', label: 1, afterId: 0, limit: 50 })).toEqual({
      datasetId: 3,
      split: 'val',
      label: 1,
      afterId: 0,
      limit: 50,
    });
  });

  it('names the field of a wrong type', () => {
    expect(() => checkArgs('datasets.get', { id: '3' })).toThrow(new ValidationError('args.id: expected an integer, got "3"'));
  });

  it('rejects out-of-range numbers', () => {
    expect(() => checkArgs('pairs.page', { datasetId: 1, limit: 100000 })).toThrow(/args.limit: expected an integer in \[1, 500\]/);
    expect(() => checkArgs('datasets.get', { id: 0 })).toThrow(/args.id/);
    expect(() => checkArgs('pairs.generate', { datasetId: 1, ratios: [80, 10, Infinity] })).toThrow(/args.ratios\[2\]/);
  });

  it('rejects unknown fields and non-objects', () => {
    expect(() => checkArgs('datasets.list', { evil: true })).toThrow(/args.evil: unknown field/);
    expect(() => checkArgs('datasets.get', [1])).toThrow(/expected an object/);
    expect(() => checkArgs('datasets.get', 'x')).toThrow(/expected an object/);
  });

  it('takes one pairs.page cursor: afterId (forward) or beforeId (back), not both', () => {
    expect(checkArgs('pairs.page', { datasetId: 3, beforeId: 40, limit: 1 })).toEqual({ datasetId: 3, beforeId: 40, limit: 1 });
    expect(() => checkArgs('pairs.page', { datasetId: 3, afterId: 10, beforeId: 40 })).toThrow(
      new ValidationError('args.beforeId: give afterId or beforeId, not both'),
    );
    expect(() => checkArgs('pairs.page', { datasetId: 3, beforeId: 0 })).toThrow(/args.beforeId: expected an integer in \[1, /);
    expect(() => checkArgs('pairs.page', { datasetId: 3, beforeId: 1.5 })).toThrow(/args.beforeId: expected an integer/);
  });

  it('rejects values outside an enumeration', () => {
    expect(() => checkArgs('pairs.page', { datasetId: 1, split: 'holdout' })).toThrow(/one of train, val, test/);
  });

  it('treats missing arguments as an empty object', () => {
    expect(checkArgs('datasets.list', undefined)).toEqual({});
    expect(() => checkArgs('datasets.get', undefined)).toThrow(/args.id: expected an integer, got nothing/);
  });

  it('bounds arrays', () => {
    const ids = Array.from({ length: 1001 }, (_, i) => i + 1);
    expect(() => checkArgs('images.thumbnails', { ids })).toThrow(/at most 1000 items/);
  });

  it('knows its method names', () => {
    expect(isMethodName('datasets.list')).toBe(true);
    expect(isMethodName('constructor')).toBe(false);
    expect(isMethodName('__proto__')).toBe(false);
    expect(METHOD_NAMES).toContain('pairs.page');
  });
});
