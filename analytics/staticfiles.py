"""Serve plotly.js from the installed ``plotly`` package instead of a copy in the repository.

The CSP allows scripts from this origin only (no CDN), and the bundle is ~4.8 MB: rather
than commit it, this finder exposes the one file the package ships as
``static/js/vendor/plotly.min.js``. ``collectstatic`` and WhiteNoise see it like any other
static file, so it is versioned with the pinned ``plotly`` package.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import plotly
from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

PLOTLY_DIR = Path(plotly.__file__).parent / "package_data"
PREFIX = "js/vendor"
FILENAME = "plotly.min.js"
STATIC_PATH = f"{PREFIX}/{FILENAME}"


class PlotlyFinder(BaseFinder):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.storage = FileSystemStorage(location=PLOTLY_DIR)
        self.storage.prefix = PREFIX

    def check(self, **kwargs):
        from django.core.checks import Error

        if not (PLOTLY_DIR / FILENAME).exists():
            return [Error(f"{PLOTLY_DIR / FILENAME} is missing: reinstall plotly.")]
        return []

    def find(self, path, find_all=False, **kwargs):
        if path != STATIC_PATH:
            # Django's finders answer "not here" with [] either way: a None would be joined
            # into the list of matches and WhiteNoise would stat() the list (a 500, not a 404).
            return []
        found = str(PLOTLY_DIR / FILENAME)
        return [found] if find_all else found

    def list(self, ignore_patterns):
        yield FILENAME, self.storage


# plotly.js injects its stylesheet (66 rules: layered SVGs, modebar, notifier) as a <style>
# element, which the CSP refuses. It skips that when an element with this id and class
# exists, so the pages link the same rules, read out of the installed bundle, instead.
STYLE_ELEMENT_ID = "plotly.js-style-global"
_RULES_START = '"X,X div":'
_RULE = re.compile(
    r"""("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[A-Za-z_$][\w$]*):"""
    r"""("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')"""
)


@functools.cache
def plotly_stylesheet() -> str:
    bundle = (PLOTLY_DIR / FILENAME).read_text(encoding="utf-8")
    first = bundle.index(_RULES_START)
    rules = bundle[bundle.rindex("{", 0, first) + 1 : bundle.index("};for(", first)]
    lines = [f"/* plotly.js stylesheet, read from the plotly {plotly.__version__} package */"]
    for key, value in _RULE.findall(rules):
        selector = key.strip("\"'")
        selector = re.sub(r"^,", " ,", selector)
        selector = selector.replace("X", ".js-plotly-plot .plotly").replace("Y", ".plotly-notifier")
        lines.append(f"{selector}{{{value[1:-1]}}}")
    return "\n".join(lines) + "\n"
