"""The pages we serve make no outside requests (offline rule: no CDN, no trackers)."""

from __future__ import annotations

import re

from serving.web.app import STATIC, swagger_page

# A URL the browser would fetch by itself: src=/href= (outside plain <a> links), CSS
# url(), or an ES module import from another host.
ANCHOR = re.compile(r"<a\s[^>]*>", re.I)
FETCHED = re.compile(
    r"""(?:src|href)\s*=\s*["']\s*(?:https?:)?//|url\(\s*["']?\s*(?:https?:)?//|"""
    r"""(?:import|from)\s*\(?\s*["'](?:https?:)?//""",
    re.I,
)


def _fetched_urls(text: str) -> list[str]:
    return FETCHED.findall(ANCHOR.sub("", text))


def test_swagger_page_has_no_tracker_or_cdn() -> None:
    html = swagger_page()
    assert "googletagmanager" not in html
    assert "swagger-initializer.js" in html  # the bundled assets are still used
    assert _fetched_urls(html) == []


def test_the_check_itself_catches_an_outside_request() -> None:
    assert _fetched_urls('<script src="https://cdn.example.com/x.js"></script>')
    assert _fetched_urls("body { background: url(//cdn.example.com/a.png) }")
    assert not _fetched_urls('<a href="https://github.com/bentoml/BentoML">x</a>')


def test_static_assets_make_no_outside_requests() -> None:
    files = [p for p in STATIC.rglob("*") if p.suffix in {".html", ".js", ".css"}]
    assert any(p.name == "index.html" for p in files)
    for path in files:
        assert _fetched_urls(path.read_text(encoding="utf-8")) == [], path
