// Images and pairs as the engine wants them (dataset.ts).
export * from './dataset';
