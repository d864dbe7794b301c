// The page's state: one object, created once and passed to every function that uses it.

import { $ } from './dom.js';

/** A fresh page state. */
export function createState() {
  return {
    catalog: null,
    industries: new Map(),
    categories: new Map(),
    rows: [], // {id, el, refs, match, matchState, seq, timer}
    nextId: 1,
    mode: 'customer',
    result: null, // {kind: 'recommend'|'check', data, app, rowIds, at}
    errors: [], // [{target, message: () => string}]
    submitIndexToRow: [],
    serverChecksOnly: new URLSearchParams(location.search).get('checks') === 'server',
    busy: false,
    chartJobs: [],
    importNotes: null,
    status: null,
    importStatus: null,
  };
}

/** The status line (aria-live); `msg` may be a function so that it follows the language. */
export function setStatus(state, msg) {
  state.status = typeof msg === 'function' ? msg : () => msg;
  $('#status').textContent = state.status();
}

export function markStale(state) {
  if (!state.result) return;
  const note = $('#stale-note');
  if (note) note.hidden = false;
}
