"""Staff are people: sign-in, sessions, CSRF, the SSO proxy, four eyes per person (issue 15.3)."""

import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import httpx2
from sqlalchemy import select

from app.domain.clock import SystemClock
from app.domain.roles import Employer, Role
from app.services import admin, people
from app.services.uow import UnitOfWork
from app.settings import AuthSettings
from app.storage.db import create_engine, make_sessionmaker
from app.storage.tables import AccessLog, EventLog, StaffSession, Task
from tests.api.test_work_queue import (
    blind_answers,
    claim,
    entry_values,
    receive,
    submit,
    token,
    warnings_of,
)
from tests.factories import move_in
from tests.support import LiveServer, Office, make_settings, run_server, seed
from tests.support_thread import FakeClock

PASSWORD = "correct horse battery"
T = TypeVar("T")


async def in_db(server: LiveServer, work: Callable[[UnitOfWork], Awaitable[T]]) -> T:
    engine = create_engine(server.settings.database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            uow = UnitOfWork(session, clock=SystemClock(), settings=server.settings)
            result = await work(uow)
            await uow.commit()
            return result
    finally:
        await engine.dispose()


async def add_person(
    server: LiveServer,
    office: Office,
    staff_id: str,
    name: str,
    role: Role = Role.OPERATOR,
    employer: Employer = Employer.CITY,
    **extra: Any,
) -> str:
    extra.setdefault("password", PASSWORD)

    async def work(uow: UnitOfWork) -> str:
        person = await people.create_staff(
            uow,
            office.data["municipality"],
            staff_id=staff_id,
            name=name,
            role=role,
            employer=employer,
            **extra,
        )
        return person.id

    return await in_db(server, work)


async def person_token(server: LiveServer, office: Office, staff_id: str) -> str:
    """A second credential of a person: a bearer token linked to them."""
    code = office.data["municipality"]

    async def work(uow: UnitOfWork) -> str:
        person = await people.get_staff(uow, code, staff_id)
        issued = await admin.create_token(
            uow,
            code,
            role=Role(person.role),
            name=f"{person.name} token",
            employer=Employer(person.employer),
        )
        await people.link_token(uow, issued.token, code, staff_id)
        return issued.secret

    return await in_db(server, work)


@contextlib.asynccontextmanager
async def signed_in(
    server: LiveServer, office: Office, staff_id: str, password: str = PASSWORD
) -> AsyncIterator[httpx2.AsyncClient]:
    """A client holding a console session: the cookie, and the CSRF header the console sends."""
    async with server.client() as client:
        response = await client.post(
            "/auth/login",
            json={
                "municipality": office.data["municipality"],
                "staff_id": staff_id,
                "password": password,
            },
        )
        assert response.status_code == 200, response.text
        client.headers["X-Madoguchi-CSRF"] = response.json()["csrf_token"]
        yield client


async def events(server: LiveServer, action: str) -> list[EventLog]:
    async def work(uow: UnitOfWork) -> list[EventLog]:
        return list(
            (
                await uow.session.execute(
                    select(EventLog).where(EventLog.action == action).order_by(EventLog.id)  # type: ignore[arg-type]
                )
            ).scalars()
        )

    return await in_db(server, work)


async def test_sign_in_me_and_sign_out(server: LiveServer, office: Office) -> None:
    person = await add_person(server, office, "K-0042", "窓口 花子")
    async with server.client() as client:
        response = await client.post(
            "/auth/login",
            json={"municipality": "431001", "staff_id": "K-0042", "password": PASSWORD},
        )
        assert response.status_code == 200, response.text
        cookie = response.headers["set-cookie"]
        # Only a random id, no script can read it, no other site sends it; not Secure over http.
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/api/v1" in cookie
        assert "Secure" not in cookie and PASSWORD not in cookie and person not in cookie
        body = response.json()
        assert (
            body["person_id"] == person
            and body["name"] == "窓口 花子"
            and body["role"] == "operator"
        )
        assert response.headers["cache-control"] == "no-store"
        secret = client.cookies["madoguchi_session"]

        me = await client.get("/auth/me")
        assert me.status_code == 200 and me.json()["csrf_token"] == body["csrf_token"]
        work_me = (await client.get("/work/me")).json()
        assert work_me["person_id"] == person and work_me["name"] == "窓口 花子"

        refused = await client.post("/auth/logout")  # no CSRF header: another site's form
        assert refused.status_code == 403 and refused.json()["code"] == "not_allowed"
        assert (await client.get("/auth/me")).status_code == 200

        out = await client.post("/auth/logout", headers={"X-Madoguchi-CSRF": body["csrf_token"]})
        assert out.status_code == 204
        assert "madoguchi_session" not in client.cookies
    # The old cookie is dead on the server, not only forgotten by the browser.
    async with server.client() as replay:
        replay.cookies.set("madoguchi_session", secret, path="/api/v1")
        assert (await replay.get("/auth/me")).status_code == 401
        assert (await replay.get("/work/me")).status_code == 401
    assert [e.entity_id for e in await events(server, "login")] == [person]
    assert [e.actor_id for e in await events(server, "logout")] == [person]


async def test_wrong_password_is_logged_and_locks_the_person_out(
    server: LiveServer, office: Office
) -> None:
    await add_person(server, office, "K-0007", "鈴木 一郎")
    async with server.client() as client:
        unknown = await client.post(
            "/auth/login",
            json={"municipality": "431001", "staff_id": "nobody", "password": "whatever-password"},
        )
        assert unknown.status_code == 401
        for _ in range(AuthSettings().max_failures):
            wrong = await client.post(
                "/auth/login",
                json={
                    "municipality": "431001",
                    "staff_id": "K-0007",
                    "password": "not-the-password",
                },
            )
            assert wrong.status_code == 401
            # The same answer as an unknown staff number: nothing tells which one was wrong.
            assert wrong.json()["detail"] == unknown.json()["detail"]
        locked = await client.post(
            "/auth/login",
            json={"municipality": "431001", "staff_id": "K-0007", "password": PASSWORD},
        )
        assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 60
        assert "madoguchi_session" not in client.cookies
        bad = await client.post(
            "/auth/login", json={"municipality": "43", "staff_id": "", "password": ""}
        )
        assert bad.status_code == 422
        assert {e["field"] for e in bad.json()["errors"]} == {
            "municipality",
            "staff_id",
            "password",
        }
    async with server.client(office.token("supervisor")) as supervisor:
        report = (await supervisor.get("/auth/failures")).json()
    assert [r["reason"] for r in report][:2] == ["locked", "wrong_password_locked"]
    assert report[-1] == {**report[-1], "staff_id": "nobody", "person_id": None}
    async with server.client(office.token("operator")) as operator:
        assert (await operator.get("/auth/failures")).status_code == 403
    failed = await events(server, "login_failed")
    reasons = [(e.data or {}).get("reason") for e in failed]
    assert reasons == [
        "unknown_staff",
        "wrong_password",
        "wrong_password",
        "wrong_password",
        "wrong_password",
        "wrong_password_locked",
        "locked",
    ]
    assert all(e.municipality_code == "431001" for e in failed)
    dumped = json.dumps([e.data for e in failed], ensure_ascii=False)
    assert "not-the-password" not in dumped and PASSWORD not in dumped


async def test_session_ends_after_idle_time_and_lifetime(clean_db: str) -> None:
    clock = FakeClock()
    auth = AuthSettings(idle_timeout_s=600, session_ttl_s=3600)
    async with run_server(make_settings(clean_db, auth=auth), clock=clock) as server:
        office = Office(await seed(clean_db, "431001"))
        await add_person(server, office, "K-1", "時間 切子")
        async with signed_in(server, office, "K-1") as client:
            clock.advance(500)
            assert (
                await client.get("/work/me")
            ).status_code == 200  # used: the idle clock restarts
            clock.advance(500)
            assert (await client.get("/work/me")).status_code == 200
            clock.advance(601)
            ended = await client.get("/work/me")
            assert ended.status_code == 401 and "sign in again" in ended.json()["detail"]
        async with signed_in(server, office, "K-1") as client:
            for _ in range(8):  # busy all along, but the session's lifetime is over after an hour
                clock.advance(500)
                response = await client.get("/work/me")
            assert response.status_code == 401


async def test_cookie_requests_that_change_something_need_the_csrf_header(
    server: LiveServer, office: Office
) -> None:
    await receive(server, office, move_in())
    await add_person(server, office, "K-2", "入力 二郎")
    async with signed_in(server, office, "K-2") as client:
        csrf = client.headers.pop("X-Madoguchi-CSRF")
        refused = await client.post("/work/claim", json={})
        assert refused.status_code == 403 and "X-Madoguchi-CSRF" in refused.json()["detail"]
        wrong = await client.post("/work/claim", json={}, headers={"X-Madoguchi-CSRF": "x" + csrf})
        assert wrong.status_code == 403

        async def leased() -> int:
            async def work(uow: UnitOfWork) -> int:
                return len(
                    list(
                        (
                            await uow.session.execute(
                                select(Task.id).where(Task.status == "leased")
                            )
                        ).scalars()
                    )
                )

            return await in_db(server, work)

        assert await leased() == 0  # refused means nothing happened
        assert (await client.get("/work/me")).status_code == 200  # reads need no header
        claimed = await client.post("/work/claim", json={}, headers={"X-Madoguchi-CSRF": csrf})
        assert claimed.status_code == 200, claimed.text
        assert await leased() == 1


async def test_sso_header_is_trusted_only_with_the_proxy_secret(clean_db: str) -> None:
    auth = AuthSettings(sso_header="X-Forwarded-User", sso_secret="proxy-shared-secret-1")
    async with run_server(make_settings(clean_db, auth=auth)) as server:
        office = Office(await seed(clean_db, "431001"))
        person = await add_person(
            server,
            office,
            "K-3",
            "統合 認証",
            role=Role.REVIEWER,
            sso_subject="k3@city.example.lg.jp",
            password=None,
        )
        async with server.client() as client:
            forged = await client.post(
                "/auth/sso", headers={"X-Forwarded-User": "k3@city.example.lg.jp"}
            )
            assert forged.status_code == 401
            wrong = await client.post(
                "/auth/sso",
                headers={
                    "X-Forwarded-User": "k3@city.example.lg.jp",
                    "X-Madoguchi-Proxy-Secret": "guess",
                },
            )
            assert wrong.status_code == 401 and "madoguchi_session" not in client.cookies
            unknown = await client.post(
                "/auth/sso",
                headers={
                    "X-Forwarded-User": "other@city.example.lg.jp",
                    "X-Madoguchi-Proxy-Secret": "proxy-shared-secret-1",
                },
            )
            assert unknown.status_code == 401
            ok = await client.post(
                "/auth/sso",
                headers={
                    "X-Forwarded-User": "k3@city.example.lg.jp",
                    "X-Madoguchi-Proxy-Secret": "proxy-shared-secret-1",
                },
            )
            assert ok.status_code == 200, ok.text
            assert ok.json()["person_id"] == person and ok.json()["method"] == "sso"
            assert "HttpOnly" in ok.headers["set-cookie"]
            me = (await client.get("/work/me")).json()
            assert me["person_id"] == person and me["role"] == "reviewer"
            # A person with no password cannot sign in with one.
            none = await client.post(
                "/auth/login",
                json={"municipality": "431001", "staff_id": "K-3", "password": "anything-at-all"},
            )
            assert none.status_code == 401
    # Without SSO configured, the header means nothing at all.
    async with run_server(make_settings(clean_db)) as plain, plain.client() as client:
        ignored = await client.post(
            "/auth/sso",
            headers={
                "X-Forwarded-User": "k3@city.example.lg.jp",
                "X-Madoguchi-Proxy-Secret": "proxy-shared-secret-1",
            },
        )
        assert ignored.status_code == 401


async def test_four_eyes_hold_across_two_tokens_of_one_person(
    server: LiveServer, office: Office
) -> None:
    """The reproduced bug: one person with two tokens keyed and verified the same application."""
    await receive(server, office, move_in())
    person = await add_person(server, office, "K-10", "二枚 持子")
    await add_person(server, office, "K-11", "別人 照子")
    first, second = (
        await person_token(server, office, "K-10"),
        await person_token(server, office, "K-10"),
    )
    other = await person_token(server, office, "K-11")
    async with (
        server.client(first) as a,
        server.client(second) as a_again,
        server.client(other) as b,
    ):
        me = (await a_again.get("/work/me")).json()
        assert me["person_id"] == person and me["name"] == "二枚 持子"
        entry = await claim(a)
        assert entry is not None and entry["kind"] == "entry"
        assert (await submit(a, entry, values=entry_values(entry))).status_code == 200
        assert (
            await claim(a_again) is None
        )  # the same person, by their other token: not the verifier
        verify = await claim(b)
        assert verify is not None and verify["kind"] == "verify"
        assert (await submit(b, verify, values=blind_answers(verify))).status_code == 200


async def test_a_reviewer_who_corrected_reviews_it_again_by_none_of_their_tokens(
    server: LiveServer, office: Office
) -> None:
    """Four eyes by person: whoever keyed, verified or corrected never takes the next step."""
    application_id = await receive(server, office, move_in())
    operators = [await token(server, office, "operator", n) for n in "ABC"]
    await add_person(server, office, "K-40", "訂正 審子", role=Role.REVIEWER)
    first, second = (
        await person_token(server, office, "K-40"),
        await person_token(server, office, "K-40"),
    )
    async with (
        server.client(operators[0]) as a,
        server.client(operators[1]) as b,
        server.client(operators[2]) as c,
        server.client(first) as reviewer,
        server.client(second) as reviewer_again,
        server.client(office.token("reviewer")) as other_reviewer,
    ):
        entry = await claim(a)
        assert entry is not None
        assert (await submit(a, entry, values=entry_values(entry))).status_code == 200
        verify = await claim(b)
        assert verify is not None
        assert (await submit(b, verify, values=blind_answers(verify))).status_code == 200
        review = await claim(reviewer)
        assert review is not None and review["application_id"] == application_id
        corrected = await submit(
            reviewer,
            review,
            decision="correct",
            reason="原本で確認",
            values={"previous_address": "福岡市博多区博多駅前3丁目"},
        )
        assert corrected.json()["application_status"] == "verify", corrected.text
        # The keyer and the first verifier handled it: the correction goes to a third operator.
        assert await claim(a) is None and await claim(b) is None
        check = await claim(c)
        assert check is not None and check["field_keys"] == ["previous_address"]
        matched = await submit(c, check, values={"previous_address": "福岡市博多区博多駅前3丁目"})
        assert matched.json()["application_status"] == "review", matched.text
        # The corrector, by either of their tokens, does not review their own correction.
        assert await claim(reviewer_again) is None
        assert await claim(reviewer) is None
        again = await claim(other_reviewer)
        assert again is not None and again["application_id"] == application_id
        approved = await submit(
            other_reviewer, again, decision="approve", acknowledge=warnings_of(again)
        )
        assert approved.json()["application_status"] == "approved", approved.text


async def test_four_eyes_hold_across_a_token_and_a_session_and_the_logs_name_the_person(
    server: LiveServer, office: Office
) -> None:
    application_id = await receive(server, office, move_in())
    person = await add_person(server, office, "K-20", "入力 照合子")
    token = await person_token(server, office, "K-20")
    async with server.client(token) as by_token:
        entry = await claim(by_token)
        assert entry is not None
        assert (await submit(by_token, entry, values=entry_values(entry))).status_code == 200
    async with signed_in(server, office, "K-20") as by_session:
        assert await claim(by_session) is None
        shown = await by_session.get(f"/applications/{application_id}")
        assert shown.status_code == 200, shown.text

    async def rows(uow: UnitOfWork) -> list[AccessLog]:
        return list(
            (
                await uow.session.execute(
                    select(AccessLog).where(AccessLog.entity_id == application_id)
                )
            ).scalars()
        )

    logged = await in_db(server, rows)
    assert logged and {row.actor_id for row in logged} == {person}
    async with server.client(office.token("supervisor")) as supervisor:
        page = (await supervisor.get("/access-log", params={"actor_id": person})).json()
        assert page["items"] and {i["actor_name"] for i in page["items"]} == {"入力 照合子"}


async def test_a_persons_qualifications_and_deactivation_reach_every_credential(
    server: LiveServer, office: Office
) -> None:
    await receive(server, office, move_in())
    person = await add_person(server, office, "K-30", "資格 変子")
    token = await person_token(server, office, "K-30")
    async with server.client(office.token("supervisor")) as supervisor:
        listed = {o["id"]: o for o in (await supervisor.get("/work/operators")).json()}
        # The person is listed once, by person; their token is not a second operator.
        assert listed[person]["staff_id"] == "K-30" and listed[person]["token_id"] is None
        assert not [o for o in listed.values() if o["name"] == "資格 変子 token"]
        moved = await supervisor.put(
            f"/work/operators/{person}/qualifications", json=["child_allowance.claim"]
        )
        assert moved.status_code == 200, moved.text
    async with server.client(token) as by_token, signed_in(server, office, "K-30") as by_session:
        assert (await by_token.get("/work/me")).json()["qualifications"] == [
            "child_allowance.claim"
        ]
        assert (await by_session.get("/work/me")).json()["qualifications"] == [
            "child_allowance.claim"
        ]
        assert await claim(by_session) is None  # the 転入届 is not theirs any more

        await in_db(server, lambda uow: people.deactivate(uow, "431001", "K-30"))
        assert (await by_session.get("/work/me")).status_code == 401
    # A token is remembered for token_cache_s; after that a deactivated person's token is dead.
    async with (
        run_server(make_settings(server.settings.database_url, token_cache_s=0)) as fresh,
        fresh.client(token) as by_token,
    ):
        assert (await by_token.get("/work/me")).status_code == 401

    async def sessions(uow: UnitOfWork) -> list[StaffSession]:
        return list((await uow.session.execute(select(StaffSession))).scalars())

    assert all(s.revoked_at is not None for s in await in_db(server, sessions))


async def test_sso_header_from_a_listed_proxy_address_only(clean_db: str) -> None:
    subject = {"X-Forwarded-User": "k4@city.example.lg.jp"}
    for proxies, expected in ((["10.0.0.0/8"], 401), (["127.0.0.1/32"], 200)):
        auth = AuthSettings(sso_header="X-Forwarded-User", sso_trusted_proxies=proxies)
        async with run_server(make_settings(clean_db, auth=auth)) as server:
            office = Office(await seed(clean_db, "431001"))
            if expected == 401:
                await add_person(
                    server, office, "K-4", "代理 経由", sso_subject=subject["X-Forwarded-User"]
                )
            async with server.client() as client:
                response = await client.post("/auth/sso", headers=subject)
                assert response.status_code == expected, (proxies, response.text)
