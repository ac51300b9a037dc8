// The running browser-mode server, as started by global-setup.ts.
export function appUrl(): string {
  const url = process.env.SIMLENS_E2E_URL;
  if (!url) throw new Error('SIMLENS_E2E_URL is not set: run the e2e tests through `npx playwright test`');
  return url;
}

export function appOrigin(): string {
  return new URL(appUrl()).origin;
}

export function appToken(): string {
  return new URLSearchParams(new URL(appUrl()).hash.slice(1)).get('token') ?? '';
}

export const DEMO_NAME = 'Fashion-MNIST demo';
