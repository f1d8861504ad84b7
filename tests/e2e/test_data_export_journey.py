"""The data export ("Meine Daten → Datenauskunft") in a real browser.

An employee asks for their data, waits until the tab lists it as ready and downloads a ZIP that holds
their personal data and their own orders, never a colleague's. A company admin asks for the company's
data (the company and its employees); an employee of another company, and a colleague who is not an
admin, get "not found" at that download's address. The tab with a ready export passes axe-core and
fits a phone's 375 px, in German and English.

The e2e server leaves ``MAIL_DELIVERY`` at its default (``request``): the ZIP is built in the server
right after the response to "Request my data" has gone out, so the page may show "Being prepared"
first; the journey reloads the tab until the row says it is ready.
"""
from __future__ import annotations

import csv
import io
import json
import re
import sys
import threading
import time
import traceback
import zipfile

import pytest

from app.security import roles
from tests import factories
from tests.e2e.a11y import check_page
from tests.e2e.journeys import download, expect, open_my_data, step, submit, url

pytestmark = pytest.mark.e2e

LANGUAGES = {"de": "de-DE", "en": "en-GB"}
# the glossary's words, as the page shows them
WORDS = {
    "de": dict(my_data="Meine Daten", tab="Datenauskunft", request="Meine Daten anfordern",
               request_company="Daten der Firma anfordern", requested="Ihre Datenauskunft wird vorbereitet.",
               ready="Bereit bis", failed="Fehlgeschlagen", download="ZIP herunterladen", company="Firma",
               not_found="Nicht gefunden"),
    "en": dict(my_data="My data", tab="Data export", request="Request my data",
               request_company="Request the company's data", requested="Your data export is being prepared.",
               ready="Ready until", failed="Failed", download="Download ZIP", company="Company",
               not_found="Not found"),
}
READY_WITHIN_S = 20


def log_in(page, email: str) -> None:
    """The login page in the browser's language (fields by id)."""
    with step(f"log in as {email}"):
        page.goto("/login/")
        page.locator("#username").fill(email)
        page.locator("#password").fill(factories.PASSWORD)
        submit(page, page.locator("form[name=login] button[type=submit]"))
        expect(page).not_to_have_url(url(r"/login/.*"))


def open_export_tab(page, words: dict) -> None:
    with step(f"open '{words['my_data']} → {words['tab']}'"):
        open_my_data(page, words["my_data"])
        page.locator("#my-data-tabs").get_by_role("link", name=words["tab"], exact=True).click()
        expect(page).to_have_url(url(r"/cc/my-data/\?tab=export"))
        expect(page.locator("#my-data-tabs li.active")).to_have_text(words["tab"])


def request_export(page, words: dict, button: str) -> None:
    with step(f"press '{button}'"):
        submit(page, page.get_by_role("button", name=button, exact=True))
        expect(page).to_have_url(url(r"/cc/my-data/\?tab=export"))
        expect(page.locator(".alert-success")).to_contain_text(words["requested"])


def server_threads() -> str:
    """What the live server's threads (in this process) are doing: where a build that never ends waits."""
    frames = sys._current_frames()
    return "\n".join(
        f"-- thread {thread.name}:\n" + "".join(traceback.format_stack(frames[thread.ident]))
        for thread in threading.enumerate() if thread is not threading.current_thread() and thread.ident in frames)


def reload_until_ready(page, row, words: dict) -> None:
    """Reload the tab until ``row`` says the export is ready (it is built after the response)."""
    state = row.locator(".export-state")
    deadline = time.monotonic() + READY_WITHIN_S
    while True:
        expect(state).to_be_visible()
        shown = state.inner_text()
        if words["ready"] in shown:
            return
        assert words["failed"] not in shown, f"building the export failed: {shown!r}"
        assert time.monotonic() < deadline, (
            f"the export is not ready after {READY_WITHIN_S} s: {shown!r}\n{server_threads()}")
        page.wait_for_timeout(150)  # a polling interval, not a wait for the build
        page.reload()


def ready_download_link(page, words: dict, kind: str):
    """The one listed export of ``kind`` ("my_data" or "company"), once it is ready: its download link."""
    row = page.locator("tr.export-row")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(words[kind])
    reload_until_ready(page, row, words)
    link = row.get_by_role("link", name=re.compile("^" + re.escape(words["download"])))
    expect(link).to_be_visible()
    return link


def read_zip(content: bytes) -> zipfile.ZipFile:
    assert content[:2] == b"PK", "the download is not a ZIP file"
    return zipfile.ZipFile(io.BytesIO(content))


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_employee_downloads_their_own_data_and_orders(language, live_server, open_page):
    words = WORDS[language]
    with live_server.app.app_context():
        company = factories.make_company("Alpha Antriebe GmbH")
        employee = factories.make_user(company, roles.CUSTOMER, email="jan.nowak@alpha.example",
                                       first_name="Jan", last_name="Nowak", language=language)
        colleague = factories.make_user(company, roles.COMPANY_ADMIN, email="marta.kowalski@alpha.example",
                                        first_name="Marta", last_name="Kowalski", language=language)
        own = [factories.make_order(company, employee, reference=f"PO-OWN-{n}").rma_number for n in (1, 2)]
        theirs = factories.make_order(company, colleague, reference="PO-COLLEAGUE").rma_number

    page = open_page("employee", locale=LANGUAGES[language])
    log_in(page, "jan.nowak@alpha.example")
    open_export_tab(page, words)
    with step("an employee is offered their own data only, not the company's"):
        expect(page.get_by_role("button", name=words["request"], exact=True)).to_be_visible()
        expect(page.get_by_role("button", name=words["request_company"])).to_have_count(0)
        expect(page.locator("tr.export-row")).to_have_count(0)

    request_export(page, words, words["request"])
    with step("the tab lists the request, and once built it is ready with a download link"):
        link = ready_download_link(page, words, "my_data")

    with step("the download is a ZIP with the employee's personal data and own orders only"):
        name, content = download(page, link)
        assert re.fullmatch(r"data-export-user-\d{4}-\d{2}-\d{2}\.zip", name), name
        archive = read_zip(content)
        assert {"README.txt", "personal_data.json", "orders.json", "articles.csv"} <= set(archive.namelist())
        assert "employees.csv" not in archive.namelist() and "company.json" not in archive.namelist()
        personal = json.loads(archive.read("personal_data.json"))
        assert personal["user"]["email"] == "jan.nowak@alpha.example"
        assert (personal["user"]["first_name"], personal["user"]["last_name"]) == ("Jan", "Nowak")
        assert personal["user"]["language"] == language
        orders = json.loads(archive.read("orders.json"))
        assert sorted(o["rma_number"] for o in orders) == sorted(own)
        assert {o["created_by"] for o in orders} == {"jan.nowak@alpha.example"}
        for entry in ("orders.json", "articles.csv", "personal_data.json"):
            text = archive.read(entry).decode("utf-8-sig")
            assert theirs not in text and "PO-COLLEAGUE" not in text, f"the colleague's order is in {entry}"
            assert "marta.kowalski" not in text, f"the colleague is named in {entry}"

    with step("the tab with a ready export: no critical or serious axe finding, fits 375 px"):
        problems = check_page(page, f"/cc/my-data/?tab=export ({language})")
        assert not problems, "\n".join(problems)
        assert page.evaluate("document.documentElement.lang") == language


def test_a_company_admins_export_is_theirs_alone(live_server, open_page):
    words = WORDS["de"]
    with live_server.app.app_context():
        alpha = factories.make_company("Alpha Antriebe GmbH")
        factories.make_user(alpha, roles.COMPANY_ADMIN, email="einkauf@alpha.example",
                            first_name="Eva", last_name="Einkauf")
        factories.make_user(alpha, roles.CUSTOMER, email="jan.nowak@alpha.example", first_name="Jan",
                            last_name="Nowak")
        factories.make_user(alpha, roles.CUSTOMER, email="lea.lager@alpha.example", first_name="Lea",
                            last_name="Lager")
        beta = factories.make_company("Beta Instruments Ltd")
        factories.make_user(beta, roles.COMPANY_ADMIN, email="service@beta.example")
        factories.make_user(beta, roles.CUSTOMER, email="nosy@beta.example")

    admin = open_page("alpha-admin")
    log_in(admin, "einkauf@alpha.example")
    open_export_tab(admin, words)
    request_export(admin, words, words["request_company"])
    with step("the company's export is listed and gets ready"):
        link = ready_download_link(admin, words, "company")
        address = link.get_attribute("href")
        assert re.fullmatch(r"/cc/my-data/exports/\d+", address), address

    with step("the ZIP has company.json and employees.csv listing the colleagues"):
        name, content = download(admin, link)
        assert re.fullmatch(r"data-export-company-\d{4}-\d{2}-\d{2}\.zip", name), name
        archive = read_zip(content)
        assert {"company.json", "employees.csv", "devices.csv", "orders.json"} <= set(archive.namelist())
        company = json.loads(archive.read("company.json"))
        assert company["company"]["name"] == "Alpha Antriebe GmbH"
        assert company["requested_by"] == "einkauf@alpha.example"
        employees = list(csv.DictReader(io.StringIO(archive.read("employees.csv").decode("utf-8-sig")),
                                        delimiter=";"))
        assert sorted(e["email"] for e in employees) == [
            "einkauf@alpha.example", "jan.nowak@alpha.example", "lea.lager@alpha.example"]
        assert {(e["first_name"], e["last_name"]) for e in employees} >= {("Jan", "Nowak"), ("Lea", "Lager")}
        assert "beta.example" not in archive.read("employees.csv").decode("utf-8-sig")

    with step("the tab of a company admin with a ready export: no critical or serious axe finding, fits 375 px"):
        problems = check_page(admin, "/cc/my-data/?tab=export (company admin)")
        assert not problems, "\n".join(problems)

    for who, email in (("beta-employee", "nosy@beta.example"), ("beta-admin", "service@beta.example"),
                       ("alpha-employee", "jan.nowak@alpha.example")):
        page = open_page(who)
        log_in(page, email)
        with step(f"{email} opening the company's download address gets 'not found', no file"):
            response = page.goto(address)
            assert response.status == 404, (address, response.status)
            assert not response.body().startswith(b"PK")
            expect(page.locator("#error-page")).to_contain_text(words["not_found"])
            if email.endswith("@beta.example"):
                assert "Alpha Antriebe" not in page.content()
        with step(f"{email} has no export listed on their own tab"):
            page.goto("/cc/my-data/?tab=export")
            expect(page.locator("#data-export")).to_be_visible()
            expect(page.locator("tr.export-row")).to_have_count(0)
