"""The trace viewer in a real browser: Debian's Chromium, driven by Playwright, against
the sample federation served by real uvicorn servers on loopback.

The page is the gateway's own (``/``, built from web/ by .ci/setup); it signs the
trace request in the browser with a user key of the pack maker, certified by
nordvolt's organisation key, loaded from files as a user would.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from oretrail.bootstrap import Federation
from oretrail.gateway.viewer import DEFAULT_VIEWER_DIR
from tests.conftest import PACK, ROOT

pytestmark = pytest.mark.e2e

AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
AS_OF = "2026-11-26"
# Screenshots go to a scratch folder unless asked for (docs/viewer.md refreshes docs/).
SCREENSHOTS_ENV = "ORETRAIL_SCREENSHOTS_DIR"


def chromium_path() -> str:
    path = os.environ.get("ORETRAIL_CHROMIUM") or shutil.which("chromium")
    if path is None:
        pytest.fail("Chromium is not installed: apt-get install -y chromium (bash .ci/setup test)")
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not (DEFAULT_VIEWER_DIR / "index.html").is_file() or not AXE.is_file():
        pytest.fail("the viewer is not built: (cd web && npm ci && npm run build)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path(), headless=True)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh page under the gateway's own content security policy; fails the test on
    any script error or anything the policy refused."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.on(
        "console",
        lambda message: (
            errors.append(message.text)
            if message.type == "error" and "Content Security Policy" in message.text
            else None
        ),
    )
    yield opened
    context.close()
    assert errors == [], f"the page threw or its policy refused something: {errors}"


def viewer_url(federation: Federation) -> str:
    """The gateway's own page: ``/`` beside its ``/graphql``."""
    return federation.gateway_url.removesuffix("/graphql") + "/"


def sign_in(page: Page, federation: Federation, folder: Path) -> None:
    """Load a nordvolt user's key and certificate from files, as a user does."""
    pem = federation.user("nordvolt", "viewer@nordvolt").save(folder)
    load_key(page, viewer_url(federation), pem, pem.with_suffix(".cert"))
    page.wait_for_selector("#identity[data-org='nordvolt']")


def load_key(page: Page, url: str, pem: Path, certificate: Path) -> None:
    page.goto(url)
    page.wait_for_selector("body[data-ready='true']")
    page.get_by_label("User key (.pem)").set_input_files(pem)
    page.get_by_label("Certificate (.cert)").set_input_files(certificate)
    page.get_by_role("button", name="Load key").click()


def run_trace(page: Page, lot: str) -> None:
    page.get_by_label("Lot id").fill(lot)
    page.get_by_label("As of (date)").fill(AS_OF)
    page.get_by_role("button", name="Trace").click()
    # Locators, not a predicate: the page's policy forbids evaluating strings.
    done = page.locator("#progress-text", has_text=re.compile(r"^Done"))
    done.or_(page.locator("#trace-error:not(:empty)")).wait_for(timeout=60_000)
    assert page.locator("#trace-error").text_content() == ""


def drawn_labels(page: Page, element: str) -> list[str]:
    """The text the Sankey of ``element`` draws in its SVG."""
    texts: list[str] = page.locator(f"figure.flow[data-element='{element}'] svg text").evaluate_all(
        "nodes => nodes.map(n => n.textContent)"
    )
    return texts


def test_a_signed_in_user_traces_the_sample_pack_and_sees_graph_flows_gaps_and_risks(
    federation: Federation, page: Page, tmp_path: Path
) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    sign_in(page, federation, tmp_path)
    run_trace(page, PACK)
    # No CDN, no third party: everything the page loaded or called came from the gateway.
    origin = viewer_url(federation)
    assert requested
    assert [url for url in requested if not url.startswith(("data:", origin))] == []

    # The lot graph: docs/sample-data.md's tree has 19 distinct lots (BM-2026-033 feeds
    # two of Circulo's sulfates and is drawn once): the pack, the cells, the cathode, the
    # anode, Huaxi's and Niassa's graphite (3 + 3), Boreal's sulfate, the trader's blend,
    # Kambove's and Kasulo's hydroxides (4), Circulo's two sulfates and two black masses
    # (4), Nordic Nickel's sulfate, Sulawesi's MHP and ore (3), Coastal's LiOH and
    # Yilgarn's SC6 (2): 3 + 3 + 4 + 4 + 3 + 2 = 19.
    assert page.locator("#graph").get_attribute("data-node-count") == "19"
    assert page.locator("#lots-table tbody tr").count() == 19

    # Cobalt, from the seed files (t x Co mass fraction):
    #   cathode CAM-2026-0412 consumes Boreal's CS 2.4 t x 0.21 = 504 kg and Circulo's
    #   CSR 0.5 t x 0.21 = 105 kg (its nickel and lithium inputs carry no Co): 609 kg.
    #   CS: 504/609 = 24/29 = 82.76 %; CSR: 105/609 = 5/29 = 17.24 %.
    #   The trader's blend CH behind CS: Kambove 7 t x 0.32 = 2,240 kg, Kasulo
    #   4 t x 0.19 = 760 kg, of 3,000 kg: Kambove 24/29 x 2240/3000 = 61.79 %,
    #   Kasulo 24/29 x 760/3000 = 20.97 %.
    #   CSR's black masses: Circulo's 3 t x 0.08 = 240 kg, Nordic Battery Collection's
    #   2.25 t x 0.08 = 180 kg, of 420 kg: 5/29 x 240/420 = 9.85 %, 5/29 x 180/420 = 7.39 %.
    #   The cells take all their Co from the cathode (the anode is C only), the pack
    #   all of it from the cells: 100 %.
    labels = drawn_labels(page, "Co")
    figures = {
        "Kambove MH-2026-031": "61.79 %",
        "Kasulo HG-2026-007": "20.97 %",
        "CS-2026-102": "82.76 %",
        "CH-2026-014": "82.76 %",
        "CSR-2026-009": "17.24 %",
        "BM-2026-033": "9.85 %",
        "BM-2026-051": "7.39 %",
        "CAM-2026-0412": "100.00 %",
        "CELL-2026-1187": "100.00 %",
        "PACK-2026-0412": "100.00 %",
    }
    for name, figure in figures.items():
        drawn = [label for label in labels if name in label]
        assert len(drawn) == 1, (name, labels)
        assert drawn[0].startswith(figure), (name, drawn)
    # Ten lots carry cobalt and nothing else is drawn in the cobalt diagram.
    assert len(labels) == 10, labels

    # A gap and a risk, with the share behind them: Coastal Lithium claims 1,650 kg Li
    # (10 t x 16.5 %) from 1,129.95 kg (40.5 t x 2.79 %): 520.05 / 1,650 = 31.52 % of
    # the pack's Li is an unsupported claim; Kasulo's artisanal site is in Lualaba, a
    # CAHRA, with 20.97 % of the cobalt.
    gap = page.locator("#gaps-table tbody tr", has_text="UNSUPPORTED_CLAIM")
    assert gap.count() == 1
    assert "31.52 %" in _cells(gap)
    risk = page.locator("#risks-table tbody tr", has_text="CAHRA_ORIGIN")
    assert risk.count() == 1
    assert "20.97 %" in _cells(risk)
    assert "Lualaba" in (risk.text_content() or "")

    _screenshots(page)
    _assert_accessible(page)


def test_a_key_its_certificate_does_not_certify_is_refused_before_anything_is_sent(
    federation: Federation, page: Page, tmp_path: Path
) -> None:
    one = federation.user("nordvolt", "one@nordvolt").save(tmp_path / "one")
    other = federation.user("nordvolt", "other@nordvolt").save(tmp_path / "other")
    load_key(page, viewer_url(federation), one, other.with_suffix(".cert"))
    status = page.locator("#identity")
    status.filter(has_text="Key not loaded").wait_for()
    assert "certifies another key" in (status.text_content() or "")
    assert page.get_by_role("button", name="Trace").is_disabled()


def test_a_trace_the_gateway_refuses_is_shown_as_one_line_not_a_blank_page(
    federation: Federation, page: Page, tmp_path: Path
) -> None:
    """Driven by the keyboard alone: Tab from the lot field to the date, Enter submits."""
    sign_in(page, federation, tmp_path)
    page.get_by_label("Lot id").focus()
    page.keyboard.type("not a lot id")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "as-of"
    page.keyboard.press("Enter")
    error = page.locator("#trace-error")
    error.filter(has_text="Trace failed").wait_for()
    assert "\n" not in (error.text_content() or "")
    assert page.locator("#results").is_hidden()


def test_the_demo_offers_the_viewer_a_development_key_of_its_own(
    page: Page, tmp_path: Path
) -> None:
    """`oretrail demo --viewer DIR` writes the pack maker's development key and keeps
    serving; the page traces the pack with the files it wrote; Ctrl-C stops it."""
    demo = subprocess.Popen(
        [sys.executable, "-m", "oretrail", "demo", "--as-of", AS_OF, "--viewer", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    watchdog = threading.Timer(90, demo.kill)
    watchdog.start()
    try:
        assert demo.stdout is not None
        offer = ""
        for line in demo.stdout:  # until the demo says it is serving (or ends)
            offer += line
            if line.startswith("Serving until interrupted"):
                break
        url = re.search(r"Trace viewer: open (\S+)", offer)
        pem = re.search(r"load the key (\S+)", offer)
        certificate = re.search(r"and the certificate (\S+)", offer)
        assert url is not None, offer
        assert pem is not None, offer
        assert certificate is not None, offer
        assert Path(pem[1]).parent == tmp_path
        load_key(page, url[1], Path(pem[1]), Path(certificate[1]))
        page.wait_for_selector("#identity[data-org='nordvolt']")
        run_trace(page, PACK)
        assert page.locator("#graph").get_attribute("data-node-count") == "19"
    finally:
        demo.send_signal(signal.SIGINT)
        _, errors = demo.communicate(timeout=30)
        watchdog.cancel()
    assert demo.returncode == 130, errors
    assert "Traceback" not in errors


def _cells(row: Any) -> list[str]:
    cells: list[str] = row.locator("td, th").all_text_contents()
    return [c.strip() for c in cells]


def _screenshots(page: Page) -> None:
    folder = Path(os.environ.get(SCREENSHOTS_ENV) or ROOT / "var" / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=folder / "viewer-page.jpg", full_page=True, type="jpeg", quality=70)
    page.locator("#graph").screenshot(path=folder / "viewer-graph.png")
    page.locator("figure.flow[data-element='Co']").screenshot(path=folder / "viewer-cobalt.png")


def _assert_accessible(page: Page) -> None:
    """axe-core, injected from node_modules, finds no WCAG 2.1 A/AA violation."""
    # Evaluated by the test's own DevTools channel: the page's policy runs only its own script.
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;void 0")
    violations: list[dict[str, Any]] = page.evaluate(
        """async () => {
            const result = await axe.run(document, {
                runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'],
            });
            return result.violations.map(v => ({
                id: v.id, help: v.help, nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5),
            }));
        }"""
    )
    assert violations == [], violations


def fetch(method: str, url: str) -> tuple[int, Message]:
    """Status and headers of one plain HTTP request (sync: Playwright's loop owns this
    thread's asyncio)."""
    request = urllib.request.Request(url, method=method)  # noqa: S310 - loopback http only
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            return answer.status, answer.headers
    except urllib.error.HTTPError as refused:
        return refused.code, refused.headers


def test_the_gateway_serves_the_page_and_its_files_under_its_policy_and_nothing_else(
    federation: Federation,
) -> None:
    base = viewer_url(federation)
    status, headers = fetch("GET", base)
    assert status == 200
    assert headers.get_content_type() == "text/html"
    policy = headers["content-security-policy"]
    assert "script-src 'self';" in policy
    assert "frame-ancestors 'none'" in policy
    status, headers = fetch("GET", base + "viewer/app.js")
    assert status == 200
    assert "javascript" in headers.get_content_type()
    assert headers["content-security-policy"] == policy
    assert fetch("POST", base)[0] == 405
    assert fetch("GET", base + "viewer/%2e%2e/%2e%2e/config/registry.toml")[0] == 404
    assert fetch("GET", base + "graphql")[0] == 405


def downloaded(page: Page, link_name: str, folder: Path) -> tuple[str, str]:
    """Click the link named ``link_name``; the suggested file name and the file's text."""
    with page.expect_download() as started:
        page.get_by_role("link", name=link_name).click()
    download = started.value
    path = folder / download.suggested_filename
    download.save_as(path)
    return download.suggested_filename, path.read_text(encoding="utf-8")


def test_the_trace_offers_its_passports_and_due_diligence_report_for_download(
    federation: Federation, page: Page, tmp_path: Path
) -> None:
    """The pack's trace offers the trace, its product and battery passports (unsigned,
    the page says who signs them), and, on request, its due-diligence report."""
    sign_in(page, federation, tmp_path)
    run_trace(page, PACK)
    local = PACK.rsplit(":", 1)[1]  # PACK-2026-0412

    name, text = downloaded(page, "Download the trace (JSON)", tmp_path)
    assert name == f"trace-{local}-{AS_OF}.json"
    trace = json.loads(text)
    assert trace["root"] == PACK
    assert "productPassport" not in trace  # each passport is a download of its own

    name, text = downloaded(page, "Download the digital product passport", tmp_path)
    assert name == f"product-passport-{local}-{AS_OF}.json"
    passport = json.loads(text)
    assert "VerifiableCredential" in passport["type"]
    assert passport["credentialSubject"]["id"] == PACK
    assert "proof" not in passport  # unsigned: the organisation signs it
    name, text = downloaded(page, "Download the battery passport", tmp_path)
    assert name == f"battery-passport-{local}-{AS_OF}.json"
    assert json.loads(text)["credentialSubject"]["id"] == PACK
    note = page.locator("#passport-note")
    assert note.is_visible()
    assert "oretrail export dpp" in (note.text_content() or "")

    # The due-diligence report: asked for, signed and traced again, then offered.
    assert page.get_by_role("link", name="Download the due-diligence report (JSON)").count() == 0
    page.get_by_role("button", name="Prepare the due-diligence report").click()
    page.locator("#due-diligence-status", has_text="ready").or_(
        page.locator("#due-diligence-status", has_text="not available")
    ).wait_for(timeout=60_000)
    name, text = downloaded(page, "Download the due-diligence report (JSON)", tmp_path)
    assert name == f"due-diligence-{local}-{AS_OF}.json"
    assert PACK in text
    json.loads(text)
    name, text = downloaded(page, "Download the due-diligence report (HTML)", tmp_path)
    assert name.endswith(".html")
    assert text.lstrip().lower().startswith("<!doctype html")
    assert PACK in text
    _assert_accessible(page)
