"""A kiosk's ticket on the office's network receipt printer: printed after the ticket is issued,
and a dead printer never costs the resident their number."""

import asyncio

from app.settings import ReceiptPrinter, ReceiptSettings
from tests.support import LiveServer, Office, make_settings, run_server, seed


class FakePrinter:
    """A raw TCP receipt printer on 127.0.0.1 that keeps every job it is sent."""

    def __init__(self) -> None:
        self.jobs: asyncio.Queue[bytes] = asyncio.Queue()

    async def job(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self.jobs.put(await reader.read())
        writer.close()


async def issue(server: LiveServer, office: Office, **extra: object) -> dict:
    async with server.client(office.token("kiosk")) as client:
        response = await client.post(
            f"/offices/{office.id}/tickets",
            json={"category": office.category("A"), **extra},
        )
    assert response.status_code == 201, response.text
    return response.json()


async def test_a_ticket_is_printed_and_a_dead_printer_does_not_fail_issuing(
    clean_db: str,
) -> None:
    office = Office(await seed(clean_db))
    printer = FakePrinter()
    listener = await asyncio.start_server(printer.job, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    receipt = ReceiptSettings(
        printers={office.id: ReceiptPrinter(host="127.0.0.1", port=port, paper_mm=58)},
        timeout_s=2,
    )

    async with run_server(make_settings(clean_db, receipt=receipt)) as server:
        async with listener:
            ticket = await issue(server, office, language="en")
            assert ticket["paper"] == {"printed": True, "notice": None}
            job = await asyncio.wait_for(printer.jobs.get(), 10)
            # Initialise, a raster image 384 dots (48 bytes) wide for 58 mm paper, a full cut.
            assert job.startswith(b"\x1b@")
            at = job.index(b"\x1dv0")
            assert int.from_bytes(job[at + 4 : at + 6], "little") == 48
            assert job.endswith(b"\x1dV\x00")
            # A retry of the same press (Idempotency-Key) prints nothing again.
            async with server.client(office.token("kiosk")) as client:
                body = {"category": office.category("A")}
                key = {"Idempotency-Key": "press-1"}
                first = await client.post(f"/offices/{office.id}/tickets", json=body, headers=key)
                again = await client.post(f"/offices/{office.id}/tickets", json=body, headers=key)
            assert first.json()["paper"]["printed"] is True
            assert again.json()["number"] == first.json()["number"] == "A-002"
            assert again.json()["paper"] is None
            await asyncio.wait_for(printer.jobs.get(), 10)
            assert printer.jobs.empty()

        # The printer is gone (connections refused): the ticket is issued all the same.
        dead = await issue(server, office)
        assert dead["number"] == "A-003"
        assert dead["paper"]["printed"] is False
        assert "could not be printed" in dead["paper"]["notice"]
        # The ticket stands: the resident's status page knows it, the next press is A-004.
        async with server.client() as anonymous:
            public = await anonymous.get(
                f"/tickets/{dead['id']}/public", params={"key": dead["public_key"]}
            )
        assert public.status_code == 200 and public.json()["position"] == 3
        assert (await issue(server, office))["number"] == "A-004"
