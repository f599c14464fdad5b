/**
 * The renderer's Content-Security-Policy, the same in Electron (app:// protocol response and the page's meta tag)
 * and in web mode: our own scripts and styles only, no eval, no inline script, no remote content, no framing.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
