"""The work console in a real browser: keyboard-only keying, blind verification, review, lost
leases, and the supervisor's board. Screenshots go to test-artifacts/."""

import copy
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, Request

from app.domain.applications import get_path
from app.domain.catalogue import PROCEDURE_CODES
from app.settings import QueueSettings
from tests.api.test_decisions import faulty_move_in
from tests.api.test_people import PASSWORD, add_person
from tests.api.test_work_queue import blind_answers, receive, token, work_to_review
from tests.factories import move_in, my_number, status_report
from tests.support import LiveServer, Office, make_settings, run_server, seed

pytestmark = pytest.mark.browser

DESK = {"width": 1600, "height": 1000}

# The paper form as the operators read it (the OCR had the address in full-width digits).
PAPER: dict[str, Any] = copy.deepcopy(move_in()["fields"])
PAPER["new_address"] = "熊本市中央区手取本町1-1"
PAPER["members"][0]["kana"] = "タカハシ ヨシコ"

# What the first operator keys, by path: dates in whatever notation the paper suggests.
ENTRY_KEYS: dict[str, str] = {
    "filing_date": "令和8年11月20日",
    "filer_relation": "self",
    "id_document": "my_number_card",
    "move_date": "R8.11.16",
    "new_address": PAPER["new_address"],
    "new_postal_code": "860-8601",
    "previous_address": PAPER["previous_address"],
    "household_head_name": PAPER["household_head_name"],
    "transfer_method": "certificate",
    "previous_resident_code": PAPER["previous_resident_code"],
    **{
        f"members[{i}].{key}": value
        for i, member in enumerate(PAPER["members"])
        for key, value in member.items()
        if key != "my_number"
    },
    "members[0].birth_date": "S60.4.1",
}


class Requests:
    """Every API call a page makes, in order."""

    def __init__(self, page: Page) -> None:
        self.seen: list[tuple[str, str]] = []
        page.on("request", self._record)

    def _record(self, request: Request) -> None:
        if "/api/v1/" in request.url:
            self.seen.append((request.method, request.url.split("/api/v1", 1)[1].split("?")[0]))

    def since(self, mark: int, *, heartbeats: bool = False) -> list[tuple[str, str]]:
        return [r for r in self.seen[mark:] if heartbeats or not r[1].endswith("/heartbeat")]


# Who signs in: (staff number, password).
Who = tuple[str, str]


def demo(office: Office, key: str) -> Who:
    """One of the demo people seed-demo creates: operator, operator_vendor, reviewer, supervisor."""
    person = office.data["staff"][key]
    return str(person["staff_id"]), str(person["password"])


async def person(server: LiveServer, office: Office, staff_id: str, name: str) -> Who:
    await add_person(server, office, staff_id, name)
    return staff_id, PASSWORD


async def sign_in(page: Page, who: Who, municipality: str = "431001") -> None:
    """Through the form, by keyboard alone: type, Tab, type, Tab, type, Enter."""
    await page.wait_for_selector("#signin:not([hidden])", timeout=10_000)
    if await page.input_value("#signin-municipality") != municipality:
        await page.locator("#signin-municipality").fill("")
        await page.locator("#signin-municipality").focus()
        await page.keyboard.type(municipality)
    await page.locator("#signin-staff").fill("")
    await page.locator("#signin-staff").focus()
    await page.keyboard.type(who[0])
    await page.keyboard.press("Tab")
    assert (await focused(page))["id"] == "signin-password"
    await page.keyboard.type(who[1])
    await page.keyboard.press("Enter")


async def open_console(browser: Browser, server: LiveServer, who: Who) -> tuple[Page, Requests]:
    page = await browser.new_page(viewport=DESK)  # type: ignore[arg-type]
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    requests = Requests(page)
    await page.goto(f"{server.url}/console/")
    await sign_in(page, who)
    await page.wait_for_selector("body[data-ready]", timeout=10_000)
    assert errors == []
    assert "token=" not in page.url
    return page, requests


async def focused(page: Page) -> dict[str, str]:
    return dict(
        await page.evaluate(
            "(() => { const e = document.activeElement;"
            " return {id: e.id || '', path: (e.dataset && e.dataset.path) || '',"
            " tag: e.tagName}; })()"
        )
    )


async def key_fields(page: Page, answers: dict[str, str], stop_at: str = "submit") -> list[str]:
    """Walk the form with Enter, typing the answer wherever one is known; returns the paths
    typed."""
    typed: list[str] = []
    for _ in range(120):
        here = await focused(page)
        if here["id"] == stop_at:
            return typed
        answer = answers.get(here["path"])
        if answer is not None:
            if here["tag"] == "SELECT":
                # Choices are numbered: typing the number selects it, as an operator would.
                answer = await page.evaluate(
                    "(code) => [...document.activeElement.options]"
                    ".find((o) => o.value === code).text.split(' ')[0]",
                    answer,
                )
            await page.keyboard.type(
                answer
            )  # the box's text is selected on focus: typing replaces it
            typed.append(here["path"])
        await page.keyboard.press("Enter")
    raise AssertionError("never reached the submit button")


async def date_view(page: Page, path: str) -> str:
    return str(await page.locator(f".row[data-path='{path}'] .date-view").inner_text())


async def application_status(server: LiveServer, office: Office, application_id: str) -> str:
    async with server.client(office.token("supervisor")) as supervisor:
        return str((await supervisor.get(f"/applications/{application_id}")).json()["status"])


async def test_keyboard_only_entry_then_blind_verify_then_review_reaches_approved(
    server: LiveServer, office: Office, browser: Browser, artifacts: Path
) -> None:
    application_id = await receive(server, office, move_in())
    keyer = await person(server, office, "K-101", "入力 一郎")
    checker = await person(server, office, "K-102", "照合 花子")

    # ---- entry: claim with F2, Enter through the form, F9 to submit
    page, requests = await open_console(browser, server, keyer)
    mark = len(requests.seen)
    await page.keyboard.press("F2")
    await page.wait_for_selector("body[data-mode='entry'] #task:not([hidden])")
    assert (await focused(page))["path"] == "filing_date"
    assert (
        await page.locator(".row[data-path='new_address'].low-conf .conf.low").inner_text() == "72%"
    )
    assert (
        await page.input_value(".row[data-path='members[0].my_number'] input")
        == "********" + my_number()[-4:]
    )
    assert (
        await page.locator(".row.has-alert, .row.has-problem").count() > 0
    )  # the validator's findings

    # Japanese through the IME: Enter while composing only commits the text, it never moves on.
    await page.keyboard.type(ENTRY_KEYS["filing_date"])
    await page.keyboard.press("Enter")
    assert (await focused(page))["path"] == "filer_name"
    cdp = await page.context.new_cdp_session(page)
    await page.keyboard.press("Backspace")
    await cdp.send(
        "Input.imeSetComposition", {"text": "たかはし", "selectionStart": 4, "selectionEnd": 4}
    )
    await page.keyboard.press("Enter")
    assert (await focused(page))["path"] == "filer_name"
    await cdp.send("Input.insertText", {"text": "髙橋"})
    await page.keyboard.type(" 𠮷子")
    assert await page.input_value(".row[data-path='filer_name'] input") == "髙橋 𠮷子"
    await page.keyboard.press("Enter")
    assert (await focused(page))["path"] == "filer_relation"

    typed = ["filing_date", "filer_name", *await key_fields(page, ENTRY_KEYS)]
    assert len(typed) >= 20, typed
    # 和暦 shown back both ways, whichever way it was typed.
    assert "2026-11-20" in await date_view(page, "filing_date")
    assert "令和8年11月16日" in await date_view(page, "move_date")
    assert "2026-11-16" in await date_view(page, "move_date")
    assert "昭和60年4月1日" in await date_view(page, "members[0].birth_date")
    assert "1985-04-01" in await date_view(page, "members[0].birth_date")
    assert await page.locator("#lease-time").inner_text() in {"5:00", "4:59", "4:58", "4:57"}
    await page.locator(".row[data-path='move_date'] input").focus()
    await page.screenshot(path=artifacts / "console-entry.png")
    async with page.expect_response("**/submit") as submitted:
        await page.keyboard.press("F9")
    assert (await submitted.value).status == 200
    await page.wait_for_selector("body[data-mode='idle'] #message[data-kind='ok']")
    # Keying a form of more than twenty fields: one claim, one submit, nothing per field.
    step = requests.since(mark)
    assert [m for m, _ in step] == ["POST", "POST"], step
    assert step[0][1] == "/work/claim" and step[1][1].endswith("/submit")
    assert requests.seen.count(("GET", "/procedures")) == 1
    assert await application_status(server, office, application_id) == "verify"

    # ---- blind verification by a second operator
    verifier, verify_requests = await open_console(browser, server, checker)
    mark = len(verify_requests.seen)
    await verifier.keyboard.press("F2")
    await verifier.wait_for_selector("body[data-mode='verify'] #task:not([hidden])")
    field_keys = await verifier.locator(".form .row").evaluate_all(
        "(rows) => rows.map((r) => r.dataset.path)"
    )
    assert (
        "members[0].birth_date" in field_keys
        and "new_address" in field_keys
        and "members[0].my_number" in field_keys
    )
    html = await verifier.content()
    values = await verifier.locator(".form input").evaluate_all(
        "(inputs) => inputs.map((i) => i.value)"
    )
    assert all(v == "" for v in values)
    for secret in (
        "手取本町",
        "昭和60年",
        "1985-04-01",
        "S60",
        "R8.11.16",
        my_number()[-4:],
        "72%",
    ):
        assert secret not in html, f"verify screen shows {secret!r}"
    assert await verifier.locator(".form .ocr-value, .form .conf, .form .problem").count() == 0
    assert await verifier.locator("#reveal").is_hidden()
    await verifier.screenshot(path=artifacts / "console-verify.png")
    answers = {path: str(get_path(PAPER, path) or "") for path in field_keys}
    answers["members[0].birth_date"] = "昭和60年4月1日"  # another notation, the same day
    answers["members[0].my_number"] = my_number()
    assert len(await key_fields(verifier, answers)) == len(field_keys)
    # The draft of the blind keying is on the terminal, without the My Number just keyed.
    await verifier.wait_for_function("JSON.stringify({...localStorage}).includes('手取本町')")
    assert my_number() not in await verifier.evaluate("JSON.stringify({...localStorage})")
    await verifier.keyboard.press("Control+Enter")
    await verifier.wait_for_selector("body[data-mode='idle'] #message[data-kind='ok']")
    assert "照合一致" in await verifier.locator("#message").inner_text()
    assert [m for m, _ in verify_requests.since(mark)] == ["POST", "POST"]
    assert await application_status(server, office, application_id) == "review"

    # ---- review: the keyed values against OCR, the history, reveal (logged), approve
    reviewer, _ = await open_console(browser, server, demo(office, "reviewer"))
    await reviewer.keyboard.press("F2")
    await reviewer.wait_for_selector("body[data-mode='review'] .history li")
    assert (
        await reviewer.locator(".compare tr[data-path='new_address'] .ocrv").inner_text()
        == "熊本市中央区手取本町１－１"
    )
    assert (
        "全角"
        in await reviewer.locator(".compare tr[data-path='new_address'] .check .flag").inner_text()
    )
    await reviewer.keyboard.press("F6")
    await reviewer.wait_for_selector("#reveal-dialog[open]")
    await reviewer.keyboard.press("Enter")
    await reviewer.wait_for_selector(".compare td.keyed.revealed")
    assert (
        await reviewer.locator(
            ".compare tr[data-path='members[0].my_number'] td.keyed"
        ).inner_text()
        == my_number()
    )
    await reviewer.screenshot(path=artifacts / "console-review.png")
    # The warnings (𠮷 outside JIS) are acknowledged before approval: F9 leads to the checkbox.
    await reviewer.keyboard.press("F9")
    await reviewer.wait_for_selector("#ack-all:focus")
    assert not await reviewer.locator("#approve.armed").count()
    await reviewer.keyboard.press("Space")
    await reviewer.keyboard.press("F9")
    await reviewer.wait_for_selector("#approve.armed")
    await reviewer.keyboard.press("Enter")
    await reviewer.wait_for_selector("body[data-mode='idle'] #message[data-kind='ok']")
    assert await application_status(server, office, application_id) == "approved"
    async with server.client(office.token("supervisor")) as supervisor:
        history = (await supervisor.get(f"/applications/{application_id}")).json()["history"]
    approval = next(e for e in history if e["action"] == "review.approve")
    assert "filer_name:needs_identification" in approval["detail"]["acknowledged"]
    async with server.client(office.token("supervisor")) as supervisor:
        log = (
            await supervisor.get(
                "/access-log", params={"entity_id": application_id, "my_number_shown": "true"}
            )
        ).json()
    assert [e["actor_role"] for e in log["items"]] == ["reviewer"]


async def test_lost_lease_keeps_the_typing_and_sends_nothing(
    clean_db: str, browser: Browser, artifacts: Path
) -> None:
    async with run_server(make_settings(clean_db, queue=QueueSettings(lease_s=4))) as server:
        office = Office(await seed(clean_db))
        await receive(server, office, status_report())
        page, requests = await open_console(browser, server, demo(office, "operator"))
        await page.keyboard.press("F2")
        await page.wait_for_selector("body[data-mode='entry'] #task:not([hidden])")
        await page.keyboard.type("令和8年8月11日")
        await page.keyboard.press("Enter")
        await page.keyboard.type("佐藤 華子")
        await page.keyboard.press("Enter")
        await page.keyboard.press("Enter")
        await page.keyboard.press("F4")  # 生年月日: unreadable on the paper
        assert await page.input_value(".row[data-path='claimant_birth_date'] input") == "●"
        # The operator stops typing: no more heartbeats, the lease runs out on screen.
        await page.wait_for_selector("#lost:not([hidden])", timeout=10_000)
        assert await page.locator("#lease").get_attribute("data-state") == "lost"
        await page.keyboard.press("F9")
        await page.wait_for_selector("#message[data-kind='error']")
        assert "送信しません" in await page.locator("#message").inner_text()
        await page.screenshot(path=artifacts / "console-lost-lease.png")
        assert not [r for r in requests.seen if r[1].endswith("/submit")]

        # Claiming again gets the same task back, with what was typed.
        await page.keyboard.press("F2")
        await page.wait_for_selector("#banner[data-kind='info']")
        assert await page.is_hidden("#lost")
        assert await page.input_value(".row[data-path='filing_date'] input") == "令和8年8月11日"
        assert await page.input_value(".row[data-path='claimant_name'] input") == "佐藤 華子"
        assert await page.input_value(".row[data-path='claimant_birth_date'] input") == "●"

        # A supervisor releases it meanwhile: the next heartbeat is refused and the console says so.
        async with server.client(office.token("supervisor")) as supervisor:
            stats = (await supervisor.get("/work/stats")).json()
            held = next(t for o in stats["operators"] for t in o["holding"])
            await supervisor.post(f"/work/{held['task_id']}/release", json={})
        await page.locator(".row[data-path='claimant_phone'] input").focus()
        await page.keyboard.type("096-111-2222")
        await page.wait_for_selector("#lost:not([hidden])", timeout=5_000)
        assert "解放" in await page.locator("#lost-why").inner_text()
        assert ("POST", f"/work/{held['task_id']}/heartbeat") in requests.seen
        assert not [r for r in requests.seen if r[1].endswith("/submit")]


async def test_supervisor_board_live_release_and_qualifications(
    server: LiveServer, office: Office, browser: Browser, artifacts: Path
) -> None:
    late = move_in()
    late["fields"]["move_date"] = "令和8年10月1日"
    await receive(server, office, late)
    await receive(server, office, status_report())
    async with server.client(office.token("operator")) as operator:
        held = (await operator.post("/work/claim", json={})).json()
    board, _ = await open_console(browser, server, demo(office, "supervisor"))
    await board.wait_for_selector("#steps-body tr[data-kind='entry']")
    async with server.client(office.token("supervisor")) as supervisor:
        overdue = sum(s["overdue"] for s in (await supervisor.get("/work/stats")).json()["steps"])
    assert overdue >= 1
    assert await board.locator(".kpi.bad .v").inner_text() == str(overdue)
    await board.wait_for_selector(f"button[data-task='{held['id']}']")
    # The city's and the vendor's demo operators, as people and as tokens of no person.
    assert await board.locator("#quals tbody tr").count() == 4
    await board.screenshot(path=artifacts / "console-supervisor.png", full_page=True)

    # Updates live: a new application shows up without a reload.
    before = int(await board.locator(".kpi >> nth=0").locator(".v").inner_text())
    await receive(
        server, office, status_report(applicant={"family_name": "新規", "household_ref": "N-1"})
    )
    await board.wait_for_function(
        f"Number(document.querySelector('.kpi .v').textContent) === {before + 1}", timeout=10_000
    )

    await board.click(f"button[data-task='{held['id']}']")
    await board.wait_for_selector(
        f"button[data-task='{held['id']}']", state="detached", timeout=10_000
    )
    async with server.client(office.token("supervisor")) as supervisor:
        stats = (await supervisor.get("/work/stats")).json()
        assert not [t for o in stats["operators"] for t in o["holding"]]

        operators = (await supervisor.get("/work/operators")).json()
        city = next(o for o in operators if o["employer"] == "city")
        row = board.locator(f"#quals tr[data-operator='{city['id']}']")
        await row.locator("td.all input").uncheck()
        await row.locator("input[value='resident.move_in']").uncheck()
        # The release above left an "ok" message up: wait for this save's own answer.
        async with board.expect_response(lambda r: r.url.endswith("/qualifications")) as saved:
            await row.locator("button").click()
        assert (await saved.value).status == 200
        await board.wait_for_selector("#message[data-kind='ok']")
        operators = {o["id"]: o for o in (await supervisor.get("/work/operators")).json()}
        assert "resident.move_in" not in operators[city["id"]]["qualifications"]
        # Every procedure of the catalogue but the one unchecked.
        assert len(operators[city["id"]]["qualifications"]) == len(PROCEDURE_CODES) - 1


async def test_settling_operator_sees_both_keyings_then_the_reviewer_returns_it(
    server: LiveServer, office: Office, browser: Browser, artifacts: Path
) -> None:
    application_id = await receive(server, office, status_report())
    first, second = (
        await token(server, office, "operator", "A"),
        await token(server, office, "operator", "B"),
    )
    async with server.client(first) as a, server.client(second) as b:
        entry = (await a.post("/work/claim", json={})).json()
        values = entry["form"]["values"] | {
            "claimant_my_number": status_report()["fields"]["claimant_my_number"]
        }
        await a.post(
            f"/work/{entry['id']}/submit",
            json={"lease_token": entry["lease_token"], "values": values},
        )
        verify = (await b.post("/work/claim", json={})).json()
        keyed = blind_answers(verify, status_report()["fields"]) | {"claimant_birth_date": "H2.5.6"}
        mismatch = await b.post(
            f"/work/{verify['id']}/submit",
            json={"lease_token": verify["lease_token"], "values": keyed},
        )
        assert mismatch.json()["application_status"] == "settle"

    page, requests = await open_console(browser, server, demo(office, "operator"))
    # F8 gives a task back, but only when pressed twice: one stray key loses nothing.
    await page.keyboard.press("F2")
    await page.wait_for_selector("body[data-mode='settle'] #task:not([hidden])")
    await page.keyboard.type("H2")
    await page.keyboard.press("F8")
    await page.wait_for_selector("#message[data-kind='warn']")
    assert await page.is_visible("#task")
    async with page.expect_response("**/release"):
        await page.keyboard.press("F8")
    await page.wait_for_selector("body[data-mode='idle']")
    mark = len(requests.seen)
    await page.keyboard.press("F2")
    await page.wait_for_selector("body[data-mode='settle'] #task:not([hidden])")
    row = page.locator(".row[data-path='claimant_birth_date']")
    takes = await row.locator(".take .val").all_inner_texts()
    assert takes == ["平成2年5月5日（1990-05-05）", "H2.5.6（1990-05-06）"]
    assert await page.input_value(".row[data-path='claimant_birth_date'] input") == ""
    await page.keyboard.press("F3")  # the first keying was right
    assert await page.input_value(".row[data-path='claimant_birth_date'] input") == "平成2年5月5日"
    assert "1990-05-05" in await date_view(page, "claimant_birth_date")
    await page.screenshot(path=artifacts / "console-settle.png")
    await page.keyboard.press("F9")
    await page.wait_for_selector("body[data-mode='idle'] #message[data-kind='ok']")
    assert [m for m, _ in requests.since(mark)] == ["POST", "POST"]
    assert await application_status(server, office, application_id) == "review"

    # The reviewer returns it with a reason (F3, type the reason, Ctrl+Enter).
    reviewer, _ = await open_console(browser, server, demo(office, "reviewer"))
    await reviewer.keyboard.press("F2")
    await reviewer.wait_for_selector("body[data-mode='review'] .history li")
    await reviewer.keyboard.press("F3")
    assert (await focused(reviewer))["id"] == "reason"
    await reviewer.keyboard.type("生年月日の確認書類を添付してください")
    await reviewer.keyboard.press("Control+Enter")
    await reviewer.wait_for_selector("body[data-mode='idle'] #message[data-kind='ok']")
    assert "差し戻しました" in await reviewer.locator("#message").inner_text()
    async with server.client(office.token("supervisor")) as supervisor:
        returned = (await supervisor.get(f"/applications/{application_id}")).json()
    assert (
        returned["status"] == "entry"
        and returned["return_reason"] == "生年月日の確認書類を添付してください"
    )


async def test_operator_submits_with_problems_and_the_reviewer_sees_them_open(
    server: LiveServer, office: Office, browser: Browser, artifacts: Path
) -> None:
    application_id = await receive(server, office, faulty_move_in())
    page, _ = await open_console(browser, server, demo(office, "operator"))
    await page.keyboard.press("F2")
    await page.wait_for_selector("body[data-mode='entry'] #task:not([hidden])")
    assert await page.is_hidden("#submit-problems")
    async with page.expect_response("**/submit") as refused:
        await page.keyboard.press("F9")
    assert (await refused.value).status == 422
    await page.wait_for_selector("#submit-problems:not([hidden])")
    assert "問題ありで送信" in await page.locator("#message").inner_text()
    assert await application_status(server, office, application_id) == "entry"  # nothing sent on
    await page.screenshot(path=artifacts / "console-submit-with-problems.png")
    async with page.expect_response("**/submit") as sent:
        await page.keyboard.press("Shift+F9")
    assert (await sent.value).status == 200
    await page.wait_for_selector("body[data-mode='idle'] #message[data-kind='ok']")
    assert await application_status(server, office, application_id) == "verify"

    checker = await token(server, office, "operator", "照合")
    async with server.client(checker) as b:
        verify = (await b.post("/work/claim", json={})).json()
        paper = faulty_move_in()["fields"]
        answers = blind_answers(verify, paper) | {
            "new_address": paper["new_address"]
        }  # keyed as the OCR read it
        done = await b.post(
            f"/work/{verify['id']}/submit",
            json={
                "lease_token": verify["lease_token"],
                "values": answers,
                "submit_with_problems": True,
            },
        )
        assert done.json()["application_status"] == "review", done.text

    reviewer, _ = await open_console(browser, server, demo(office, "reviewer"))
    await reviewer.keyboard.press("F2")
    await reviewer.wait_for_selector("body[data-mode='review'] .history li")
    assert await reviewer.is_visible(".open-errors")
    assert (
        await reviewer.locator("#side .plist li[data-level='error'][data-path='move_date']").count()
        == 1
    )
    assert "問題ありで送信" in await reviewer.locator(".history").inner_text()
    await reviewer.keyboard.press("F9")
    await reviewer.wait_for_selector("#ack-all:focus")
    await reviewer.keyboard.press("Space")
    await reviewer.keyboard.press("F9")
    await reviewer.wait_for_selector("#approve.armed")
    async with reviewer.expect_response("**/submit") as answer:
        await reviewer.keyboard.press("Enter")
    assert (await answer.value).status == 409
    await reviewer.wait_for_selector("#message[data-kind='error']")
    assert "承認できません" in await reviewer.locator("#message").inner_text()
    await reviewer.screenshot(path=artifacts / "console-open-problems.png")
    assert await application_status(server, office, application_id) == "review"


@pytest.mark.parametrize("key", ["operator", "reviewer", "supervisor", "vendor_manager"])
async def test_each_kind_of_staff_signs_in_through_the_form(
    server: LiveServer, office: Office, browser: Browser, key: str
) -> None:
    page = await browser.new_page(viewport=DESK)  # type: ignore[arg-type]
    await page.goto(
        f"{server.url}/console/?token={office.token(key)}"
    )  # an old link: the token is not used
    await page.wait_for_selector("#signin:not([hidden])")
    assert "token=" not in page.url
    # The form is keyboard-first: focus starts in it, every input has its label.
    assert (await focused(page))["id"] == "signin-municipality"
    for field in ("signin-municipality", "signin-staff", "signin-password"):
        assert await page.locator(f"label[for='{field}']").count() == 1
    staff_id, password = demo(office, key)
    await sign_in(page, (staff_id, "wrong password!"))
    await page.wait_for_selector("#signin-error:not([hidden])")
    assert "wrong staff number or password" in await page.locator("#signin-error").inner_text()
    assert await page.input_value("#signin-password") == ""
    await sign_in(page, (staff_id, password))
    await page.wait_for_selector("body[data-ready]")
    assert await page.get_attribute("body", "data-view") == (
        "board" if key in ("supervisor", "vendor_manager") else "desk"
    )
    assert await page.locator("#who-name").inner_text() == office.data["staff"][key]["name"]
    assert await page.is_hidden("#signin")
    # The session cookie is HttpOnly: nothing on the page can read it.
    assert "madoguchi_session" not in await page.evaluate("document.cookie")
    # A reload keeps the session (the cookie), without signing in again.
    await page.reload()
    await page.wait_for_selector("body[data-ready]")
    assert await page.is_hidden("#signin")


async def test_drafts_never_keep_a_my_number_and_sign_out_leaves_nothing(
    server: LiveServer, office: Office, browser: Browser, artifacts: Path
) -> None:
    await receive(server, office, move_in())
    page, _ = await open_console(browser, server, demo(office, "operator"))
    await page.keyboard.press("F2")
    await page.wait_for_selector("body[data-mode='entry'] #task:not([hidden])")
    await page.locator(".row[data-path='new_address'] input").fill("熊本市中央区手取本町1-1")
    box = page.locator(".row[data-path='members[0].my_number'] input")
    await box.fill(my_number())
    await box.dispatch_event("input")
    await page.wait_for_function(
        "Object.keys(localStorage).some((k) => k.startsWith('madoguchi.console.draft.') &&"
        " localStorage.getItem(k).includes('手取本町'))"
    )
    stored = await page.evaluate(
        "JSON.stringify({...localStorage}) + JSON.stringify({...sessionStorage})"
    )
    assert my_number() not in stored  # the draft kept the address, not the number
    assert (
        "********" + my_number()[-4:] in stored
    )  # the masked one it came with stands in its place

    await page.click("#signout")
    await page.wait_for_selector("#signin:not([hidden])")
    await page.screenshot(path=artifacts / "console-signin.png")
    local = await page.evaluate("JSON.stringify({...localStorage})")
    assert "draft" not in local and "手取本町" not in local and my_number() not in local
    assert await page.evaluate("sessionStorage.length") == 0
    me = await page.evaluate("fetch('/api/v1/auth/me').then((r) => r.status)")
    assert me == 401  # the session ended on the server too
    work = await page.evaluate("fetch('/api/v1/work/me').then((r) => r.status)")
    assert work == 401


async def test_supervisor_withdraws_an_application_by_id_and_it_shows_withdrawn(
    server: LiveServer, office: Office, browser: Browser, artifacts: Path
) -> None:
    application_id = await receive(server, office, move_in())
    async with server.client(office.token("operator")) as operator:
        held = (await operator.post("/work/claim", json={})).json()
        assert held["application_id"] == application_id
    board, _ = await open_console(browser, server, demo(office, "supervisor"))
    await board.wait_for_selector("#case-form")
    # A reason is required: nothing is sent without one.
    await board.locator("#case-id").fill(application_id)
    await board.locator("#case-withdraw").click()
    assert await application_status(server, office, application_id) == "entry"

    asked: list[str] = []

    async def accept(dialog: Any) -> None:
        asked.append(dialog.message)
        await dialog.accept()

    board.on("dialog", accept)
    await board.locator("#case-reason").focus()
    await board.keyboard.type("申請者から取下げの申出")
    async with board.expect_response(lambda r: r.url.endswith("/withdraw")) as answered:
        await board.keyboard.press("Enter")  # the form's first action: 取下げ
    assert (await answered.value).status == 200
    await board.wait_for_selector("#case-result[data-status='withdrawn']")
    assert "取下げ" in await board.locator("#case-result").inner_text()
    assert asked and application_id in asked[0]
    assert await application_status(server, office, application_id) == "withdrawn"
    # The operator's lease went with it.
    async with server.client(office.token("operator")) as operator:
        beat = await operator.post(
            f"/work/{held['id']}/heartbeat", json={"lease_token": held["lease_token"]}
        )
        assert beat.status_code != 200
    await board.screenshot(path=artifacts / "console-withdraw.png", full_page=True)

    # Reopening is for approved applications only: the answer says why, and changes nothing.
    await board.locator("#case-reason").fill("住所の誤り")
    async with board.expect_response(lambda r: r.url.endswith("/correction")) as refused:
        await board.locator("#case-reopen").click()
    assert (await refused.value).status == 409
    await board.wait_for_selector("#case-result[data-kind='error']")
    assert await application_status(server, office, application_id) == "withdrawn"


async def test_vendor_manager_signs_in_sees_the_returned_task_and_dispatches_it(
    server: LiveServer, office: Office, browser: Browser, artifacts: Path
) -> None:
    vendor_op = office.token("operator_vendor")
    checker = await token(server, office, "operator", "B")
    application_id = await work_to_review(server, office, vendor_op, checker)
    async with server.client(office.token("reviewer")) as reviewer:
        review = (await reviewer.post("/work/claim", json={})).json()
        returned = await reviewer.post(
            f"/work/{review['id']}/submit",
            json={
                "lease_token": review["lease_token"],
                "decision": "return",
                "reason": "続柄を確認",
            },
        )
        assert returned.status_code == 200, returned.text
    board, _ = await open_console(browser, server, demo(office, "vendor_manager"))
    assert await board.get_attribute("body", "data-view") == "board"
    manager = office.data["staff"]["vendor_manager"]
    assert await board.locator("#who-name").inner_text() == manager["name"]
    row = board.locator(f"#vendor-body tr[data-application='{application_id}']")
    await row.wait_for(timeout=10_000)
    assert "続柄を確認" in await row.inner_text()
    # The city's panels are not the manager's.
    assert await board.is_hidden("#kpis") and await board.is_hidden("#case-form")
    # The vendor's operators, with their qualifications to edit; no city operator.
    await board.wait_for_selector("#quals tbody tr")
    assert await board.locator("#quals tbody tr").count() == 2
    assert await board.locator("#quals tbody tr td.all input").count() == 2
    await board.screenshot(path=artifacts / "console-vendor-manager.png", full_page=True)

    async with board.expect_response(lambda r: r.url.endswith("/dispatch")) as dispatched:
        await row.locator("button").focus()
        await board.keyboard.press("Enter")
    assert (await dispatched.value).status == 200
    await row.wait_for(state="detached", timeout=10_000)
    async with server.client(vendor_op) as operator:
        task = (await operator.post("/work/claim", json={})).json()
        assert task["application_id"] == application_id and task["note"] == "続柄を確認"


async def test_reviewer_corrects_a_field_and_the_application_goes_to_verify(
    server: LiveServer, office: Office, browser: Browser, artifacts: Path
) -> None:
    keyer = await token(server, office, "operator", "A")
    checker = await token(server, office, "operator", "B")
    application_id = await work_to_review(server, office, keyer, checker)
    page, _ = await open_console(browser, server, demo(office, "reviewer"))
    await page.keyboard.press("F2")
    await page.wait_for_selector("body[data-mode='review'] .history li")
    assert await page.is_hidden("#submit-problems")

    # F4: the entry form, filled with the stored values; the other decisions wait.
    await page.keyboard.press("F4")
    await page.wait_for_selector("body[data-correcting] .form .row[data-path='move_date'] input")
    assert await page.is_hidden("#approve")
    assert (await focused(page))["path"] == "filing_date"
    stored = await page.input_value(".row[data-path='move_date'] input")
    assert stored
    # Without a reason nothing is sent.
    await page.locator(".row[data-path='move_date'] input").fill("令和8年2月30日")
    await page.keyboard.press("F4")
    await page.wait_for_selector("#reason:focus")
    await page.keyboard.type("転入日の誤記（用紙を再確認）")

    # An impossible date: the answer's problems are shown against the row, nothing changes.
    async with page.expect_response("**/submit") as refused:
        await page.keyboard.press("F4")
    assert (await refused.value).status == 422
    await page.wait_for_selector(".row[data-path='move_date'].has-error")
    await page.wait_for_selector("#submit-problems:not([hidden])")
    assert await application_status(server, office, application_id) == "review"
    await page.screenshot(path=artifacts / "console-correct-problems.png")

    await page.locator(".row[data-path='move_date'] input").fill("令和8年11月17日")
    async with page.expect_response("**/submit") as sent:
        await page.keyboard.press("F9")
    assert (await sent.value).status == 200
    await page.wait_for_selector("body[data-mode='idle'] #message[data-kind='ok']")
    assert "照合" in await page.locator("#message").inner_text()
    assert await application_status(server, office, application_id) == "verify"

    # Only the changed field goes to a blind verify by another person.
    other = await token(server, office, "operator", "C")
    async with server.client(other) as c:
        verify = (await c.post("/work/claim", json={})).json()
        assert verify["kind"] == "verify" and verify["field_keys"] == ["move_date"]
    async with server.client(office.token("supervisor")) as supervisor:
        history = (await supervisor.get(f"/applications/{application_id}")).json()["history"]
    corrected = [e for e in history if e["action"] == "review.correct"]
    assert corrected and corrected[0]["detail"]["corrected"] == ["move_date"]
    assert corrected[0]["detail"]["reason"] == "転入日の誤記（用紙を再確認）"


async def test_reviewer_withdraws_the_application_in_review_with_a_reason(
    server: LiveServer, office: Office, browser: Browser
) -> None:
    keyer = await token(server, office, "operator", "A")
    checker = await token(server, office, "operator", "B")
    application_id = await work_to_review(server, office, keyer, checker)
    page, requests = await open_console(browser, server, demo(office, "reviewer"))
    await page.keyboard.press("F2")
    await page.wait_for_selector("body[data-mode='review'] .history li")
    mark = len(requests.seen)
    # A reason first; then Shift+F7 asks once, and a second Shift+F7 withdraws.
    await page.keyboard.press("Shift+F7")
    await page.wait_for_selector("#reason:focus")
    await page.keyboard.type("申請者から取下げの申出")
    await page.keyboard.press("Shift+F7")
    await page.wait_for_selector("#message[data-kind='warn']")
    assert not [r for r in requests.since(mark) if r[1].endswith("/withdraw")]
    async with page.expect_response("**/withdraw") as answered:
        await page.keyboard.press("Shift+F7")
    assert (await answered.value).status == 200
    await page.wait_for_selector("body[data-mode='idle'] #message[data-kind='ok']")
    assert await application_status(server, office, application_id) == "withdrawn"


async def test_supervisor_reopens_an_approved_application_for_correction_by_id(
    server: LiveServer, office: Office, browser: Browser
) -> None:
    from tests.api.test_withdraw import approve

    application_id = await receive(server, office, move_in())
    keyer = await token(server, office, "operator", "A")
    checker = await token(server, office, "operator", "B")
    await approve(server, office, keyer, checker, office.token("reviewer"))
    assert await application_status(server, office, application_id) == "approved"
    board, _ = await open_console(browser, server, demo(office, "supervisor"))
    await board.locator("#case-id").fill(application_id)
    await board.locator("#case-reason").fill("転居先住所の誤り（申出あり）")
    async with board.expect_response(lambda r: r.url.endswith("/correction")) as answered:
        await board.locator("#case-reopen").focus()
        await board.keyboard.press("Enter")
    assert (await answered.value).status == 200
    await board.wait_for_selector("#case-result[data-status='entry']")
    assert "訂正を開始" in await board.locator("#case-result").inner_text()
    assert await application_status(server, office, application_id) == "entry"
    # The correction starts with an entry task whose note is the reason.
    async with server.client(await token(server, office, "operator", "C")) as c:
        task = (await c.post("/work/claim", json={})).json()
        assert task["application_id"] == application_id
        assert task["note"] == "転居先住所の誤り（申出あり）"
