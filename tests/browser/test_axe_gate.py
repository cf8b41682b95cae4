"""The accessibility gate itself can fail: a page with a known violation is refused."""

from __future__ import annotations

import pytest

from tests.browser.conftest import assert_accessible

pytestmark = pytest.mark.browser


def test_a_page_with_an_unlabelled_image_and_input_fails_the_check(page):
    page.set_content(
        '<!doctype html><html lang="en"><head><title>x</title></head>'
        '<body><main><img src="x.png"><input type="text"></main></body></html>'
    )
    with pytest.raises(AssertionError, match="image-alt"):
        assert_accessible(page)


def test_a_clean_page_passes(page):
    page.set_content(
        '<!doctype html><html lang="en"><head><title>x</title></head>'
        '<body><main><h1>Fine</h1><label for="a">Name</label><input id="a"></main></body></html>'
    )
    assert_accessible(page)
