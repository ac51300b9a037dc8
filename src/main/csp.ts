// The Content-Security-Policy of the app's own pages, in one place for both shells:
// the Electron window (response headers of the app protocol and the dev server) and
// browser mode (src/main/web/). src/renderer/index.html carries the same policy in a
// <meta> as a second line of defence (a unit test keeps the two in step).
//
// No 'unsafe-inline' or 'unsafe-eval': the built renderer is module scripts and
// extracted CSS files; Vue's compiled templates need neither. Thumbnails are data:
// URLs, hence img-src data:. Only the Vite dev server (HMR injects <style> elements)
// needs inline styles, and only there are they allowed (see devCsp).

const DIRECTIVES: [string, string][] = [
  ['default-src', "'self'"],
  ['img-src', "'self' data: blob:"],
  ['script-src', "'self'"],
  ['style-src', "'self'"],
  ['font-src', "'self'"],
  ['connect-src', "'self'"],
  ['object-src', "'none'"],
  ['base-uri', "'none'"],
  ['form-action', "'none'"],
  ['frame-ancestors', "'none'"],
];

const join = (d: [string, string][]) => d.map(([k, v]) => `${k} ${v}`).join('; ');

/** The policy sent as a response header. */
export const CSP = join(DIRECTIVES);

/** The policy for a <meta> element: browsers ignore (and warn about) frame-ancestors there. */
export const META_CSP = join(DIRECTIVES.filter(([k]) => k !== 'frame-ancestors'));

/** For `electron-vite dev` only: Vite's HMR client injects <style> elements. */
export const DEV_CSP = join(DIRECTIVES.map(([k, v]) => [k, k === 'style-src' ? `${v} 'unsafe-inline'` : v]));

/** Security headers sent with every page and asset of the app. */
export const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};
