"""What people do in the browser, step by step.

Buttons, links and labels are found by their visible text (German, the default
language; the words are the glossary's), ids only where the text is ambiguous.
A failing step adds a note naming the step to the error.
"""
from __future__ import annotations

import os
import re
from contextlib import contextmanager
from pathlib import Path

import pytest

try:
    from playwright.sync_api import Locator, Page, expect
except ImportError:  # a developer machine without the test requirements: the journeys are skipped
    if os.environ.get("CI"):
        raise
    pytest.skip("Playwright is not installed: .venv/bin/python -m pip install -r requirements-test.txt",
                allow_module_level=True)

RMA_NUMBER = re.compile(r"^RMA-\d{4}-\d{6}$")


def url(path_regex: str) -> re.Pattern:
    """A URL pattern for ``expect(page).to_have_url`` (matched against the path and query)."""
    return re.compile(r"^https?://[^/]+" + path_regex + "$")


@contextmanager
def step(description: str):
    """Name the journey step that failed in the error (``exc.__notes__``)."""
    try:
        yield
    except Exception as exc:
        exc.add_note(f"journey step failed: {description}")
        raise


# -- login, password, menus ----------------------------------------------------

def submit(page: Page, button: Locator) -> None:
    """Click a button that sends a form and wait for the page the server answers with
    (so that a following ``page.goto`` cannot cut the request off)."""
    with page.expect_navigation():
        button.click()


def log_in(page: Page, email: str, password: str) -> None:
    """Fill in and send the login page (German: nobody is logged in yet)."""
    with step(f"log in as {email}"):
        page.goto("/login/")
        page.get_by_label("E-Mail", exact=True).fill(email)
        page.get_by_label("Passwort", exact=True).fill(password)
        submit(page, page.get_by_role("button", name="Anmelden"))


def choose_own_password(page: Page, current: str, new: str) -> None:
    """At the first login with generated access data: My data → Password comes first."""
    with step("first login leads to 'Meine Daten → Passwort'"):
        expect(page).to_have_url(url(r"/cc/my-data/\?tab=password"))
        expect(page.locator("#my-data-tabs li.active")).to_have_text("Passwort")
    with step("set an own password"):
        page.get_by_label("Aktuelles Passwort").fill(current)
        page.get_by_label("Neues Passwort").fill(new)
        page.get_by_label("Passwort wiederholen").fill(new)
        submit(page, page.get_by_role("button", name="Speichern"))
        expect(page.locator(".alert-success")).to_be_visible()
        expect(page.locator(".field-error")).to_have_count(0)


def whole(label: str) -> re.Pattern:
    """An accessible name that is ``label`` after an icon: names start with the icon's
    glyph (Font Awesome), e.g. "+ Neu", so ``exact=True`` does not fit."""
    return re.compile(r"^\W*" + re.escape(label) + r"\s*$")


def menu(page: Page, label: str) -> Locator:
    """A link of the top navigation bar (menu entries and the user menu), by its whole text."""
    return page.locator(".navbar").get_by_role("link", name=whole(label))


def open_my_data(page: Page, label: str = "Meine Daten") -> None:
    page.locator("#user-menu").click()
    menu(page, label).click()


def log_out(page: Page) -> None:
    with step("log out"):
        page.locator("#user-menu").click()
        menu(page, "Abmelden").click()
        expect(page).to_have_url(url(r"/login/.*"))


def download(page: Page, link: Locator) -> tuple[str, bytes]:
    """Click a download link: the file's suggested name and its content."""
    with page.expect_download() as info:
        link.click()
    file = info.value
    assert file.failure() is None, file.failure()
    return file.suggested_filename, Path(file.path()).read_bytes()


# -- a new order -----------------------------------------------------------------

def _file_payload(files):
    return [{"name": name, "mimeType": mime, "buffer": content} for name, content, mime in files]


def _chosen_files(file_input: Locator) -> int:
    return file_input.evaluate("input => input.files.length")


def _fill_article(fieldset: Locator, article: dict) -> None:
    fieldset.get_by_label("Artikelnummer").fill(article["article_number"])
    fieldset.get_by_label("Bezeichnung").fill(article["description"])
    fieldset.get_by_label("Seriennummer").fill(article["serial_number"])
    fieldset.get_by_label("Menge").fill(str(article["quantity"]))
    fieldset.get_by_label("Fehlerbeschreibung").fill(article["fault_description"])
    if article.get("files"):
        fieldset.get_by_label("Dateien").set_input_files(_file_payload(article["files"]))


def create_order(page: Page, reference: str, articles: list[dict], order_files=()) -> str:
    """'Neuer Auftrag': reference, articles (each one after the first added with
    'Artikel hinzufügen'), files per article and for the whole order; Speichern.

    ``articles``: dicts with article_number, description, serial_number, quantity,
    fault_description and optional files [(name, bytes, mime type)].
    Returns the RMA number shown on the order page.
    """
    fieldsets = page.locator("#articles fieldset.article")
    with step("open 'Neuer Auftrag' from the menu"):
        menu(page, "Neuer Auftrag").click()
        expect(page).to_have_url(url(r"/cc/orders/new"))
        expect(fieldsets).to_have_count(1)
    with step("fill in the reference number"):
        page.get_by_label("Referenznummer").fill(reference)
    for n, article in enumerate(articles):
        if n:
            with step(f"'Artikel hinzufügen' adds article {n + 1} in the page"):
                page.get_by_role("button", name="Artikel hinzufügen").click()
                expect(fieldsets).to_have_count(n + 1)
                # nothing typed or chosen so far is lost (no round trip to the server)
                for earlier, data in enumerate(articles[:n]):
                    assert _chosen_files(fieldsets.nth(earlier).get_by_label("Dateien")) == len(
                        data.get("files", ())
                    ), f"the files chosen for article {earlier + 1} are gone"
                    expect(fieldsets.nth(earlier).get_by_label("Bezeichnung")).to_have_value(data["description"])
                expect(fieldsets.nth(n).locator(".article-number")).to_have_text(str(n + 1))
                expect(fieldsets.nth(n).get_by_label("Artikelnummer")).to_be_focused()
        with step(f"fill in article {n + 1}"):
            _fill_article(fieldsets.nth(n), article)
    with step("an article added by mistake goes again with 'Artikel entfernen'"):
        page.get_by_role("button", name="Artikel hinzufügen").click()
        expect(fieldsets).to_have_count(len(articles) + 1)
        fieldsets.last.get_by_role("button", name="Artikel entfernen").click()
        expect(fieldsets).to_have_count(len(articles))
    if order_files:
        with step("choose the files for the whole order"):
            page.locator("#files").set_input_files(_file_payload(order_files))
    with step("save the order"):
        submit(page, page.get_by_role("button", name="Speichern"))
        expect(page).to_have_url(url(r"/cc/orders/\d+"))
        expect(page.locator("#rma-number")).to_have_text(RMA_NUMBER)
    rma = page.locator("#rma-number").inner_text().strip()
    with step("the saved message names the RMA number"):
        expect(page.locator(".alert-success")).to_contain_text(rma)
    return rma
