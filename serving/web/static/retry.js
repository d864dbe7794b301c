// @ts-check
// What a failed answer means for the customer, and when to ask again (no DOM, no state):
// a request shed under load (429/503 with Retry-After) is retried by itself after the
// wait the server names; a service without a model says so; anything else is the
// request's own errors.

/** At most this many automatic retries of an answer the server shed. */
export const MAX_AUTO_RETRIES = 3;

/**
 * @param {number} status HTTP status
 * @param {number | null} retryAfter seconds from Retry-After, or null
 * @param {any} data the JSON body (or null)
 * @returns {'busy' | 'not_ready' | 'errors'}
 */
export function classifyFailure(status, retryAfter, data) {
  const first = data && Array.isArray(data.errors) && data.errors[0] ? String(data.errors[0].message || '') : '';
  if ((status === 503 || status === 429) && retryAfter !== null && !/^service not ready/.test(first)) return 'busy';
  if (status === 503) return 'not_ready';
  return 'errors';
}

/**
 * Seconds of a Retry-After header, bounded to 1–60; null when absent or not a number.
 * @param {string | null | undefined} header
 * @returns {number | null}
 */
export function retryAfterSeconds(header) {
  if (header === null || header === undefined || header === '') return null;
  const n = Number(header);
  if (!Number.isFinite(n)) return null;
  return Math.min(60, Math.max(1, Math.round(n)));
}
