import assert from 'node:assert/strict';
import { test } from 'node:test';

import { classifyFailure, retryAfterSeconds } from '../../serving/web/static/retry.js';

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
