// Inline SVG charts drawn at the container's real pixel width, so text keeps its size
// on a phone and on paper. Each function returns an <svg> element; bars carry the class
// "bar" (and data-* values) so that tests and assistive tech can find them.

const NS = 'http://www.w3.org/2000/svg';
const FONT = '12px system-ui, -apple-system, "Segoe UI", "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif';
const FONT_BOLD = `600 ${FONT}`;

export const COLORS = {
  appropriate: '#00875f',
  undersized: '#d55e00',
  oversized: '#0072b2',
  positive: '#3d5a80',
  negative: '#c05600',
  axis: '#7b8794',
  grid: '#e4e7eb',
  ink: '#1f2933',
  muted: '#52606d',
  band90: '#d9e8f6',
  band80: '#9cc3e6',
  marker: '#b42318',
};

let measureCtx = null;
/** Width in px of `text` in the chart font. */
export function textWidth(text, font = FONT) {
  if (!measureCtx) measureCtx = document.createElement('canvas').getContext('2d');
  if (!measureCtx) return String(text).length * 7;
  measureCtx.font = font;
  return measureCtx.measureText(String(text)).width;
}

/** Shorten `text` with an ellipsis so that it fits `max` px. */
export function fitText(text, max, font = FONT) {
  const s = String(text);
  if (textWidth(s, font) <= max) return s;
  let lo = 0;
  let hi = s.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (textWidth(s.slice(0, mid) + '…', font) <= max) lo = mid; else hi = mid - 1;
  }
  return s.slice(0, Math.max(1, lo)) + '…';
}

function el(tag, attrs = {}, children = []) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    node.setAttribute(k, String(v));
  }
  for (const c of [].concat(children)) {
    if (c === null || c === undefined) continue;
    node.append(typeof c === 'string' ? document.createTextNode(c) : c);
  }
  return node;
}

function text(x, y, s, attrs = {}) {
  return el('text', { x, y, 'font-size': 12, fill: COLORS.ink, ...attrs }, [String(s)]);
}

function svgRoot(width, height, title, desc, cls) {
  const id = `c${Math.random().toString(36).slice(2, 9)}`;
  const svg = el('svg', {
    width, height, viewBox: `0 0 ${width} ${height}`, role: 'img',
    'aria-labelledby': `${id}-t ${id}-d`, class: `chart ${cls}`,
    'font-family': FONT.replace(/^12px /, ''),
  });
  svg.append(el('title', { id: `${id}-t` }, [title]), el('desc', { id: `${id}-d` }, [desc]));
  return svg;
}

function niceStep(range, target) {
  const raw = range / Math.max(1, target);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const step = norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10;
  return step * mag;
}

/**
 * Stacked 100 % columns: P(appropriate) at the bottom, then undersized, then oversized,
 * one column per neighbouring standard capacity; the recommended one is outlined.
 * opts: {width, labels: {appropriate, undersized, oversized, recommended, proposed}, fmtPct, fmtKva, title, proposedKva}
 */
export function tierChart(tiers, opts) {
  const width = Math.max(260, Math.round(opts.width));
  const height = 250;
  const m = { top: 26, right: 8, bottom: 40, left: 40 };
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const n = tiers.length || 1;
  const band = plotW / n;
  const barW = Math.min(64, band * 0.62);
  const desc = tiers.map((t) => `${opts.fmtKva(t.capacity_kva)}: ${opts.labels.appropriate} ${opts.fmtPct(t.p_appropriate)}, `
    + `${opts.labels.undersized} ${opts.fmtPct(t.p_undersized)}, ${opts.labels.oversized} ${opts.fmtPct(t.p_oversized)}`
    + (t.recommended ? ` (${opts.labels.recommended})` : '')).join('; ');
  const svg = svgRoot(width, height, opts.title, desc, 'tier-chart');
  const y = (p) => m.top + plotH * (1 - p);
  for (const p of [0, 0.25, 0.5, 0.75, 1]) {
    svg.append(el('line', { x1: m.left, x2: width - m.right, y1: y(p), y2: y(p), stroke: p === 0 ? COLORS.axis : COLORS.grid, 'stroke-width': 1 }));
    svg.append(text(m.left - 6, y(p) + 4, opts.fmtPct(p), { 'text-anchor': 'end', fill: COLORS.muted, 'font-size': 11 }));
  }
  tiers.forEach((t, i) => {
    const cx = m.left + band * (i + 0.5);
    const x = cx - barW / 2;
    const parts = [
      ['appropriate', t.p_appropriate],
      ['undersized', t.p_undersized],
      ['oversized', t.p_oversized],
    ];
    let acc = 0;
    const g = el('g', { class: `tier${t.recommended ? ' recommended' : ''}`, 'data-kva': t.capacity_kva });
    for (const [key, p] of parts) {
      const h = Math.max(0, plotH * p);
      const top = y(acc + p);
      const rect = el('rect', {
        x, y: top, width: barW, height: h, fill: COLORS[key], class: `bar bar-${key}`,
        'data-p': p.toFixed(4),
      }, [el('title', {}, [`${opts.fmtKva(t.capacity_kva)} · ${opts.labels[key]} ${opts.fmtPct(p)}`])]);
      g.append(rect);
      acc += p;
    }
    // P(appropriate) printed inside the green part when it fits, else just above it.
    const pa = t.p_appropriate;
    const inside = plotH * pa >= 18;
    g.append(text(cx, inside ? y(pa) + 15 : y(pa) - 4, opts.fmtPct(pa), {
      'text-anchor': 'middle', 'font-weight': 600, 'font-size': 12,
      fill: inside ? '#ffffff' : COLORS.ink,
    }));
    if (t.recommended) {
      g.append(el('rect', { x: x - 3, y: m.top - 3, width: barW + 6, height: plotH + 6, fill: 'none', stroke: COLORS.ink, 'stroke-width': 2, rx: 3, class: 'recommended-outline' }));
      g.append(text(cx, m.top - 8, opts.labels.recommended, { 'text-anchor': 'middle', 'font-weight': 700 }));
    }
    const isProposed = opts.proposedKva != null && Math.abs(t.capacity_kva - opts.proposedKva) < 1e-6;
    if (isProposed && !t.recommended) {
      g.append(el('rect', { x: x - 3, y: m.top - 3, width: barW + 6, height: plotH + 6, fill: 'none', stroke: COLORS.ink, 'stroke-width': 1.5, 'stroke-dasharray': '4 3', rx: 3 }));
      g.append(text(cx, m.top - 8, opts.labels.proposed, { 'text-anchor': 'middle', 'font-weight': 600 }));
    }
    const lab = String(t.capacity_kva.toLocaleString('en-US', { maximumFractionDigits: 0 }));
    g.append(text(cx, height - m.bottom + 16, lab, { 'text-anchor': 'middle', 'font-weight': t.recommended ? 700 : 400 }));
    svg.append(g);
  });
  svg.append(text(m.left + plotW / 2, height - 6, 'kVA', { 'text-anchor': 'middle', fill: COLORS.muted, 'font-size': 11 }));
  return svg;
}

/**
 * Horizontal diverging bars of the drivers of the predicted peak, in kW.
 * drivers: [{label, kw, detail}] sorted by |kw|. opts: {width, title, fmtKw, unit}
 */
export function driversChart(drivers, opts) {
  const width = Math.max(260, Math.round(opts.width));
  // Narrow screens: each label on its own line above its bar, so the bars keep the width.
  const compact = width < 480;
  const rowH = compact ? 42 : 26;
  const m = { top: 8, right: 8, bottom: 24, left: 8 };
  const height = m.top + m.bottom + rowH * drivers.length;
  const desc = drivers.map((d) => `${d.label}: ${opts.fmtKw(d.kw)}`).join('; ');
  const svg = svgRoot(width, height, opts.title, desc, 'drivers-chart');
  const maxLabel = compact ? width - m.left - m.right : Math.min(width * 0.42, Math.max(...drivers.map((d) => textWidth(d.label))) + 4);
  const valueW = Math.max(...drivers.map((d) => textWidth(opts.fmtKw(d.kw), FONT_BOLD))) + 8;
  const plotL = compact ? m.left : m.left + maxLabel + 6;
  const plotR = width - m.right;
  const hasNeg = drivers.some((d) => d.kw < 0);
  const maxPos = Math.max(0, ...drivers.map((d) => d.kw));
  const maxNeg = Math.max(0, ...drivers.map((d) => -d.kw));
  // Room for the value labels on both sides of the bars.
  const span = plotR - plotL - valueW * (hasNeg ? 2 : 1);
  const total = maxPos + maxNeg || 1;
  const scale = Math.max(10, span) / total;
  const zero = plotL + (hasNeg ? valueW + maxNeg * scale : 0);
  // axis ticks
  const step = niceStep(total, Math.max(2, Math.floor(span / 90)));
  for (let v = -Math.floor(maxNeg / step) * step; v <= maxPos + 1e-9; v += step) {
    const x = zero + v * scale;
    if (x < plotL - 1 || x > plotR + 1) continue;
    svg.append(el('line', { x1: x, x2: x, y1: m.top, y2: height - m.bottom, stroke: Math.abs(v) < 1e-9 ? COLORS.axis : COLORS.grid }));
    svg.append(text(x, height - 8, `${Math.round(v * 100) / 100}`, { 'text-anchor': 'middle', fill: COLORS.muted, 'font-size': 11 }));
  }
  drivers.forEach((d, i) => {
    const top = m.top + rowH * i;
    const cy = compact ? top + 24 : top + rowH / 2;
    const w = Math.abs(d.kw) * scale;
    const x = d.kw >= 0 ? zero : zero - w;
    const g = el('g', { class: 'driver' });
    // A white halo keeps labels legible where they cross the axis lines.
    g.append(text(m.left, compact ? top + 13 : cy + 4, fitText(d.label, maxLabel), {
      'font-size': 12, stroke: '#ffffff', 'stroke-width': 3, 'paint-order': 'stroke', 'stroke-linejoin': 'round',
    }));
    g.append(el('rect', {
      x, y: cy - (compact ? 7 : 8), width: Math.max(1, w), height: compact ? 14 : 16, rx: 2,
      fill: d.kw >= 0 ? COLORS.positive : COLORS.negative,
      class: `bar ${d.kw >= 0 ? 'bar-positive' : 'bar-negative'}`, 'data-kw': d.kw.toFixed(3),
    }, [el('title', {}, [`${d.label}: ${opts.fmtKw(d.kw)}${d.detail ? ` (${d.detail})` : ''}`])]));
    const vx = d.kw >= 0 ? zero + w + 4 : zero - w - 4;
    g.append(text(vx, cy + 4, opts.fmtKw(d.kw), { 'text-anchor': d.kw >= 0 ? 'start' : 'end', 'font-weight': 600 }));
    svg.append(g);
  });
  svg.append(text(plotR, height - 8, opts.unit, { 'text-anchor': 'end', fill: COLORS.muted, 'font-size': 11 }));
  return svg;
}

/**
 * Where this application stands among its peers on one statistic: P5–P95 band, P10–P90
 * band, ticks at P10/P50/P90 and a marker for this application.
 * q: {p5,p10,p50,p90,p95}; value: number|null. opts: {width, title, fmt, thisLabel, pctText,
 * tickNames} where tickNames ({p10, p50, p90}, default the percentile names) words the
 * tick labels (plain words for the customer, e.g. {p10: '', p50: '一般', p90: ''}).
 */
export function peerChart(q, value, opts) {
  const width = Math.max(260, Math.round(opts.width));
  const height = 92;
  const m = { left: 12, right: 12 };
  const lo0 = Math.min(q.p5, value ?? q.p5);
  const hi0 = Math.max(q.p95, value ?? q.p95);
  const pad = (hi0 - lo0) * 0.08 || Math.abs(hi0) * 0.1 || 1;
  const lo = Math.max(0, lo0 - pad);
  const hi = hi0 + pad;
  const x = (v) => m.left + ((v - lo) / (hi - lo)) * (width - m.left - m.right);
  const axisY = 52;
  const desc = `P5 ${opts.fmt(q.p5)}, P10 ${opts.fmt(q.p10)}, P50 ${opts.fmt(q.p50)}, P90 ${opts.fmt(q.p90)}, P95 ${opts.fmt(q.p95)}`
    + (value != null ? `; ${opts.thisLabel} ${opts.fmt(value)}${opts.pctText ? ` (${opts.pctText})` : ''}` : '');
  const svg = svgRoot(width, height, opts.title, desc, 'peer-chart');
  svg.append(el('line', { x1: m.left, x2: width - m.right, y1: axisY, y2: axisY, stroke: COLORS.grid, 'stroke-width': 2 }));
  svg.append(el('rect', { x: x(q.p5), y: axisY - 9, width: Math.max(1, x(q.p95) - x(q.p5)), height: 18, fill: COLORS.band90, class: 'bar bar-p5-p95', rx: 3 },
    [el('title', {}, [`P5–P95: ${opts.fmt(q.p5)} – ${opts.fmt(q.p95)}`])]));
  svg.append(el('rect', { x: x(q.p10), y: axisY - 9, width: Math.max(1, x(q.p90) - x(q.p10)), height: 18, fill: COLORS.band80, class: 'bar bar-p10-p90', rx: 2 },
    [el('title', {}, [`P10–P90: ${opts.fmt(q.p10)} – ${opts.fmt(q.p90)}`])]));
  // Tick labels below the axis; P10 right-aligned, P90 left-aligned, P50 centred and
  // moved down a line when it would collide with either.
  const ticks = [['P10', q.p10, 'end'], ['P50', q.p50, 'middle'], ['P90', q.p90, 'start']];
  const names = opts.tickNames || { p10: 'P10', p50: 'P50', p90: 'P90' };
  const tickLabel = (name, v) => {
    const word = names[name.toLowerCase()];
    return word ? `${word} ${opts.fmt(v)}` : opts.fmt(v);
  };
  const w50 = textWidth(tickLabel('P50', q.p50)) / 2 + 4;
  const crowded = x(q.p50) - w50 < x(q.p10) + 2 || x(q.p50) + w50 > x(q.p90) - 2;
  for (const [name, v, anchor] of ticks) {
    const tx = x(v);
    svg.append(el('line', { x1: tx, x2: tx, y1: axisY - 12, y2: axisY + 12, stroke: COLORS.ink, 'stroke-width': name === 'P50' ? 2.5 : 1.5, class: `tick tick-${name.toLowerCase()}` }));
    let ty = axisY + 26;
    let a = anchor;
    if (name === 'P50' && crowded) ty += 13;
    // Keep labels inside the drawing.
    const label = tickLabel(name, v);
    const lw = textWidth(label);
    if (a === 'end' && tx - lw < 0) a = 'start';
    if (a === 'start' && tx + lw > width) a = 'end';
    if (a === 'middle') {
      if (tx - lw / 2 < 0) a = 'start'; else if (tx + lw / 2 > width) a = 'end';
    }
    svg.append(text(tx + (a === 'end' ? -2 : a === 'start' ? 2 : 0), ty, label, { 'text-anchor': a, 'font-size': 11, fill: COLORS.muted }));
  }
  if (value != null) {
    const vx = x(value);
    svg.append(el('path', { d: `M${vx} ${axisY - 4} l-7 -12 h14 z`, fill: COLORS.marker, stroke: '#ffffff', 'stroke-width': 1, class: 'marker this-application' },
      [el('title', {}, [`${opts.thisLabel}: ${opts.fmt(value)}`])]));
    svg.append(el('line', { x1: vx, x2: vx, y1: axisY - 4, y2: axisY + 10, stroke: COLORS.marker, 'stroke-width': 2 }));
    const label = `${opts.thisLabel} ${opts.fmt(value)}${opts.pctText ? ` · ${opts.pctText}` : ''}`;
    const lw = textWidth(label, FONT_BOLD);
    let a = 'middle';
    if (vx - lw / 2 < 2) a = 'start'; else if (vx + lw / 2 > width - 2) a = 'end';
    svg.append(text(a === 'start' ? Math.max(2, vx - 8) : a === 'end' ? Math.min(width - 2, vx + 8) : vx, 14, label, { 'text-anchor': a, 'font-weight': 600, fill: COLORS.marker }));
  }
  return svg;
}

/**
 * Predicted peak with its 80 % and 90 % intervals on one axis.
 * opts: {width, title, fmtKw, labels: {peak, i80, i90}}
 */
export function intervalChart(rec, opts) {
  const width = Math.max(240, Math.round(opts.width));
  const height = 70;
  const m = { left: 10, right: 10 };
  const lo = rec.peak_low90_kw;
  const hi = rec.peak_high90_kw;
  const pad = (hi - lo) * 0.12 || 1;
  const a = Math.max(0, lo - pad);
  const b = hi + pad;
  const x = (v) => m.left + ((v - a) / (b - a)) * (width - m.left - m.right);
  const desc = `${opts.labels.peak} ${opts.fmtKw(rec.predicted_peak_kw)}; ${opts.labels.i80} ${opts.fmtKw(rec.peak_low80_kw)}–${opts.fmtKw(rec.peak_high80_kw)}; ${opts.labels.i90} ${opts.fmtKw(lo)}–${opts.fmtKw(hi)}`;
  const svg = svgRoot(width, height, opts.title, desc, 'interval-chart');
  const yc = 30;
  svg.append(el('rect', { x: x(lo), y: yc - 10, width: x(hi) - x(lo), height: 20, fill: COLORS.band90, class: 'bar band-90', rx: 3 }));
  svg.append(el('rect', { x: x(rec.peak_low80_kw), y: yc - 10, width: x(rec.peak_high80_kw) - x(rec.peak_low80_kw), height: 20, fill: COLORS.band80, class: 'bar band-80', rx: 2 }));
  svg.append(el('line', { x1: x(rec.predicted_peak_kw), x2: x(rec.predicted_peak_kw), y1: yc - 14, y2: yc + 14, stroke: COLORS.ink, 'stroke-width': 3 }));
  const lab = (v, anchor, y) => text(x(v), y, opts.fmtKw(v), { 'text-anchor': anchor, 'font-size': 11, fill: COLORS.muted });
  svg.append(lab(lo, 'start', yc + 28), lab(hi, 'end', yc + 28));
  svg.append(text(x(rec.predicted_peak_kw), yc - 18, opts.fmtKw(rec.predicted_peak_kw), { 'text-anchor': 'middle', 'font-weight': 700 }));
  return svg;
}

/** Small horizontal 100 % bar of the three outcome probabilities (HTML, for cards). */
export function probBar(p, labels, fmtPct) {
  const wrap = document.createElement('div');
  wrap.className = 'prob-bar';
  wrap.setAttribute('role', 'img');
  wrap.setAttribute('aria-label', `${labels.appropriate} ${fmtPct(p.p_appropriate)}, ${labels.undersized} ${fmtPct(p.p_undersized)}, ${labels.oversized} ${fmtPct(p.p_oversized)}`);
  for (const key of ['appropriate', 'undersized', 'oversized']) {
    const seg = document.createElement('span');
    seg.className = `seg-${key}`;
    seg.style.width = `${Math.max(0, p[`p_${key}`] * 100)}%`;
    seg.style.background = COLORS[key];
    wrap.append(seg);
  }
  return wrap;
}
