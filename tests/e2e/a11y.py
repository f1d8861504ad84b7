"""Accessibility and phone checks of a page in the browser: axe-core and the page width.

axe-core is the npm package pinned in tests/e2e/package.json (``npm ci`` in tests/e2e,
which ``make test`` runs); it is evaluated in the page through Playwright, so the page's
Content-Security-Policy stays on.
"""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import pytest

AXE_JS = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.1 level A and AA
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ("critical", "serious")
PHONE = {"width": 375, "height": 740}
DESKTOP = {"width": 1280, "height": 900}


@lru_cache(maxsize=1)
def axe_source() -> str:
    if not AXE_JS.is_file():
        message = f"axe-core is missing at {AXE_JS}: run `npm ci` in tests/e2e (make test does)"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return AXE_JS.read_text(encoding="utf-8")


def axe_violations(page, name: str) -> list[str]:
    """The critical and serious WCAG 2.1 A/AA violations on the page, one line each:
    ``<name>: <rule> (<impact>) at <target>: <help> – <axe's finding>``."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source() + "\n;undefined")
    result = page.evaluate(
        """tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})
                      .then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                                          nodes: v.nodes.map(n => ({target: n.target.join(' '),
                                                                                  why: [...n.any, ...n.all, ...n.none]
                                                                                       .map(c => c.message).join('; ')}))})))""",
        WCAG_TAGS,
    )
    return [
        f"{name}: {v['id']} ({v['impact']}) at {node['target']}: {v['help']} – {node['why'][:200]}"
        for v in result if v["impact"] in BLOCKING for node in v["nodes"]
    ]


# every page: one main landmark, an h1, named table columns (axe counts these as best practice)
STRUCTURE_RULES = ["landmark-one-main", "page-has-heading-one", "empty-table-header"]


def structure_problems(page, name: str) -> list[str]:
    """Whatever impact axe gives them: a page without main landmark, without h1, or with an empty
    column header (e.g. over icon-only buttons)."""
    result = page.evaluate(
        """rules => axe.run(document, {runOnly: {type: 'rule', values: rules}, resultTypes: ['violations']})
                       .then(r => r.violations.map(v => ({id: v.id, help: v.help,
                                                           targets: v.nodes.map(n => n.target.join(' '))})))""",
        STRUCTURE_RULES,
    )
    return [f"{name}: {v['id']} at {target}: {v['help']}" for v in result for target in v["targets"]]


def too_wide(page, name: str) -> list[str]:
    """At the page's current viewport: a line when the document is wider than the screen,
    naming the widest elements that stick out."""
    found = page.evaluate(
        """() => {
            const view = document.documentElement.clientWidth;
            const width = Math.max(document.documentElement.scrollWidth, document.body.scrollWidth);
            if (width <= view) return null;
            const out = [];
            const sticksOut = el => el.getBoundingClientRect().right > view + 1;
            // inside a box that scrolls or clips it; an absolutely positioned element escapes
            // every box below its containing block (a visually hidden label can widen the page)
            const clipped = el => {
                const position = getComputedStyle(el).position;
                if (position === 'fixed') return false;
                let free = position === 'absolute';
                for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
                    const style = getComputedStyle(p);
                    if (!free && style.overflowX !== 'visible') return true;
                    if (free && style.position !== 'static') free = false;
                    if (!free && style.overflowX !== 'visible') return true;
                }
                return false;
            };
            for (const el of document.body.querySelectorAll('*')) {
                // the outermost elements that stick out (their parent fits), not scrolled in a box
                if (sticksOut(el) && el.getBoundingClientRect().width > 0
                        && (el.parentElement === document.body || !sticksOut(el.parentElement)) && !clipped(el)) {
                    out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
                             + (typeof el.className === 'string' && el.className.trim()
                                ? '.' + el.className.trim().split(/\s+/).join('.') : '')
                             + ' ' + Math.round(el.getBoundingClientRect().right) + 'px');
                }
            }
            return {view, width, out: out.slice(0, 5)};
        }"""
    )
    if not found:
        return []
    return [f"{name}: {found['width']} px wide at a {found['view']} px screen ({', '.join(found['out'])})"]


def check_page(page, name: str) -> list[str]:
    """axe at desktop width, then the width at a phone's 375 px; the problems found."""
    problems = axe_violations(page, name) + structure_problems(page, name)
    page.set_viewport_size(PHONE)
    try:
        problems += too_wide(page, f"{name} at {PHONE['width']} px")
    finally:
        page.set_viewport_size(DESKTOP)
    return problems
