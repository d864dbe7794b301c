// Small DOM helpers shared by the page's modules (no state).

/** The first element matching `sel` under `root`. */
export const $ = (sel, root = document) => root.querySelector(sel);

/** An element with attributes (`class`, `text`, `on<event>` handlers) and children. */
export function h(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of [].concat(children)) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export function tableWrap(table, label) {
  return h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': label }, [table]);
}
