"""Fixtures: a migrated database per run (SQLite or PostgreSQL), a live server per test.

MADOGUCHI_TEST_DATABASE_URL selects the database; the default is a SQLite file in a temporary
folder. Every test that uses the database starts from empty tables.
"""

import asyncio
from collections.abc import AsyncIterator

import pytest
from argon2 import PasswordHasher

from app.services import people
from app.storage.migrations import upgrade
from tests.support import (
    LiveServer,
    Office,
    database_url_from_env,
    is_postgres,
    make_settings,
    recreate_database,
    run_server,
    seed,
    truncate_all,
)


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> None:
    """argon2id at its lowest cost for the in-process servers: every demo office seeds five
    passwords, and RFC 9106's profile (64 MiB, three passes) would make that two seconds a test.
    Servers started as separate processes hash at the production cost."""
    people._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    people._DUMMY_HASH = people._hasher.hash("madoguchi: no such person")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not is_postgres(database_url_from_env()):
        for item in items:
            if "postgres" in item.keywords:
                item.add_marker(pytest.mark.skip(reason="runs in the PostgreSQL pass of .ci/run"))


@pytest.fixture(scope="session")
def database_url() -> str:
    url = database_url_from_env()
    asyncio.run(recreate_database(url))
    upgrade(url)
    return url


@pytest.fixture
async def clean_db(database_url: str) -> str:
    await truncate_all(database_url)
    return database_url


@pytest.fixture
async def server(clean_db: str) -> AsyncIterator[LiveServer]:
    async with run_server(make_settings(clean_db)) as live:
        yield live


@pytest.fixture
async def office(server: LiveServer) -> Office:
    return Office(await seed(server.settings.database_url, "431001"))


@pytest.fixture
async def other_office(server: LiveServer) -> Office:
    return Office(await seed(server.settings.database_url, "131211"))
