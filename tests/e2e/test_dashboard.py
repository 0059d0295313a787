"""The dashboard in a real browser: Playwright drives Debian's Chromium against a live
``suanli serve`` on a free port (one server and one browser for the module; a fresh browser
context, so a fresh session, per flow). Every flow saves screenshots to var/screenshots/."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from suanli.store.db import make_engine
from suanli.store.migrate import upgrade
from tests.web_support import PENDING, seed

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
REQUIRED = bool(os.environ.get("SUANLI_REQUIRE_REAL_SERVICES"))


def _missing(why: str) -> None:
    if REQUIRED:
        pytest.fail(f"{why}; the test command requires the browser (scripts/ensure-services.sh)")
    pytest.skip(why)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('web') / 'suanli.db'}"
    engine = make_engine(url)
    upgrade(engine)
    tokens = seed(engine)
    engine.dispose()
    port = _free_port()
    env = {**os.environ, "SUANLI_DATABASE_URL": url, "SUANLI_API_THREADS": "4"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "suanli.cli", "serve", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {proc.stderr.read() if proc.stderr else ''}")
            time.sleep(0.1)
        yield {"base": base, "tokens": tokens, "url": url}
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed")
    if not Path(CHROMIUM).exists():
        _missing(f"{CHROMIUM} is missing (apt-get install chromium fonts-noto-cjk)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def open_as(server: dict[str, Any], browser: Any) -> Iterator[Any]:
    contexts = []

    def sign_in(role: str, locale: str = "en-GB") -> Any:
        context = browser.new_context(locale=locale, viewport={"width": 1200, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(server["base"] + "/")
        field = page.locator("#token")  # by id: its label is in the browser's language
        field.fill(server["tokens"][role])
        field.press("Enter")  # the keyboard submits the form
        page.wait_for_load_state()
        return page

    yield sign_in
    for context in contexts:
        context.close()


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_officer_approves_an_application(open_as):
    page = open_as("officer")
    assert page.url.endswith("/officer")
    shot(page, "officer")
    form = page.locator(f"#app-{PENDING}")
    form.get_by_label("Approve").check()
    form.get_by_role("button", name="Record decision").click()
    page.wait_for_url("**/officer?notice=*")
    assert "Application approved" in page.locator(".notice").inner_text()
    assert page.locator(f"#app-{PENDING}").count() == 0
    assert page.locator("#chart-burn[data-interactive=true]").count() == 1  # ECharts drew it
    shot(page, "officer-approved")


def test_tenant_quotes_and_submits_a_job(open_as):
    page = open_as("tenant")
    assert page.url.endswith("/tenant")
    assert "v-hz-1" in page.locator("#h-vouchers + table").inner_text()
    page.get_by_role("link", name="Get a quote").click()
    page.get_by_label("Workload").select_option("finetune")
    page.get_by_label("Model size (billion parameters)").fill("1")
    page.get_by_label("Training tokens (billions)").fill("0.05")
    page.get_by_label("Voucher").select_option("v-hz-1")
    page.get_by_label("Command to run").fill("true")
    page.get_by_role("button", name="Get quote").click()
    offers = page.locator("#h-offers + table")
    offers.wait_for()
    assert "hz-xx-1-910b" in offers.inner_text() and "¥" in offers.inner_text()
    assert page.locator("ul.refused li").count() >= 1  # why the other offers are out
    shot(page, "tenant-quote")
    page.get_by_role("button", name="Submit the job").click()
    page.wait_for_url("**/tenant?notice=*")
    assert "placed" in page.locator(".notice").inner_text()
    assert "placed" in page.locator("#h-runs + table").inner_text() or "queued" in page.content()
    shot(page, "tenant")


def test_provider_creates_an_offer_and_bad_input_changes_nothing(open_as):
    page = open_as("provider")
    assert page.url.endswith("/provider")
    form = page.locator("#new-offer")
    form.get_by_label("Offer id").fill("hz-xx-1-web")
    form.get_by_label("Site").select_option("hz-xx-1")
    form.get_by_label("Accelerator", exact=True).fill("910B")
    form.get_by_label("Chips").fill("many")  # not a number
    form.get_by_label("Price per accelerator-hour (¥)").fill("12.50")
    form.get_by_label("Available from").fill("2026-01-01")
    form.get_by_label("Available until").fill("2027-01-01")
    form.get_by_role("button", name="Create offer").click()
    page.wait_for_load_state()
    error = page.locator("#err-count")
    assert error.inner_text() == "Enter a whole number."
    assert page.get_by_label("Offer id").input_value() == "hz-xx-1-web"  # the input is kept
    assert "hz-xx-1-web" not in page.locator("#h-offers + table").inner_text()
    shot(page, "provider-bad-input")
    page.locator("#new-offer").get_by_label("Chips").fill("16")
    page.locator("#new-offer").get_by_role("button", name="Create offer").click()
    page.wait_for_url("**/provider?notice=*")
    assert "hz-xx-1-web" in page.locator("#h-offers + table").inner_text()
    assert "¥12.50" in page.locator("#h-offers + table").inner_text()
    shot(page, "provider")


def test_auditor_verifies_the_audit_log(open_as):
    page = open_as("auditor")
    assert page.url.endswith("/auditor")
    assert "Every ledger invariant holds." in page.content()
    page.get_by_role("button", name="Verify the audit log").click()
    result = page.locator("#verify-result")
    assert "is whole" in result.inner_text()
    shot(page, "auditor")


def test_the_chinese_switch_and_a_chinese_browser(open_as, server):
    page = open_as("tenant")
    page.get_by_role("link", name="中文").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.get_by_role("heading", name="算力券与余额").count() == 1
    assert page.get_by_role("button", name="退出").count() == 1
    shot(page, "tenant-zh")
    chinese = open_as("officer", locale="zh-CN")  # Accept-Language: zh-CN
    assert chinese.locator("html").get_attribute("lang") == "zh-CN"
    assert chinese.get_by_role("heading", name="项目与预算").count() == 1
    shot(chinese, "officer-zh")


def test_a_forged_post_is_refused_and_changes_nothing(open_as):
    page = open_as("provider")
    body = {"id": "hz-xx-1-forged", "site_id": "hz-xx-1", "accelerator_id": "910B",
            "count": "8", "price_yuan": "10", "available_from": "2026-01-01",
            "available_until": "2027-01-01", "csrf": "forged"}  # fmt: skip
    answer = page.request.post(page.url.replace("/provider", "/provider/offers"), form=body)
    assert answer.status == 403
    page.reload()
    assert "hz-xx-1-forged" not in page.locator("#h-offers + table").inner_text()
