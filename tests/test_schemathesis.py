"""Schemathesis against /openapi.json of a live server, once per role (issue #8).

A real `madoguchi serve` process on the test database gets the demo office, tickets,
applications with their tasks, a leased task, a sealed vendor batch and an attachment. Then,
for each role's token and with no token at all (two roles at a time), the schemathesis command
runs every operation of the served document: the coverage and fuzzing phases, then stateful
sequences along the links it infers. Every answer must be documented: no 5xx, and a documented
status, content type, body and headers. NDJSON bodies and answers go through
tests/schemathesis_hooks.py. Each role must also get past authorisation on every operation it
may call, so a token that stopped working cannot pass unnoticed.

Path parameters and a few body fields are drawn from those real ids most of the time, so that
requests reach rows, and from anything the schema allows otherwise. Operations a role may not
call are run too, with fewer examples: they must answer a documented 403 (401 without a token).

MADOGUCHI_FUZZ_EXAMPLES: examples per operation in the fuzzing phase (CI's default is small;
release checks use 100 or more). MADOGUCHI_FUZZ_SEED: another seed. `pytest -s` shows the
requests sent per role; a failure shows schemathesis' report and the server's errors.
"""

import asyncio
import json
import os
import re
import sys
from pathlib import Path
from urllib.parse import urlsplit

import httpx2
import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import select

from app.api.deps import RoleGuard
from app.domain.catalogue import load_catalogue
from app.domain.roles import Role
from app.main import create_app
from app.settings import Settings
from app.storage.db import create_engine, make_sessionmaker
from app.storage.tables import Task
from tests.factories import move_in, status_report
from tests.support import Office, seed
from tests.support_process import server_process

EXAMPLES = int(os.environ.get("MADOGUCHI_FUZZ_EXAMPLES", "5"))
SEED = int(os.environ.get("MADOGUCHI_FUZZ_SEED", "8"))
HOOKS = Path(__file__).with_name("schemathesis_hooks.py")
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "response_headers_conformance",
    ]
)

# Absent from the OpenAPI document, so schemathesis cannot drive it.
NOT_FUZZED = {
    "WS /api/v1/ws/offices/{office_id}/lobby": "websocket: tests/realtime/test_lobby_ws.py",
}

# Operations no bearer token gets past (their own tests sign in): tests/api/test_people.py.
NEEDS_A_SESSION = {
    "GET /api/v1/auth/me": "the console's session cookie",
    "POST /api/v1/auth/sso": "the city's SSO proxy and its secret",
}

# Roles run two at a time, in waves. Admin last: it may revoke the spare operator token and
# change the demo contract. The vendor before the supervisor, who may recall the vendor's batch.
WAVES: list[list[str | None]] = [
    [None, "display"],
    ["kiosk", "counter"],
    ["intake", "core"],
    ["operator", "operator_vendor"],
    ["reviewer", "vendor"],
    ["supervisor"],
    ["admin"],
]

# Which generated values come from real rows, and how often.
BINDINGS = {
    "path.office_id": ("office_id", 0.8),
    "path.counter_id": ("counter_id", 0.8),
    "path.ticket_id": ("ticket_id", 0.8),
    "query.key": ("key", 0.8),
    "path.application_id": ("application_id", 0.8),
    "path.task_id": ("task_id", 0.8),
    "path.contract_id": ("contract_id", 0.8),
    "path.batch_id": ("batch_id", 0.8),
    "path.sha256": ("sha256", 0.8),
    "path.token_id": ("token_id", 0.8),
    "body.category": ("category_id", 0.8),
    "body.counter": ("counter_id", 0.5),
    "body.office_id": ("office_id", 0.5),
    "body.procedure": ("procedure", 0.8),
    "body.procedures[*]": ("procedure", 0.8),
    "body.lease_token": ("lease_token", 0.3),
}


def acting_as(role: str | None) -> Role | None:
    """The role a run's token has: ``operator_vendor`` is an operator employed by the vendor."""
    return None if role is None else Role.OPERATOR if role == "operator_vendor" else Role(role)


def route_roles() -> dict[str, frozenset[Role] | None]:
    """ "METHOD /path" of every documented operation → the roles it admits (None: anyone)."""
    app = create_app(Settings(database_url="sqlite+aiosqlite:///:memory:"))
    table: dict[str, frozenset[Role] | None] = {}
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        roles = None
        pending = [route.dependant]
        while pending:
            dependant = pending.pop()
            if isinstance(dependant.call, RoleGuard):
                roles = dependant.call.roles
            pending.extend(dependant.dependencies)
        for method in route.methods:
            table[f"{method} {context.path_format}"] = roles
    return table


async def prepare(base: str, office: Office, database_url: str) -> dict[str, list[str]]:
    """Rows for the fuzzer to reach: tickets, applications and tasks, a batch, an attachment."""

    def client(role: str) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(
            base_url=base + "/api/v1",
            timeout=30,
            headers={"Authorization": f"Bearer {office.token(role)}"},
        )

    async with client("kiosk") as kiosk:
        tickets = [
            (
                await kiosk.post(
                    f"/offices/{office.id}/tickets", json={"category": office.category(p)}
                )
            ).json()
            for p in "AABBC"
        ]
    async with client("intake") as intake:
        applications = [
            (await intake.post("/applications", json=body)).json()["id"]
            for body in (move_in(), status_report("FUZZ-1"), status_report("FUZZ-2"))
        ]
        sha256 = (await intake.post("/attachments", content=b"scan of a residence card")).json()[
            "sha256"
        ]
    async with client("admin") as admin:
        contract = (await admin.get("/admin/vendor-contracts")).json()[0]["id"]
        sealed = (await admin.post(f"/admin/vendor-contracts/{contract}/seal")).json()["batches"]
        spare = (
            await admin.post(
                "/admin/tokens",
                json={"role": "operator", "name": "fuzzed operator", "employer": "city"},
            )
        ).json()["id"]
    async with client("operator") as operator:  # a lease the operator's run can use
        claimed = (await operator.post("/work/claim", json={"kinds": ["entry"]})).json()
    assert sealed, "the demo contract sealed no batch"
    engine = create_engine(database_url)
    async with make_sessionmaker(engine)() as session:
        tasks = list(
            (
                await session.execute(
                    select(Task.id).where(Task.application_id.in_(applications))  # type: ignore[attr-defined]
                )
            ).scalars()
        )
    await engine.dispose()
    first = office.data["offices"][0]
    return {
        "office_id": [office.id],
        "counter_id": [c["id"] for c in first["counters"]],
        "category_id": [c["id"] for c in first["categories"]],
        "ticket_id": [t["id"] for t in tickets],
        "key": [t["public_key"] for t in tickets],
        "application_id": applications,
        "task_id": tasks,
        "contract_id": [contract],
        "batch_id": [b["id"] for b in sealed],
        "sha256": [sha256],
        "token_id": [spare],
        "procedure": list(load_catalogue().codes),
        "lease_token": [claimed["lease_token"]],
    }


def config(ids: dict[str, list[str]], refused: list[str]) -> str:
    """schemathesis.toml for one role's run (JSON strings and arrays are valid TOML)."""
    lines = [
        f"seed = {SEED}",
        "workers = 1",
        "[generation]",
        f"max-examples = {EXAMPLES}",
        'database = "none"',
        # Methods a path does not have answer 405; not worth a request per method and path.
        "[phases.coverage]",
        "unexpected-methods = []",
    ]
    for name, values in ids.items():
        lines += [f"[dictionaries.{name}]", f"values = {json.dumps(values)}"]
    lines.append("[parameters]")
    for key, (name, probability) in BINDINGS.items():
        lines.append(f'"{key}" = {{ dictionary = "{name}", probability = {probability} }}')
    if refused:
        lines += [
            "[[operations]]",
            f"include-name = {json.dumps(refused)}",
            "phases.coverage.enabled = false",
            "generation.max-examples = 2",
        ]
    return "\n".join(lines) + "\n"


async def run_schemathesis(
    base: str, token: str | None, config_path: Path, har: Path, workdir: Path
) -> tuple[int, str]:
    headers = ["-H", f"Authorization: Bearer {token}"] if token else []
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config_path),
        "--no-color",
        "run",
        f"{base}/openapi.json",
        *headers,
        "--checks",
        CHECKS,
        "--report",
        "har",
        "--report-har-path",
        str(har),
        "--output-truncate",
        "false",
        cwd=workdir,
        env={**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, output.decode(errors="replace")


def answers_in(har: Path) -> list[tuple[str, str, int]]:
    """(method, path, status) of every request schemathesis sent."""
    entries = json.loads(har.read_text(encoding="utf-8"))["log"]["entries"]
    return [
        (e["request"]["method"], urlsplit(e["request"]["url"]).path, e["response"]["status"])
        for e in entries
    ]


def operation_of(method: str, path: str, operations: set[str]) -> str | None:
    """The documented operation a request went to; literal segments win over parameters."""
    for operation in sorted(operations, key=lambda op: op.count("{")):
        verb, _, template = operation.partition(" ")
        pattern = re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(template))
        if verb == method and re.fullmatch(pattern, path):
            return operation
    return None


def failures_of(output: str) -> str:
    """The report's ERRORS and FAILURES sections (the whole output when it has neither)."""
    start = min(
        (i for i in (output.find("= ERRORS ="), output.find("= FAILURES =")) if i >= 0), default=0
    )
    end = output.find("= WARNINGS =", start)
    return output[start : end if end > 0 else None][-6000:]


@pytest.mark.timeout(300 + 120 * EXAMPLES)
async def test_every_operation_answers_as_documented_for_every_role(
    clean_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    office = Office(await seed(clean_db))
    table = route_roles()
    log = tmp_path / "server.log"
    attachments = str(tmp_path / "attachments")
    # The what-if simulates a year per request: small cities only here (a few seconds each).
    with server_process(
        clean_db,
        log_path=log,
        MADOGUCHI_ATTACHMENT_DIR=attachments,
        MADOGUCHI_WHATIF__MAX_CASES="1500",
    ) as base:
        documented = json.loads(httpx2.get(base + "/openapi.json").text)["paths"]
        operations = {f"{m.upper()} {p}" for p, ops in documented.items() for m in ops}
        assert operations == set(table), "the served document and the route table disagree"
        assert not set(NOT_FUZZED) & operations
        ids = await prepare(base, office, clean_db)

        async def fuzz(role: str | None) -> tuple[str, int, str, list[tuple[str, str, int]]]:
            name = role or "anonymous"
            refused = sorted(
                op
                for op, roles in table.items()
                if roles is not None and acting_as(role) not in roles
            )
            config_path = tmp_path / f"{name}.toml"
            config_path.write_text(config(ids, refused), encoding="utf-8")
            har = tmp_path / f"{name}.har"
            token = office.token(role) if role else None
            code, output = await run_schemathesis(base, token, config_path, har, tmp_path)
            (tmp_path / f"{name}.out").write_text(output, encoding="utf-8")
            return name, code, output, answers_in(har) if har.exists() else []

        results = []
        for wave in WAVES:
            runs = await asyncio.gather(*(fuzz(role) for role in wave))
            results += zip(wave, runs, strict=True)

    failed = {run[0]: failures_of(run[2]) for _, run in results if run[1] != 0}
    unreached: dict[str, list[str]] = {}
    with capsys.disabled():
        for role, (name, code, _, answers) in results:
            print(f"\nschemathesis as {name}: {len(answers)} requests, exit {code}", end="")
            # The token worked: each operation the role may call answered past authorisation.
            reached = {
                operation_of(method, path, operations)
                for method, path, status in answers
                if status not in (401, 403)
            }
            allowed = {
                op
                for op, roles in table.items()
                if (roles is None or acting_as(role) in roles) and op not in NEEDS_A_SESSION
            }
            if allowed - reached:
                unreached[name] = sorted(allowed - reached)
        print(
            f"\nschemathesis: {sum(len(run[3]) for _, run in results)} requests in all "
            f"(MADOGUCHI_FUZZ_EXAMPLES={EXAMPLES}, seed {SEED})"
        )
    errors = [
        line
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines()
        if "Error" in line and not line.startswith(" ")
    ]
    assert not failed, "\n\n".join(
        [f"--- as {name} ---\n{report}" for name, report in failed.items()]
        + ["--- server log ---", *errors[-40:]]
    )
    assert not unreached, unreached
