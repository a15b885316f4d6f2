"""The supervisors' board in a real headless Chromium, against a worker on a real broker.

Chromium and chromedriver are Debian's (`hazard-engine setup` installs them).
The worker's clock stands still before the examples' date (conftest.FROZEN);
raised alerts escalate at once (their responders are notified), so what the
board shows comes from events the test publishes to Kafka, through the worker.
The screenshots in docs/img/ are taken here.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES, FROZEN, REPO
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from engine.board import picture
from engine.board.html import LEFT
from engine.board.session import COOKIE, Sessions
from engine.board.signouts import read_signout, signouts_topic
from engine.clocks.timesource import ScaledTime
from engine.demo import RATE, START
from engine.demo import _incident as incident
from engine.feeds.filters import decode_positions
from engine.feeds.tokens import Scope, hash_token, mint
from engine.harness import (
    Namespace,
    Worker,
    latest_states,
    produce,
    publish_on_schedule,
    read_all,
    wait_drained,
)
from engine.simulate import DAY, District
from engine.tools import publish as publish_tool

pytestmark = pytest.mark.broker

SECRET = "board-test-secret-" + "x" * 32
IMG = REPO / "docs" / "img"


def browser() -> webdriver.Chrome:
    """Headless Chromium through chromedriver, both from Debian; never downloaded."""
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    assert chromium and driver, "chromium and chromedriver are missing: run `hazard-engine setup`"
    options = Options()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000",
                "--lang=zh-CN", "--disable-gpu"):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(executable_path=driver), options=options)


def wait(what: str, check: Callable[[], Any], timeout: float = 90) -> Any:
    """Poll `check` until it returns something true; fail naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
        except WebDriverException:
            value = None
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def alert(alert_id: str, town: str, grid: str, lat: float, lon: float) -> tuple[bytes, bytes]:
    """The contract's example alert, as another alert in another place."""
    body = json.loads((EXAMPLES / "alert-raised.json").read_text(encoding="utf-8"))
    body["id"] = f"ev-{alert_id}"
    body["subject"] = body["data"]["alert_id"] = alert_id
    body["data"]["location"] = {"town": town, "grid": grid, "address": "Test street 1",
                                "lat": lat, "lon": lon}
    return alert_id.encode(), json.dumps(body).encode()


def report(hazard_id: str, town: str, lat: float, lon: float) -> tuple[bytes, bytes]:
    """The contract's example report, as another hazard in `town`."""
    body = json.loads((EXAMPLES / "hazard-reported.json").read_text(encoding="utf-8"))
    body["id"] = f"ev-{hazard_id}"
    body["subject"] = body["data"]["hazard_id"] = hazard_id
    body["data"]["location"] = {"town": town, "lat": lat, "lon": lon}
    body["data"].pop("enterprise", None)
    return hazard_id.encode(), json.dumps(body).encode()


def publish(namespace: Namespace, topic: str, *records: tuple[bytes, bytes]) -> None:
    asyncio.run(produce(namespace.bootstrap, namespace.topic(topic), list(records)))


def escalations(namespace: Namespace) -> list[Any]:
    return asyncio.run(read_all(namespace.bootstrap, namespace.topic("escalations"), settle=0.5))


def about(records: list[Any], subject: str) -> list[Any]:
    return [r for r in records if json.loads(r.value)["data"]["subject_id"] == subject]


@pytest.fixture
def offices(tmp_path: Path) -> dict[str, str]:
    """Tokens of huxi's and lihaiwu's safety offices and of the district, in a tokens file."""
    tokens, lines = {}, []
    for name, towns, district in (("huxi", ["huxi"], False), ("lihaiwu", ["lihaiwu"], False),
                                  ("district", [], True)):
        tokens[name], line = mint(f"{name}-office", towns, [], district)
        lines.append(line)
    (tmp_path / "tokens.yaml").write_text("supervisors:\n" + "\n".join(lines) + "\n")
    return tokens


@pytest.fixture
def board_worker(namespace: Namespace, tmp_path: Path, offices: dict[str, str]) -> Iterator[Worker]:
    w = Worker(namespace.env(HAZARD_CLOCK_START=FROZEN, HAZARD_CLOCK_END=FROZEN,
                             HAZARD_TOKENS_FILE=str(tmp_path / "tokens.yaml"),
                             HAZARD_BOARD_SECRET=SECRET),
               tmp_path / "worker.log")
    w.start()
    try:
        w.wait_ready()
        yield w
    finally:
        w.stop()


@pytest.fixture
def chrome() -> Iterator[webdriver.Chrome]:
    driver = browser()
    try:
        yield driver
    finally:
        driver.quit()


def sign_in(driver: webdriver.Chrome, base: str, token: str, path: str = "/board") -> None:
    driver.get(base + path)
    driver.find_element(By.ID, "token").send_keys(token)
    driver.find_element(By.ID, "signin").click()
    wait("the board after sign-in", lambda: driver.find_elements(By.ID, "signout"))


def live_subjects(driver: webdriver.Chrome) -> list[str]:
    return [li.get_attribute("data-subject") for li in driver.find_elements(By.CSS_SELECTOR, "#live li")]


def connected(driver: webdriver.Chrome) -> bool:
    return driver.find_element(By.TAG_NAME, "body").get_attribute("data-stream") == "up"


def test_board_signs_in_updates_live_keeps_towns_apart_and_signs_out(
        namespace: Namespace, board_worker: Worker, chrome: webdriver.Chrome,
        offices: dict[str, str]) -> None:
    """Sign-in, live escalations without a reload, a town's scope everywhere, detail, sign-out, cookies."""
    base = f"http://127.0.0.1:{namespace.web_port}"
    driver = chrome

    # Not signed in: the sign-in page, in Chinese first; a wrong token stays there with a reason.
    driver.get(base + "/board")
    assert driver.find_element(By.ID, "token") and "登录" in driver.title
    driver.find_element(By.ID, "token").send_keys("hzt_not-a-real-token")
    driver.find_element(By.ID, "signin").click()
    assert "unknown or revoked token" in wait("the refusal", lambda: driver.find_element(
        By.CSS_SELECTOR, "[role=alert]").text)
    assert not driver.get_cookie(COOKIE)

    sign_in(driver, base, offices["huxi"])
    cookie = driver.get_cookie(COOKIE)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie.get("expiry")
    assert offices["huxi"] not in json.dumps(driver.get_cookies())  # the cookie holds a hash, never the token
    wait("the live stream", lambda: connected(driver))
    driver.execute_script("window.boardMarker = 'not reloaded';")

    # Lihaiwu's alert goes first; once it escalated, huxi's follows.
    publish(namespace, "hazard.reports", report("HZ-B-HX-1", "huxi", 36.45, 116.01),
            report("HZ-B-LH-1", "lihaiwu", 36.44, 115.98))
    publish(namespace, "responder.alerts", alert("AL-B-LH-1", "lihaiwu", "LHW-03", 36.4412, 115.9821))
    lihaiwu = wait("lihaiwu's escalations", lambda: about(escalations(namespace), "AL-B-LH-1"))
    publish(namespace, "responder.alerts", alert("AL-B-HX-1", "huxi", "HX-11", 36.4630, 116.0210))
    wait("huxi's alert on the open board", lambda: "AL-B-HX-1" in live_subjects(driver))
    assert driver.execute_script("return window.boardMarker;") == "not reloaded"

    def read_past_lihaiwu() -> bool:
        position = decode_positions(driver.find_element(By.TAG_NAME, "body").get_attribute("data-position"))
        return all(position.get(r.partition, 0) > r.offset for r in lihaiwu)

    if not read_past_lihaiwu():  # the stream may have fetched huxi's partition first: one more huxi event
        publish(namespace, "responder.alerts", alert("AL-B-HX-2", "huxi", "HX-11", 36.4701, 116.0302))
        wait("huxi's second alert", lambda: "AL-B-HX-2" in live_subjects(driver))
    # The board's stream has read lihaiwu's escalations and shown none of them.
    assert read_past_lihaiwu()
    assert all(s.startswith("AL-B-HX") for s in live_subjects(driver))
    # Each escalation says what it does in the board's language: 启动应急响应, not response_activation.
    lines = [li.text for li in driver.find_elements(By.CSS_SELECTOR, "#live li")]
    assert any("启动应急响应" in line for line in lines), lines
    assert not any("response_activation" in line for line in lines), lines
    # ... and why, in Chinese (reason_zh): 启动 IV 级应急响应, not "Response level IV activated".
    assert any("级应急响应：" in line for line in lines), lines
    assert not any("Response level" in line for line in lines), lines

    # Lists, counts and the map hold only huxi's subjects; the numbers refreshed without a reload.
    wait("huxi's hazard in the list", lambda: "HZ-B-HX-1" in driver.find_element(By.ID, "hazards").text)
    wait("huxi's alert in the alerts table", lambda: "AL-B-HX-1" in driver.find_element(By.ID, "alerts").text)
    assert driver.execute_script("return window.boardMarker;") == "not reloaded"
    src = driver.page_source
    for word in ("LH-1", "lihaiwu"):
        assert word not in src, src[max(0, src.find(word) - 300):src.find(word) + 100]

    driver.get(base + "/board/map")
    points = [a.get_dom_attribute("href").rsplit("/", 1)[1]
              for a in driver.find_elements(By.CSS_SELECTOR, "#map a")]
    assert {"AL-B-HX-1", "HZ-B-HX-1"} <= set(points) and all("-HX-" in p for p in points)
    assert "LH-1" not in driver.page_source
    driver.get(base + "/hazards.geojson")
    geo = json.loads(driver.find_element(By.TAG_NAME, "body").text)
    assert geo["features"] and {f["properties"]["town"] for f in geo["features"]} == {"huxi"}

    # Another town's hazard answers exactly as a hazard that does not exist.
    driver.get(base + "/board/hazards/HZ-B-LH-1")
    outside = driver.find_element(By.TAG_NAME, "main").text.replace("HZ-B-LH-1", "X")
    driver.get(base + "/board/hazards/HZ-B-NOPE")
    assert driver.find_element(By.TAG_NAME, "main").text.replace("HZ-B-NOPE", "X") == outside

    # A hazard's detail: its state and every step of its record.
    driver.get(base + "/board/hazards/HZ-B-HX-1")
    assert "HZ-B-HX-1" in driver.find_element(By.ID, "subject").text
    record = driver.find_element(By.ID, "record").text
    assert "ev-HZ-B-HX-1" in record
    # An alert's detail lists the escalations it caused, with their rules.
    driver.get(base + "/board/alerts/AL-B-HX-1")
    outputs = driver.find_element(By.ID, "outputs").text
    for r in about(escalations(namespace), "AL-B-HX-1"):
        assert json.loads(r.value)["data"]["rule_id"] in outputs

    # By keyboard: the first Tab reaches the skip link; the connection state is a live region.
    driver.get(base + "/board")
    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    assert driver.switch_to.active_element.get_attribute("class") == "skip"
    assert driver.find_element(By.ID, "conn").get_attribute("role") == "status"

    # English on request.
    driver.get(base + "/board?lang=en")
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    assert "Live escalations" in driver.page_source
    driver.get(base + "/board")  # the choice is remembered
    assert "Live escalations" in driver.page_source

    # Sign-out ends the session: the same cookie, put back, gets the sign-in page.
    old = driver.get_cookie(COOKIE)["value"]
    driver.find_element(By.ID, "signout").click()
    wait("the sign-in page", lambda: driver.find_elements(By.ID, "token"))
    assert not driver.get_cookie(COOKIE)
    driver.add_cookie({"name": COOKIE, "value": old, "path": "/"})
    driver.get(base + "/board")
    assert driver.find_elements(By.ID, "token") and not driver.find_elements(By.ID, "signout")
    # ...and the worker recorded it on the broker, for every other worker to refuse it too.
    body = old.split(".")[1]
    session = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    recorded = asyncio.run(read_all(namespace.bootstrap, signouts_topic(namespace.name), settle=1))
    assert [read_signout(r.value) for r in recorded] == [(session["sid"], session["exp"])]

    # A forged cookie (huxi's session made to name the district's token) and an expired one.
    body, mac = old.split(".")[1], old.split(".")[2]
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["h"] = hash_token(offices["district"])
    forged_body = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    keeper = Sessions(SECRET.encode(), 3600, lambda digest: Scope("huxi-office", frozenset({"huxi"})))
    _, expired = keeper.sign_in(offices["huxi"], now=time.time() - 7200)
    for bad in (f"v1.{forged_body}.{mac}", expired):
        driver.delete_all_cookies()
        driver.get(base + "/board/signin")
        driver.add_cookie({"name": COOKIE, "value": bad, "path": "/"})
        driver.get(base + "/board")
        assert driver.find_elements(By.ID, "token") and not driver.find_elements(By.ID, "signout")

    # A token revoked in the tokens file ends the open board's stream, and the board says so.
    driver.delete_all_cookies()
    sign_in(driver, base, offices["huxi"])
    wait("the live stream", lambda: connected(driver))
    tokens_file = Path(board_worker.env["HAZARD_TOKENS_FILE"])
    tokens_file.write_text("".join(line for line in tokens_file.read_text().splitlines(keepends=True)
                                   if hash_token(offices["huxi"]) not in line))
    conn = driver.find_element(By.ID, "conn")
    wait("the board to say the session ended", lambda: conn.get_attribute("data-signed-out") in conn.text)
    driver.get(base + "/board")
    assert driver.find_elements(By.ID, "token")


def test_kiosk_reconnects_after_a_worker_restart_and_shows_each_escalation_once(
        namespace: Namespace, board_worker: Worker, chrome: webdriver.Chrome,
        offices: dict[str, str]) -> None:
    """The wall screen says when it is cut off, resumes with Last-Event-ID, and misses or doubles nothing."""
    base = f"http://127.0.0.1:{namespace.web_port}"
    driver = chrome
    sign_in(driver, base, offices["district"], "/board/kiosk")
    wait("the live stream", lambda: connected(driver))
    start = decode_positions(wait("the stream's start position", lambda: driver.find_element(
        By.TAG_NAME, "body").get_attribute("data-position")))
    driver.execute_script("window.boardMarker = 'not reloaded';")

    publish(namespace, "responder.alerts", alert("AL-K-1", "huxi", "HX-11", 36.46, 116.02))
    wait("the first alert", lambda: "AL-K-1" in live_subjects(driver))

    board_worker.stop()
    conn = driver.find_element(By.ID, "conn")
    wait("the kiosk to say it is disconnected", lambda: not connected(driver))
    assert conn.text == conn.get_attribute("data-disconnected")
    driver.save_screenshot(str(IMG / "kiosk-disconnected.png"))
    # Raised while the worker is down: escalated when it is back, and shown then.
    publish(namespace, "responder.alerts", alert("AL-K-2", "lihaiwu", "LHW-03", 36.44, 115.98))

    board_worker.start()
    board_worker.wait_ready()
    wait("the kiosk to reconnect", lambda: connected(driver), timeout=120)
    # It came back from where it stopped (its Last-Event-ID), not from the topic's end.
    resumed = [json.loads(line) for line in board_worker.log_text().splitlines()
               if "board_stream_opened" in line]
    assert resumed and all(r["resume"] for r in resumed), resumed
    wait("the alert raised while the worker was down", lambda: "AL-K-2" in live_subjects(driver))
    publish(namespace, "responder.alerts", alert("AL-K-3", "huxi", "HX-11", 36.47, 116.03))
    wait("an alert after the restart", lambda: "AL-K-3" in live_subjects(driver))
    assert driver.execute_script("return window.boardMarker;") == "not reloaded"

    # Every escalation since the kiosk opened, each exactly once, as the topic holds them.
    end = decode_positions(driver.find_element(By.TAG_NAME, "body").get_attribute("data-position"))
    topic = Counter(json.loads(r.value)["id"] for r in escalations(namespace)
                    if start.get(r.partition, 0) <= r.offset < end.get(r.partition, 0))
    shown = Counter(li.get_attribute("data-escalation")
                    for li in driver.find_elements(By.CSS_SELECTOR, "#live li"))
    assert shown == topic
    assert {json.loads(r.value)["data"]["subject_id"] for r in escalations(namespace)} >= \
        {"AL-K-1", "AL-K-2", "AL-K-3"}
    driver.save_screenshot(str(IMG / "kiosk.png"))


@pytest.mark.long(35)
def test_board_pictures_the_demo_district(namespace: Namespace, tmp_path: Path, chrome: webdriver.Chrome,
                                          offices: dict[str, str]) -> None:
    """The demo's district on its accelerated clock: the board's numbers match the engine's states,
    a hazard's detail lists every output it caused; the README's screenshots come from here."""
    days = 12
    anchor = time.time() + 8
    end = START.timestamp() + days * DAY
    clock = ScaledTime(START.timestamp(), anchor, RATE, end)
    worker = Worker(namespace.env(
        HAZARD_CLOCK_START=START.isoformat(), HAZARD_CLOCK_ANCHOR=str(anchor), HAZARD_CLOCK_RATE=str(RATE),
        HAZARD_TICK_S="0.1", HAZARD_CLOCK_END=datetime.fromtimestamp(end, START.tzinfo).isoformat(),
        HAZARD_TOKENS_FILE=str(tmp_path / "tokens.yaml"), HAZARD_BOARD_SECRET=SECRET),
        tmp_path / "worker.log")
    base = f"http://127.0.0.1:{namespace.web_port}"
    driver = chrome
    worker.start()
    try:
        worker.wait_ready()
        sign_in(driver, base, offices["district"])
        wait("the live stream", lambda: connected(driver))
        examples = publish_tool.plan(sorted(EXAMPLES.glob("*.json")))[0]  # as the demo's part 1
        asyncio.run(publish_tool.send(examples, namespace.bootstrap, namespace.prefix))
        planned = sorted([p for p in District(START, seed=2026).events(40, days - 2) if p.at < end - DAY]
                         + incident(), key=lambda p: p.at)
        asyncio.run(publish_on_schedule(namespace.bootstrap, namespace.prefix, clock, planned))
        time.sleep(max(0.0, clock.real_time_of(end) - time.time()) + 1)  # the clock stops at `end`
        asyncio.run(wait_drained(namespace, alive=worker.alive))
        states = asyncio.run(latest_states(namespace.bootstrap, namespace.name))
        live = wait("escalations on the open board", lambda: live_subjects(driver))

        driver.get(base + "/board")
        open_hazards = [h for h in states.values()
                        if picture.is_open({"kind": "hazard", "status": h.status()})]
        assert int(driver.find_element(By.ID, "open-count").text) == len(open_hazards)
        overdue = {h.id for h in open_hazards if h.overdue(int(end))}
        shown = driver.find_element(By.ID, "hazards").text
        assert overdue and all(hid in shown for hid in overdue)
        # Listed supervision: time left counted on the engine's clock (stopped at `end`), not the wall's.
        listed = {h.id: LEFT["zh"][unit].format(n=n) for h in open_hazards if h.listed and h.listed[3]
                  for unit, n in [picture.time_left(h.listed[2] - end)]}
        # Read in one script: the live stream may redraw the table between two element look-ups.
        cells = driver.execute_script("return [...document.querySelectorAll('#listed tbody tr')]"
                                      ".map(r => [...r.cells].map(c => c.innerText.trim()));")
        rows = {row[0]: row[3] for row in cells}
        assert listed and rows == listed
        driver.save_screenshot(str(IMG / "board.png"))
        # On a phone: nothing wider than the screen, but for tables that scroll by themselves.
        driver.set_window_size(390, 844)
        driver.get(base + "/board")
        # Elements that stick out of the screen, not counting those inside something that scrolls.
        wider = driver.execute_script(
            "const clipped = e => { for (let p = e.parentElement; p; p = p.parentElement)"
            " { if (getComputedStyle(p).overflowX !== 'visible') return true; } return false; };"
            "return [...document.querySelectorAll('body *')].filter(e => !clipped(e)"
            " && e.getBoundingClientRect().right > window.innerWidth + 1)"
            ".map(e => e.tagName + '#' + e.id + '.' + e.className).slice(0, 10);")
        assert not wider, wider
        assert driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth;")
        driver.save_screenshot(str(IMG / "board-phone.png"))
        driver.set_window_size(1400, 1000)
        driver.get(base + "/board/map")
        driver.save_screenshot(str(IMG / "map.png"))

        # The hazard with the most outputs: its page lists every one of them, with its rule.
        outputs: dict[str, list[Any]] = {}
        for topic in ("escalations", "supervision.listed", "referrals.discipline", "enforcement.actions"):
            for r in asyncio.run(read_all(namespace.bootstrap, namespace.topic(topic), settle=0.5)):
                outputs.setdefault(r.key.decode(), []).append(json.loads(r.value))
        busiest = max((k for k in outputs if k.startswith("HZ-")), key=lambda k: len(outputs[k]))
        assert busiest in states and live
        driver.get(base + f"/board/hazards/{busiest}")
        rows = driver.find_elements(By.CSS_SELECTOR, "#outputs tbody tr")
        assert len(rows) == len(outputs[busiest])
        table = driver.find_element(By.ID, "outputs").text
        assert all((o["data"].get("rule_id") or "") in table for o in outputs[busiest])
        record = driver.find_elements(By.CSS_SELECTOR, "#record tbody tr")
        assert len(record) == len(states[busiest].history)
        driver.save_screenshot(str(IMG / "hazard-detail.png"))
        # 一企一档: from a hazard's page to its enterprise's file, which lists that enterprise's open
        # hazards as the engine holds them, each a link back.
        firm = max((h.enterprise[0] for h in open_hazards if h.enterprise),
                   key=lambda u: sum(1 for h in open_hazards if h.enterprise and h.enterprise[0] == u))
        held = sorted(h.id for h in open_hazards if h.enterprise and h.enterprise[0] == firm)
        driver.get(base + f"/board/hazards/{held[0]}")
        driver.find_element(By.CSS_SELECTOR, f'a[href="/board/enterprises/{firm}"]').click()
        wait("the enterprise's file", lambda: driver.find_elements(By.ID, "hazards"))
        links = driver.execute_script("return [...document.querySelectorAll('#hazards tbody a')]"
                                      ".map(a => a.textContent);")
        assert firm in driver.find_element(By.CLASS_NAME, "facts").text and sorted(links) == held
        assert driver.find_elements(By.CSS_SELECTOR, "#record tbody tr")
        driver.save_screenshot(str(IMG / "enterprise-detail.png"))
        # The list of files, from the menu: that enterprise among those with an overdue hazard exactly
        # when the engine's hazards say so.
        driver.find_element(By.CSS_SELECTOR, 'nav a[href="/board/enterprises"]').click()
        wait("the list of files", lambda: driver.find_elements(By.ID, "enterprises"))
        assert firm in driver.find_element(By.ID, "enterprises").text
        driver.get(base + "/board/enterprises?overdue=true")
        late = any(h.id in overdue for h in open_hazards if h.enterprise and h.enterprise[0] == firm)
        assert (firm in driver.find_element(By.ID, "enterprises").text) == late
        # The example's fire: its escalations, and each CAP document it went out as.
        driver.get(base + "/board/alerts/AL-20261130-0009")
        rows = driver.find_elements(By.CSS_SELECTOR, "#outputs tbody tr")
        assert len(rows) == len(outputs["AL-20261130-0009"])
        caps = asyncio.run(read_all(namespace.bootstrap, namespace.topic("alerts.cap"), settle=0.5))
        listed_caps = driver.find_element(By.ID, "caps").text
        assert caps and len(driver.find_elements(By.CSS_SELECTOR, "#caps li")) == len(caps)
        assert all(re.search(rb"<identifier>([^<]+)</identifier>", c.value).group(1).decode() in listed_caps
                   for c in caps)
        driver.save_screenshot(str(IMG / "alert-detail.png"))
    finally:
        worker.stop()
