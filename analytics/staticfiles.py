"""The plotly.js bundle the charts use, and the stylesheet plotly.js would inject.

The charts are scatter, bar and heatmap traces only, so the pages load a plotly.js bundle
of those three (``static/js/vendor/plotly-scatter-bar-heatmap.min.js``, 1.2 MB, MIT
licence beside it), neither the 4.8 MB full bundle the ``plotly`` package ships nor
plotly's 1.5 MB *cartesian* partial bundle, which takes chromium three to four times as
long to run (590-740 ms against 160-180 ms, each alone on a blank page) for the box,
violin, histogram, contour, pie, image and calendar code no chart uses. It is built from
plotly.js's npm package, as ``static/js/vendor/README.md`` says, and is the same
plotly.js version as the pinned ``plotly`` package's (v4.1.1): ``plotly_bundle_check``
fails the system checks if the two drift apart, since the figures are built with the
package. A new trace type in a figure means rebuilding the bundle with it (the browser
tests draw every chart page).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import plotly
from django.conf import settings
from django.core import checks

BUNDLE_PATH = "js/vendor/plotly-scatter-bar-heatmap.min.js"
PACKAGE_BUNDLE = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
_VERSION = re.compile(r"plotly\.js(?: \([a-z -]+\))? v(\d+\.\d+\.\d+)")


def _bundle_file() -> Path:
    return Path(settings.BASE_DIR) / "static" / BUNDLE_PATH


def _version_of(path: Path) -> str | None:
    with path.open(encoding="utf-8") as file:
        match = _VERSION.search(file.read(300))
    return match.group(1) if match else None


@checks.register(checks.Tags.staticfiles)
def plotly_bundle_check(**kwargs):
    ours = _version_of(_bundle_file()) if _bundle_file().exists() else None
    theirs = _version_of(PACKAGE_BUNDLE) if PACKAGE_BUNDLE.exists() else None
    if ours is None:
        return [checks.Error(f"{_bundle_file()} is missing or has no plotly.js version")]
    if theirs and ours != theirs:
        return [
            checks.Error(
                f"static/{BUNDLE_PATH} is plotly.js v{ours}, the plotly package v{theirs}: "
                "update the partial bundle to the package's version"
            )
        ]
    return []


# plotly.js injects its stylesheet (66 rules: layered SVGs, modebar, notifier) as a <style>
# element, which the CSP refuses. It skips that when an element with this id and class
# exists, so the pages link the same rules, read out of the bundle, instead.
STYLE_ELEMENT_ID = "plotly.js-style-global"
_RULES_START = '"X,X div":'
_RULE = re.compile(
    r"""("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[A-Za-z_$][\w$]*):"""
    r"""("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')"""
)


@functools.cache
def plotly_stylesheet() -> str:
    bundle = _bundle_file().read_text(encoding="utf-8")
    first = bundle.index(_RULES_START)
    rules = bundle[bundle.rindex("{", 0, first) + 1 : bundle.index("};for(", first)]
    lines = [f"/* plotly.js stylesheet, read from {BUNDLE_PATH} */"]
    for key, value in _RULE.findall(rules):
        selector = key.strip("\"'")
        selector = re.sub(r"^,", " ,", selector)
        selector = selector.replace("X", ".js-plotly-plot .plotly").replace("Y", ".plotly-notifier")
        lines.append(f"{selector}{{{value[1:-1]}}}")
    return "\n".join(lines) + "\n"
