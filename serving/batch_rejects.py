"""Rejected rows of a contract upload as one entry per customer (issue 25).

:func:`features.validation.validate_frames` reports one row per problem (a customer with
20 equipment lines and one bad rating is 1 customers row and 20 equipment rows), each with
its message ``code`` and ``params``. A person fixing the files thinks in customers: 57
rejected customers were shown as "582 行被拒绝". :func:`customer_rejects` groups the rows
by customer, naming every row of the source files (spreadsheet numbers, header = row 1)
and each distinct reason once with the rows it applies to; nothing is dropped (the rows of
all reasons together are every rejected row). The reasons are codes with parameters,
rendered by :func:`serving.messages.render_reject` here and by the page's catalog
(``serving/web/static/i18n.js``, the same ``reject_*`` keys) there.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from serving.messages import FILE_NAMES, render_reject

FILE_ORDER = ("customers", "equipment", "meter_readings")
"""How a customer's files are listed (then any other source, by name)."""

INCOMPLETE_CODE = "reject_lines_rejected"
"""The code of a customer rejected because some of its equipment lines were."""


def _params(value: Any) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, str) and value:
        parsed = json.loads(value)
        return parsed if isinstance(parsed, dict) else {}
    return {}


def _file_key(name: str) -> tuple[int, str]:
    return (FILE_ORDER.index(name) if name in FILE_ORDER else len(FILE_ORDER), name)


def customer_rejects(
    rejects: Iterable[Mapping[str, Any]],
    rows_of: Callable[[str], dict[str, list[int]]] | None = None,
) -> list[dict[str, Any]]:
    """One entry per rejected customer, in the order its first reject was reported.

    Parameters
    ----------
    rejects
        Rows of a reject report (:data:`features.validation.HISTORY_REJECT_COLUMNS`; a
        ``row_number`` of None is a reject of the answer, not of a row).
    rows_of
        The rows of a customer's lines in the source files, for a customer rejected after
        validation (an answer above the contract's limits: none of its rows was rejected
        by the files' checks); None names only the rejected rows.

    Returns
    -------
    list of dict
        ``customer_id``; ``rows``: file → sorted row numbers; ``lines``: how many rows in
        all; ``reasons``: each distinct reason once, with ``code``, ``params``, ``file``,
        ``rows``, ``column``, ``value`` and the English ``reason`` of the report.
    """
    entries: dict[str, dict[str, Any]] = {}
    reasons: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = {}
    for rej in rejects:
        cid = "" if rej.get("customer_id") is None else str(rej.get("customer_id"))
        entry = entries.setdefault(cid, {"customer_id": cid, "rows": {}})
        file = str(rej.get("file", ""))
        row = rej.get("row_number")
        params = _params(rej.get("params"))
        key = (
            file,
            rej.get("code"),
            json.dumps(params, sort_keys=True),
            rej.get("column"),
            rej.get("value"),
        )
        reason = reasons.setdefault(cid, {}).setdefault(
            key,
            {
                "code": rej.get("code"),
                "params": params,
                "file": file,
                "rows": [],
                "column": rej.get("column"),
                "value": rej.get("value"),
                "reason": rej.get("reason"),
            },
        )
        if row is not None:
            reason["rows"].append(int(row))
            entry["rows"].setdefault(file, set()).add(int(row))
        elif rows_of is not None:
            for where, numbers in rows_of(cid).items():
                entry["rows"].setdefault(where, set()).update(numbers)
    out = []
    for cid, entry in entries.items():
        rows = {f: sorted(entry["rows"][f]) for f in sorted(entry["rows"], key=_file_key)}
        listed = list(reasons[cid].values())
        for reason in listed:
            reason["rows"] = sorted(set(reason["rows"]))
        # The customer's own reasons first (its customers row, then its lines' own
        # problems), the "rejected with its customer" lines last: they only carry rows.
        listed.sort(key=lambda r: (str(r["code"]).startswith("reject_with_"), _file_key(r["file"])))
        out.append(
            {
                "customer_id": cid,
                "rows": rows,
                "lines": sum(len(v) for v in rows.values()),
                "reasons": listed,
            }
        )
    return out


def _spans(rows: list[int]) -> list[str]:
    """``[5, 6, 7, 9]`` → ``['5-7', '9']`` (consecutive rows as a range)."""
    out: list[str] = []
    start = prev = None
    for r in rows:
        if prev is not None and r == prev + 1:
            prev = r
            continue
        if start is not None:
            out.append(str(start) if start == prev else f"{start}-{prev}")
        start = prev = r
    if start is not None:
        out.append(str(start) if start == prev else f"{start}-{prev}")
    return out


def rows_text(rows: Mapping[str, list[int]]) -> str:
    """The rows of an entry for programs: ``customers 6; equipment 6-7, 9``."""
    return "; ".join(f"{f} {', '.join(_spans(list(r)))}" for f, r in rows.items() if r)


def rows_words(rows: Mapping[str, list[int]], lang: str) -> str:
    """The rows of an entry for people: ``客户表第 6 行；设备表第 6–7、9 行``."""
    parts = []
    for file, numbers in rows.items():
        if not numbers:
            continue
        names = FILE_NAMES.get(file, (file, file))
        spans = [s.replace("-", "–") for s in _spans(list(numbers))]
        if lang == "zh":
            parts.append(f"{names[0]}第 {'、'.join(spans)} 行")
        else:
            word = "row" if len(numbers) == 1 else "rows"
            parts.append(f"{names[1]} {word} {', '.join(spans)}")
    return ("；" if lang == "zh" else "; ").join(parts)


def reason_text(reason: Mapping[str, Any], lang: str) -> str:
    """One reason in ``lang``, prefixed by the rows it applies to (when they are rows)."""
    # The column named by the reject when its parameters do not (as the page does).
    params = {"column": reason.get("column"), **dict(reason["params"])}
    text = render_reject(str(reason["code"]), params, reason.get("value"), lang)
    rows = list(reason.get("rows") or [])
    if not rows:
        return text
    return f"{rows_words({str(reason['file']): rows}, lang)}{'：' if lang == 'zh' else ': '}{text}"


def reasons_text(entry: Mapping[str, Any], lang: str) -> str:
    """Every reason of an entry in ``lang``, one after another."""
    sep = "；" if lang == "zh" else "; "
    return sep.join(reason_text(r, lang) for r in entry["reasons"])


def reasons_json(entry: Mapping[str, Any]) -> str:
    """The reasons of an entry as compact JSON (the CSV answer's ``reject_reasons``)."""
    keep = ("code", "params", "file", "rows", "column", "value")
    return json.dumps(
        [{k: r.get(k) for k in keep} for r in entry["reasons"]],
        ensure_ascii=False,
        separators=(",", ":"),
    )


def csv_rows(entries: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rejected customers as rows of the CSV answer (one row per customer).

    ``status`` is ``rejected``; ``source_rows`` names every row of the files
    (:func:`rows_text`); ``reason`` is the reasons in English, ``reject_reasons`` their
    codes and parameters (what the page and ``/export/batch`` render in zh or en). A
    customer rejected because some of its lines were carries ``incomplete_list = true``.
    """
    return [
        {
            "customer_id": e["customer_id"],
            "status": "rejected",
            "incomplete_list": any(r["code"] == INCOMPLETE_CODE for r in e["reasons"]),
            "source_rows": rows_text(e["rows"]),
            "reason": reasons_text(e, "en"),
            "reject_reasons": reasons_json(e),
        }
        for e in entries
    ]


def parse_rows_text(text: str) -> dict[str, list[int]]:
    """The rows :func:`rows_text` wrote (``customers 6; equipment 6-7, 9``); {} if none."""
    out: dict[str, list[int]] = {}
    for part in text.split(";"):
        file, _, spans = part.strip().partition(" ")
        numbers: list[int] = []
        for span in spans.split(","):
            low, _, high = span.strip().partition("-")
            if not low.strip().isdigit() or (high and not high.strip().isdigit()):
                return {}
            numbers.extend(range(int(low), int(high or low) + 1))
        if file and numbers:
            out[file] = numbers
    return out


def localised_reject(source_rows: str, reject_reasons: str, lang: str) -> tuple[str, str] | None:
    """``(rows, reasons)`` of a rejected CSV row in ``lang``; None when not readable.

    The CSV may come from anywhere (``/export/batch`` converts a posted answer), so a
    cell that is not what :func:`csv_rows` wrote is left as it is.
    """
    try:
        listed = json.loads(reject_reasons)
        entry = {
            "reasons": [
                {**r, "params": dict(r.get("params") or {}), "rows": list(r.get("rows") or [])}
                for r in listed
            ]
        }
        return rows_words(parse_rows_text(source_rows), lang), reasons_text(entry, lang)
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
