"""The vendor's command against a live server, and the city's `madoguchi` commands for vendors."""

import asyncio
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2

from clients.vendor.cli import VendorClient
from tests.factories import status_report
from tests.support import LiveServer, Office


async def vendor_cli(
    server: LiveServer, token: str, folder: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "clients.vendor.cli",
        "--dir",
        str(folder),
        *args,
        env={**os.environ, "MADOGUCHI_VENDOR_URL": server.url, "MADOGUCHI_VENDOR_TOKEN": token},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, error = await asyncio.wait_for(process.communicate(), 120)
    return subprocess.CompletedProcess(args, process.returncode or 0, out.decode(), error.decode())


def madoguchi(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        env={**os.environ, "MADOGUCHI_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def interrupt(path: Path, kept: int) -> bytes:
    """Leave a download as an interruption would: the first bytes in the part file."""
    whole = path.read_bytes()
    path.unlink()
    path.with_name(path.name + ".part").write_bytes(whole[:kept])
    return whole


def read(path: Path) -> bytes:
    return path.read_bytes()


def corrected(items_file: Path, results: Path) -> Path:
    """What the vendor keys: every item, the misread 花了 corrected to 花子."""
    lines = []
    for raw in items_file.read_text(encoding="utf-8").splitlines():
        item = json.loads(raw)
        values = {
            **item["values"],
            "claimant_name": item["values"]["claimant_name"].replace("花了", "花子"),
        }
        lines.append(
            json.dumps({"item": item["item"], "values": values}, ensure_ascii=False) + "\n"
        )
    results.write_text("".join(lines), encoding="utf-8")
    return results


async def test_the_vendor_command_pulls_verifies_resumes_and_pushes_results_to_verification(
    server: LiveServer, office: Office, tmp_path: Path
) -> None:
    database = server.settings.database_url
    async with server.client(office.token("intake")) as intake:
        for name in ("佐藤 花了", "鈴木 一郎", "髙橋 ①子"):
            body = status_report()
            body["fields"]["claimant_name"] = name
            assert (await intake.post("/applications", json=body)).status_code == 201
    contract = await asyncio.to_thread(
        madoguchi,
        database,
        "admin",
        "vendor-contract",
        "--municipality",
        "431001",
        "--vendor-name",
        "入力センター",
        "--procedure",
        "child_rearing.status_report",
        "--field",
        "claimant_name",
        "--field",
        "children[].name",
        "--encoding",
        "cp932",
        "--encoding",
        "utf-8",
    )
    assert contract.returncode == 0, contract.stderr
    contract_id = contract.stdout.strip()
    issued = await asyncio.to_thread(
        madoguchi,
        database,
        "token",
        "create",
        "--municipality",
        "431001",
        "--role",
        "vendor",
        "--name",
        "入力センター system",
        "--contract",
        contract_id,
    )
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.strip()
    sealed = await asyncio.to_thread(
        madoguchi, database, "batches", "seal", "--contract", contract_id
    )
    assert sealed.returncode == 0, sealed.stderr
    [report] = [json.loads(line) for line in sealed.stdout.splitlines()]
    [batch] = report["batches"]
    assert batch["items"] == 3 and report["held_back"] == []

    listed = await vendor_cli(server, token, tmp_path, "list", "--json")
    assert [json.loads(line)["id"] for line in listed.stdout.splitlines()] == [batch["id"]], (
        listed.stderr
    )
    pulled = await vendor_cli(
        server, token, tmp_path, "pull", batch["id"], "--format", "csv", "--encoding", "cp932"
    )
    assert pulled.returncode == 0, pulled.stderr
    path = Path(pulled.stdout.strip())
    assert "SHA-256 verified" in pulled.stderr
    whole = interrupt(path, 40)
    assert "髙橋 ①子" in whole.decode("cp932")
    resumed = await vendor_cli(
        server, token, tmp_path, "pull", batch["id"], "--format", "csv", "--encoding", "cp932"
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming at byte 40" in resumed.stderr and read(path) == whole

    jsonl = await vendor_cli(server, token, tmp_path, "pull", batch["id"])
    results = corrected(Path(jsonl.stdout.strip()), tmp_path / "results.ndjson")
    pushed = await vendor_cli(server, token, tmp_path, "push", batch["id"], str(results))
    assert pushed.returncode == 0, pushed.stderr
    assert [json.loads(line)["status"] for line in pushed.stdout.splitlines()] == ["accepted"] * 3
    again = await vendor_cli(server, token, tmp_path, "push", batch["id"], str(results))
    assert [json.loads(line)["status"] for line in again.stdout.splitlines()] == ["duplicate"] * 3
    acked = await vendor_cli(server, token, tmp_path, "ack", batch["id"])
    assert json.loads(acked.stdout)["state"] == "acknowledged", acked.stderr

    # The items reach verification by city staff.
    verified: set[str] = set()
    async with server.client(office.token("operator")) as operator:
        while (
            task := await operator.post("/work/claim", json={"kinds": ["verify"]})
        ).status_code == 200:
            verified.add(task.json()["application_id"])
    assert len(verified) == 3
    async with server.client(office.token("reviewer")) as reviewer:
        detail = (await reviewer.get(f"/applications/{sorted(verified)[0]}")).json()
    assert detail["status"] == "verify"
    listed_again = await asyncio.to_thread(
        madoguchi, database, "batches", "list", "--municipality", "431001"
    )
    assert json.loads(listed_again.stdout)["state"] == "acknowledged"


def test_a_contract_on_a_non_vendor_token_is_refused(clean_db: str) -> None:
    seeded = json.loads(madoguchi(clean_db, "seed-demo", "--json").stdout)
    contract_id = seeded["vendor_contracts"][0]["id"]
    refused = madoguchi(
        clean_db,
        "token",
        "create",
        "--municipality",
        "431001",
        "--role",
        "intake",
        "--name",
        "x",
        "--contract",
        contract_id,
    )
    assert refused.returncode == 2 and refused.stdout == "" and "vendor" in refused.stderr
    unknown = madoguchi(
        clean_db,
        "token",
        "create",
        "--municipality",
        "431001",
        "--role",
        "vendor",
        "--name",
        "x",
        "--contract",
        "nope",
    )
    assert unknown.returncode == 2 and unknown.stdout == ""


# ---- the client against a flaky network -----------------------------------------------------

CONTENT = "".join(f"{n},髙橋 {n}\r\n" for n in range(2000)).encode("cp932")
SHA = hashlib.sha256(CONTENT).hexdigest()
GRANT: dict[str, Any] = {
    "lease_token": "L",
    "lease_expires_at": "2099-01-01T00:00:00+00:00",
    "manifest": {
        "files": [{"format": "csv", "encoding": "cp932", "sha256": SHA, "bytes": len(CONTENT)}]
    },
}


class Breaking(httpx2.SyncByteStream):
    """A body that drops the connection after ``cut`` bytes."""

    def __init__(self, data: bytes, cut: int) -> None:
        self.data, self.cut = data, cut

    def __iter__(self) -> Iterator[bytes]:
        yield self.data[: self.cut]
        raise httpx2.ReadError("connection reset")


def test_a_dropped_connection_is_resumed_with_a_range_request_and_verified(tmp_path: Path) -> None:
    ranges: list[str | None] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        ranges.append(request.headers.get("range"))
        assert request.headers["lease-token"] == "L"
        if "range" not in request.headers:
            return httpx2.Response(200, stream=Breaking(CONTENT, 5000))
        assert request.headers["if-range"] == f'"{SHA}"'
        start = int(request.headers["range"].removeprefix("bytes=").rstrip("-"))
        return httpx2.Response(206, content=CONTENT[start:])

    with httpx2.Client(
        transport=httpx2.MockTransport(handler), base_url="http://city/api/v1"
    ) as http:
        path = VendorClient(http, tmp_path).download("b1", "csv", "cp932", GRANT)
    assert path.read_bytes() == CONTENT and ranges == [None, "bytes=5000-"]


def test_a_corrupt_copy_is_fetched_again_from_the_start(tmp_path: Path) -> None:
    served: list[str | None] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        served.append(request.headers.get("range"))
        if "range" in request.headers:
            start = int(request.headers["range"].removeprefix("bytes=").rstrip("-"))
            return httpx2.Response(206, content=CONTENT[start:])
        return httpx2.Response(200, content=CONTENT)

    folder = tmp_path / "b1"
    folder.mkdir()
    (folder / "items.cp932.csv.part").write_bytes(b"garbage!" * 10)  # not the file's first bytes
    with httpx2.Client(
        transport=httpx2.MockTransport(handler), base_url="http://city/api/v1"
    ) as http:
        path = VendorClient(http, tmp_path).download("b1", "csv", "cp932", GRANT)
    assert path.read_bytes() == CONTENT and served == ["bytes=80-", None]
