// Images and pairs as the engine wants them (dataset.ts), and expert masks at the input size (mask.ts).
export * from './dataset';
export { maskAtInput } from './mask';
