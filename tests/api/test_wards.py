"""政令指定都市の区: 熊本市's five wards. A 転入 from another ward of the same city is refused as a
転入 (it is a 転居); a move into a ward shows the ward on the application; another city's code is
a 転入 as before."""

from typing import Any

import pytest

from app.domain.municipalities import city_of, is_valid_municipality_code, ward_of
from tests.factories import move_in
from tests.support import LiveServer, Office

WARDS = {"431010": "中央区", "431028": "東区", "431036": "西区", "431044": "南区", "431052": "北区"}


def test_kumamotos_wards_are_valid_codes_of_the_city() -> None:
    for code, name in WARDS.items():
        ward = ward_of(code)
        assert is_valid_municipality_code(code)
        assert ward is not None and (ward.name_ja, ward.city_code) == (name, "431001")
        assert city_of(code) == "431001"
    assert ward_of("431001") is None  # the city itself is no ward
    assert ward_of("401331") is None and city_of("401331") == "401331"
    assert ward_of("4310100") is not None and ward_of("abcde") is None


def with_codes(previous: str, address_code: str) -> dict[str, Any]:
    body = move_in()
    body["fields"]["previous_municipality_code"] = previous
    body["fields"]["new_address_code"] = address_code
    return body


@pytest.mark.parametrize(
    ("previous", "within"),
    [("431028", True), ("431001", True), ("431010", True), ("401331", False), ("131211", False)],
)
async def test_a_move_in_from_a_ward_of_the_same_city_is_a_move_within(
    server: LiveServer, office: Office, previous: str, within: bool
) -> None:
    async with server.client(office.token("intake")) as intake:
        stored = await intake.post("/applications", json=with_codes(previous, "43101000100"))
    assert stored.status_code == 201, stored.text
    codes = {(p["field"], p["code"]) for p in stored.json()["problems"]}
    assert (("previous_municipality_code", "move_within_one_city") in codes) is within
    async with server.client(office.token("operator")) as operator:
        shown = (await operator.get(f"/applications/{stored.json()['id']}")).json()
    assert shown["ward"] == {
        "code": "431010",
        "city_code": "431001",
        "name_ja": "熊本市中央区",
        "name_en": "Chūō Ward, Kumamoto City",
    }
    problem = next(
        (p for p in shown["problems"] if p["code"] == "move_within_one_city"), {"message": "転居"}
    )
    assert "転居" in problem["message"]


async def test_an_address_outside_any_ward_shows_no_ward(
    server: LiveServer, office: Office
) -> None:
    async with server.client(office.token("intake")) as intake:
        stored = await intake.post("/applications", json=with_codes("431028", "13121000100"))
    assert stored.status_code == 201, stored.text
    assert "move_within_one_city" not in {p["code"] for p in stored.json()["problems"]}
    async with server.client(office.token("operator")) as operator:
        shown = (await operator.get(f"/applications/{stored.json()['id']}")).json()
    assert shown["ward"] is None
