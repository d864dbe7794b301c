import assert from 'node:assert/strict';
import { test } from 'node:test';

import { MAX_AUTO_RETRIES, classifyFailure, retryAfterSeconds, sendWithRetry } from '../../serving/web/static/retry.js';

const shed = { errors: [{ field: null, message: 'server busy: /recommend was not started within 2000 ms; retry after 2 s' }] };
const notReady = { errors: [{ field: null, message: 'service not ready: no model' }] };

test('a shed answer (503 or 429 with Retry-After) is busy, retried; not a broken service', () => {
  assert.equal(classifyFailure(503, 2, shed), 'busy');
  assert.equal(classifyFailure(429, 5, { errors: [] }), 'busy');
});

test('a 503 without a model is "not ready", whatever the Retry-After', () => {
  assert.equal(classifyFailure(503, null, notReady), 'not_ready');
  assert.equal(classifyFailure(503, 5, notReady), 'not_ready');
});

test('a 400 is the request\'s own errors', () => {
  assert.equal(classifyFailure(400, null, { errors: [{ field: 'industry' }] }), 'errors');
});

test('Retry-After is read in seconds and bounded', () => {
  assert.equal(retryAfterSeconds('2'), 2);
  assert.equal(retryAfterSeconds('0'), 1);
  assert.equal(retryAfterSeconds('3600'), 60);
  assert.equal(retryAfterSeconds(null), null);
  assert.equal(retryAfterSeconds('Wed, 21 Oct 2015 07:28:00 GMT'), null);
});

/**
 * A Response as the server sends it (status, Retry-After, JSON body).
 * @param {number} status
 * @param {any} body
 * @param {number} [retryAfter]
 * @returns {Response}
 */
function answer(status, body, retryAfter) {
  /** @type {Record<string, string>} */
  const headers = { 'content-type': 'application/json' };
  if (retryAfter !== undefined) headers['retry-after'] = String(retryAfter);
  return new Response(JSON.stringify(body), { status, headers });
}

test('sendWithRetry sends a shed request again after the wait the server named', async () => {
  const answers = [answer(503, shed, 2), answer(429, { errors: [] }, 7), answer(200, { ok: 1 })];
  /** @type {number[]} */
  const waits = [];
  /** @type {number[][]} */
  const said = [];
  let sent = 0;
  const { resp, failure } = await sendWithRetry(async () => { sent += 1; return /** @type {Response} */ (answers.shift()); }, {
    sleep: async (ms) => { waits.push(ms); },
    onWait: (s, k, max) => said.push([s, k, max]),
  });
  assert.equal(sent, 3);
  assert.equal(failure, null);
  assert.deepEqual(await resp.json(), { ok: 1 });
  assert.deepEqual(waits, [2000, 7000]);
  assert.deepEqual(said, [[2, 1, MAX_AUTO_RETRIES], [7, 2, MAX_AUTO_RETRIES]]);
});

test('sendWithRetry gives up after MAX_AUTO_RETRIES and says busy, not broken', async () => {
  let sent = 0;
  const { failure, resp } = await sendWithRetry(async () => { sent += 1; return answer(503, shed, 1); }, {
    sleep: async () => {},
  });
  assert.equal(sent, MAX_AUTO_RETRIES + 1);
  assert.equal(failure, 'busy');
  // The body is still there for whoever reads it.
  assert.deepEqual(await resp.json(), shed);
});

test('sendWithRetry never retries a missing model or the request\'s own errors', async () => {
  /** @type {Array<[Response, string]>} */
  const cases = [[answer(503, notReady, 5), 'not_ready'], [answer(400, { errors: [{ field: 'csv' }] }), 'errors']];
  for (const [r, expected] of cases) {
    let sent = 0;
    const { failure, data } = await sendWithRetry(async () => { sent += 1; return r; }, {
      sleep: async () => { throw new Error('must not wait'); },
    });
    assert.equal(sent, 1);
    assert.equal(failure, expected);
    assert.ok(Array.isArray(data.errors));
  }
});
