"""The tier chart as SVG (no plotting library in the runtime): P(appropriate) per tier.

Sized for print: the viewBox is 680 units wide and the PDF shows it 170 mm wide, so one
unit is 0.25 mm and the 13-unit labels print at about 9 pt.
"""

from __future__ import annotations

from html import escape

from serving.sheet.document import SheetDocument, tier_tag, verdict_text
from serving.sheet.words import word

WIDTH = 680
HEIGHT = 300


def tier_chart_svg(doc: SheetDocument) -> str:
    """The SVG of the tier chart; the proposed capacity is outlined and annotated."""
    tiers = doc.tiers
    left, right, top, bottom = 56, 12, 56, 52
    plot_w = WIDTH - left - right
    plot_h = HEIGHT - top - bottom
    n = max(len(tiers), 1)
    slot = plot_w / n
    bar_w = slot * 0.62
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="100%" font-family="WenQuanYi Micro Hei, sans-serif" font-size="13">',
        f'<text x="{left}" y="18" font-size="15" font-weight="bold">'
        f"{escape(word(doc.lang, 'chart_title'))}</text>",
    ]
    for frac in (0.0, 0.25, 0.5, 0.75, 1.0):
        y = top + plot_h * (1 - frac)
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{WIDTH - right}" y2="{y:.1f}" '
            'stroke="#ccc" stroke-width="1"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{frac:.0%}</text>'
        )
    for i, t in enumerate(tiers):
        x = left + i * slot + (slot - bar_w) / 2
        h = plot_h * t.p_appropriate
        y = top + plot_h - h
        fill = "#1f6feb" if t.recommended else "#9db7d5"
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{fill}"/>'
        )
        if t.proposed:
            parts.append(
                f'<rect x="{x - 3:.1f}" y="{top - 2}" width="{bar_w + 6:.1f}" '
                f'height="{plot_h + 4}" fill="none" stroke="#d1242f" stroke-width="3" '
                'stroke-dasharray="8 4"/>'
            )
        parts.append(
            f'<text x="{x + bar_w / 2:.1f}" y="{y - 5:.1f}" text-anchor="middle">'
            f"{t.p_appropriate:.0%}</text>"
            f'<text x="{x + bar_w / 2:.1f}" y="{top + plot_h + 18}" text-anchor="middle">'
            f"{t.capacity_kva:g}</text>"
        )
        tag = escape(tier_tag(doc, t.recommended, t.proposed))
        if tag:
            color = "#d1242f" if t.proposed else "#1f6feb"
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{top + plot_h + 34}" text-anchor="middle" '
                f'fill="{color}" font-weight="bold">{tag}</text>'
            )
    parts.append(
        f'<text x="{WIDTH - right}" y="{HEIGHT - 4}" text-anchor="end">'
        f"{escape(word(doc.lang, 'chart_axis'))}</text>"
    )
    check = doc.check
    if check is not None:
        note = word(
            doc.lang,
            "chart_note_more" if check.yearly_difference_yuan >= 0 else "chart_note_less",
            kva=check.proposed_kva,
            verdict=verdict_text(doc.lang, check.verdict),
            rec=check.recommended_kva,
            yuan=abs(check.yearly_difference_yuan),
        )
        parts.append(f'<text x="{left}" y="38" fill="#d1242f">{escape(note)}</text>')
    parts.append("</svg>")
    return "".join(parts)
