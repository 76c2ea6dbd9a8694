"""axe-core in the page tests: `check(page)` runs axe on what a Playwright page shows and fails
the test on any violation of impact "serious" or "critical", naming each rule, why it matters
and the elements at fault.

axe-core comes from the npm registry (`package.json`, `make install`); it is never vendored. A
missing `node_modules/axe-core` fails the test (it is not skipped), saying to run `make install`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

AXE_JS = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
FAILING_IMPACTS = ("serious", "critical")


def axe_source() -> Path:
    """Where axe.min.js is, failing the test when `make install` has not fetched it."""
    if not AXE_JS.is_file():
        pytest.fail(
            f"{AXE_JS} is missing: run `make install` (npm installs axe-core from package.json)",
            pytrace=False,
        )
    return AXE_JS


def run_axe(page: Any) -> list[dict]:
    """All of axe's violations on the page as it is now (each a dict as axe reports it)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(path=str(axe_source()))
    results = page.evaluate(
        "() => axe.run(document, {resultTypes: ['violations']})"
        ".then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " helpUrl: v.helpUrl, nodes: v.nodes.map(n => ({target: n.target.join(' '),"
        " html: n.html, summary: n.failureSummary}))})))"
    )
    return list(results)


def describe(violations: list[dict], where: str) -> str:
    """The violations, readable: rule, impact, what it asks, then each element at fault."""
    lines = [f"axe found {len(violations)} serious or critical violation(s) on {where}:"]
    for v in violations:
        lines.append(f"- [{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"][:8]:
            lines.append(f"    at {node['target']}: {node['html'][:160]}")
            for reason in (node["summary"] or "").splitlines()[1:3]:
                lines.append(f"      {reason.strip()}")
        if len(v["nodes"]) > 8:
            lines.append(f"    ... and {len(v['nodes']) - 8} more")
    return "\n".join(lines)


def check(page: Any, where: str | None = None) -> list[dict]:
    """Assert that axe finds no serious or critical violation on the page; return the lesser
    ones (moderate, minor) for a caller that wants to look at them."""
    violations = run_axe(page)
    bad = [v for v in violations if v["impact"] in FAILING_IMPACTS]
    assert not bad, describe(bad, where or page.url)
    return [v for v in violations if v["impact"] not in FAILING_IMPACTS]
