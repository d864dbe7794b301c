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

/**
 * Send a request; while the server sheds it (busy, with Retry-After), wait the time it
 * names and send it again, at most MAX_AUTO_RETRIES times. The page's one retry rule: the
 * form, the batch page, the exports and the name matching (/api/match) all send through it.
 * @param {() => Promise<Response>} send sends the request once (a new fetch per call)
 * @param {{ onWait?: (seconds: number, attempt: number, max: number) => void,
 *           sleep?: (ms: number) => Promise<void> }} [opts] `onWait` says the wait before
 *   it starts; `sleep` waits (injectable for tests)
 * @returns {Promise<{ resp: Response, data: any, failure: null | 'busy' | 'not_ready' | 'errors' }>}
 *   the last answer, with its JSON body when it failed (`data`, null when not JSON);
 *   `failure` is 'busy' only once the retries are spent
 */
export async function sendWithRetry(send, opts = {}) {
  const sleep = opts.sleep || ((ms) => new Promise((resolve) => { setTimeout(resolve, ms); }));
  for (let attempt = 0; ; attempt += 1) {
    const resp = await send();
    if (resp.ok) return { resp, data: null, failure: null };
    const data = await resp.clone().json().catch(() => null);
    const after = retryAfterSeconds(resp.headers.get('retry-after'));
    const failure = classifyFailure(resp.status, after, data);
    if (failure !== 'busy' || attempt >= MAX_AUTO_RETRIES) return { resp, data, failure };
    const wait = after || 2;
    if (opts.onWait) opts.onWait(wait, attempt + 1, MAX_AUTO_RETRIES);
    await sleep(wait * 1000);
  }
}
