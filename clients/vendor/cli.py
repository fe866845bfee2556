"""``madoguchi-vendor``: the outsourcing partner's command for the city's batch API.

    madoguchi-vendor list                      # batches ready for us
    madoguchi-vendor pull BATCH --format csv --encoding cp932
    madoguchi-vendor push BATCH results.ndjson # {"item": …, "values": {…}} per line
    madoguchi-vendor ack BATCH

``--url`` and ``--token`` default to MADOGUCHI_VENDOR_URL and MADOGUCHI_VENDOR_TOKEN. Each batch
gets a folder under ``--dir`` holding its lease (``lease.json``) and its files.

Resuming: a sealed batch never changes and the manifest gives each file's SHA-256, so an
interrupted download is continued with an HTTP Range request (``If-Range`` on the file's ETag,
the checksum) from the bytes already on disk, and the whole file is verified at the end. A file
that fails the check is deleted and fetched once more from the start.
"""

import hashlib
import json
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import httpx2
import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Pull batches from Madoguchi, push results back",
)
err = Console(stderr=True)
ATTEMPTS = 5
RENEW_MARGIN = timedelta(seconds=30)


class Failed(Exception):
    """The service said no, or a file could not be verified."""


class VendorClient:
    """The batch API over one HTTP client (its transport is the test seam)."""

    def __init__(self, http: httpx2.Client, folder: Path) -> None:
        self.http = http
        self.folder = folder

    def _check(self, response: httpx2.Response) -> Any:
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            raise Failed(f"{response.status_code}: {detail}")
        return response.json()

    def batch_folder(self, batch: str) -> Path:
        path = self.folder / batch
        path.mkdir(parents=True, exist_ok=True)
        return path

    def saved_lease(self, batch: str) -> dict[str, Any] | None:
        path = self.folder / batch / "lease.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None

    def list(self, state: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            page = self._check(
                self.http.get(
                    "/vendor/batches",
                    params={"state": state, **({"cursor": cursor} if cursor else {})},
                )
            )
            items += page["items"]
            if not (cursor := page["next_cursor"]):
                return items

    def lease(self, batch: str) -> dict[str, Any]:
        """Renew the lease we hold if it is still good, else take a new one; kept in lease.json."""
        saved = self.saved_lease(batch)
        grant = None
        if saved and datetime.fromisoformat(saved["lease_expires_at"]) > datetime.now(UTC):
            response = self.http.post(
                f"/vendor/batches/{batch}/lease", headers={"Lease-Token": saved["lease_token"]}
            )
            grant = self._check(response) if response.status_code != 409 else None
        if grant is None:
            grant = self._check(self.http.post(f"/vendor/batches/{batch}/lease"))
        (self.batch_folder(batch) / "lease.json").write_text(
            json.dumps(grant, ensure_ascii=False, indent=1), encoding="utf-8"
        )
        return grant

    def token(self, batch: str) -> str:
        saved = self.saved_lease(batch)
        if saved is None:
            raise Failed(f"no lease for {batch}: run `madoguchi-vendor pull {batch}` first")
        return str(saved["lease_token"])

    def download(self, batch: str, fmt: str, encoding: str, grant: dict[str, Any]) -> Path:
        """The file, resumed from what is on disk, verified against the manifest's SHA-256."""
        info = next(
            (
                f
                for f in grant["manifest"]["files"]
                if f["format"] == fmt and f["encoding"] == encoding
            ),
            None,
        )
        if info is None:
            raise Failed(f"the contract offers no {fmt} in {encoding}")
        final = self.batch_folder(batch) / f"items.{encoding}.{fmt}"
        if final.exists() and sha256_of(final) == info["sha256"]:
            err.print(f"already here and verified: {final}")
            return final
        part = final.with_name(final.name + ".part")
        for attempt in range(1, ATTEMPTS + 1):
            try:
                self._fetch(batch, fmt, encoding, info, part, grant["lease_token"])
            except httpx2.TransportError as error:
                err.print(
                    f"interrupted ({type(error).__name__}); "
                    f"resuming (attempt {attempt + 1} of {ATTEMPTS})"
                )
                time.sleep(min(2**attempt * 0.1, 2))
                continue
            if sha256_of(part) == info["sha256"]:
                part.replace(final)
                err.print(f"SHA-256 verified: {info['sha256']}")
                return final
            err.print("checksum mismatch: downloading the whole file again")
            part.unlink()
        raise Failed(f"could not fetch a verified copy of {batch} ({fmt}, {encoding})")

    def _fetch(
        self, batch: str, fmt: str, encoding: str, info: dict[str, Any], part: Path, token: str
    ) -> None:
        size = info["bytes"]
        have = part.stat().st_size if part.exists() else 0
        if have > size:
            part.unlink()
            have = 0
        if have == size:
            return
        headers = {"Lease-Token": token}
        if have:
            headers |= {"Range": f"bytes={have}-", "If-Range": f'"{info["sha256"]}"'}
        params = {"format": fmt, "encoding": encoding}
        with self.http.stream(
            "GET", f"/vendor/batches/{batch}/items", params=params, headers=headers
        ) as response:
            if response.status_code >= 400:
                response.read()
                self._check(response)
            if response.status_code == 206:
                err.print(f"resuming at byte {have:,} of {size:,}")
            else:
                have = 0
            with progress() as bar, part.open("ab" if have else "wb") as out:
                task = bar.add_task(f"{batch[:8]} {fmt}/{encoding}", total=size, completed=have)
                for chunk in response.iter_bytes():
                    out.write(chunk)
                    bar.advance(task, len(chunk))

    def push(self, batch: str, lines: Iterator[bytes]) -> Iterator[dict[str, Any]]:
        """Results up, one answer per line back, both streamed."""
        headers = {"Lease-Token": self.token(batch), "Content-Type": "application/x-ndjson"}
        with self.http.stream(
            "POST", f"/vendor/batches/{batch}/results", content=lines, headers=headers
        ) as response:
            if response.status_code >= 400:
                response.read()
                self._check(response)
            for raw in response.iter_lines():
                if raw.strip():
                    yield json.loads(raw)

    def ack(self, batch: str) -> dict[str, Any]:
        answer = self._check(
            self.http.post(
                f"/vendor/batches/{batch}/ack", headers={"Lease-Token": self.token(batch)}
            )
        )
        (self.folder / batch / "lease.json").unlink(missing_ok=True)
        return answer  # type: ignore[no-any-return]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=err,
        disable=not err.is_terminal,
        transient=True,
    )


def file_lines(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        for line in handle:
            yield line if line.endswith(b"\n") else line + b"\n"


# ---- the command ----------------------------------------------------------------------------

State: dict[str, Any] = {}


@app.callback()
def options(
    url: Annotated[
        str, typer.Option(envvar="MADOGUCHI_VENDOR_URL", help="The city's service")
    ] = "http://127.0.0.1:8000",
    token: Annotated[
        str, typer.Option(envvar="MADOGUCHI_VENDOR_TOKEN", help="Our vendor token")
    ] = "",
    folder: Annotated[Path, typer.Option("--dir", help="Where leases and files are kept")] = Path(
        "madoguchi-batches"
    ),
) -> None:
    State.update(url=url.rstrip("/"), token=token, folder=folder)


def client() -> VendorClient:
    if not State["token"]:
        err.print("error: give --token or MADOGUCHI_VENDOR_TOKEN")
        raise typer.Exit(2)
    http = httpx2.Client(
        base_url=State["url"] + "/api/v1",
        timeout=httpx2.Timeout(60, read=600),
        headers={"Authorization": f"Bearer {State['token']}"},
    )
    return VendorClient(http, State["folder"])


def run(work: Any) -> Any:
    vendor = client()
    try:
        return work(vendor)
    except Failed as error:
        err.print(f"error: {error}")
        raise typer.Exit(2) from None
    finally:
        vendor.http.close()


@app.command("list")
def list_batches(
    state: Annotated[
        str, typer.Option(help="ready, leased, acknowledged, recalled or all")
    ] = "ready",
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line")] = False,
) -> None:
    """The batches sealed for our contract."""
    for batch in run(lambda c: c.list(state)):
        if as_json:
            sys.stdout.write(json.dumps(batch, ensure_ascii=False) + "\n")
        else:
            sys.stdout.write(
                f"{batch['id']}  {batch['state']:<12} {batch['procedure']:<45} "
                f"{batch['item_count']:>7} items  sealed {batch['sealed_at']}\n"
            )


@app.command()
def lease(batch: str) -> None:
    """Lease (or renew our lease of) a batch; prints the manifest."""
    grant = run(lambda c: c.lease(batch))
    sys.stdout.write(json.dumps(grant, ensure_ascii=False) + "\n")


@app.command()
def pull(
    batch: str,
    fmt: Annotated[str, typer.Option("--format", help="jsonl or csv")] = "jsonl",
    encoding: Annotated[str, typer.Option(help="utf-8, utf-8-sig or cp932")] = "utf-8",
) -> None:
    """Lease, download (resuming a broken download) and verify; prints the file's path."""
    path = run(lambda c: c.download(batch, fmt, encoding, c.lease(batch)))
    sys.stdout.write(f"{path}\n")


@app.command()
def push(batch: str, results: Annotated[Path, typer.Argument(exists=True, dir_okay=False)]) -> None:
    """Upload keyed results (NDJSON {item, values}); answers go to stdout, a summary to stderr.

    Sending a file again is harmless: an item already accepted answers ``duplicate``.
    """
    counts: dict[str, int] = {}

    def work(c: VendorClient) -> None:
        for answer in c.push(batch, file_lines(results)):
            counts[answer["status"]] = counts.get(answer["status"], 0) + 1
            sys.stdout.write(json.dumps(answer, ensure_ascii=False) + "\n")

    run(work)
    err.print(" · ".join(f"{status} {n}" for status, n in sorted(counts.items())) or "nothing sent")
    raise typer.Exit(0 if set(counts) <= {"accepted", "duplicate"} else 1)


@app.command()
def ack(batch: str) -> None:
    """Close the delivery (items without a result go back to the city)."""
    sys.stdout.write(json.dumps(run(lambda c: c.ack(batch)), ensure_ascii=False) + "\n")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
