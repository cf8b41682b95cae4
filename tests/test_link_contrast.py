"""Links meet WCAG AA contrast on the page background and on white cards.

The browser journey's axe-core check found Bootstrap's default link blue at
4.4:1 on the off-white page background (an empty dashboard's "Add a patient"
link). The effective colours are read the way the browser resolves them:
app.css overrides Bootstrap's custom properties, else Bootstrap's own apply.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[1] / "static"
APP_CSS = (STATIC / "css" / "app.css").read_text()
BOOTSTRAP_CSS = (STATIC / "vendor" / "bootstrap" / "css" / "bootstrap.min.css").read_text()
AA_NORMAL_TEXT = 4.5


def _rgb_property(name: str) -> tuple[int, int, int]:
    """The value of `--name` (an "r, g, b" triple): app.css's if it sets one, else Bootstrap's light theme."""
    pattern = re.compile(rf"--{re.escape(name)}:\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)")
    found = pattern.search(APP_CSS) or pattern.search(BOOTSTRAP_CSS)  # Bootstrap lists the light theme first
    assert found, f"--{name} is defined nowhere"
    return tuple(int(v) for v in found.groups())  # type: ignore[return-value]


def _hex(value: str) -> tuple[int, int, int]:
    value = value.lstrip("#")
    return tuple(int(value[i : i + 2], 16) for i in (0, 2, 4))  # type: ignore[return-value]


def _page_background() -> tuple[int, int, int]:
    found = re.search(r"body\s*\{[^}]*background:\s*(#[0-9a-fA-F]{6})", APP_CSS)
    assert found, "app.css sets no page background"
    return _hex(found.group(1))


def _luminance(rgb: tuple[int, int, int]) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    """WCAG 2 contrast ratio of two sRGB colours."""
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_contrast_formula_matches_wcag_reference_values():
    assert contrast((0, 0, 0), (255, 255, 255)) == pytest.approx(21.0)
    assert contrast((13, 110, 253), (255, 255, 255)) == pytest.approx(4.50, abs=0.01)  # Bootstrap's blue


@pytest.mark.parametrize("prop", ["bs-link-color-rgb", "bs-link-hover-color-rgb"])
@pytest.mark.parametrize("background", ["page", "white card"])
def test_links_meet_aa_contrast(prop, background):
    behind = _page_background() if background == "page" else (255, 255, 255)
    ratio = contrast(_rgb_property(prop), behind)
    assert ratio >= AA_NORMAL_TEXT, f"--{prop} on the {background} background: {ratio:.2f}:1"
