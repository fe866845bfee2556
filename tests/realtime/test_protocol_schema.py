"""display/protocol.schema.json is the lobby protocol the server speaks, byte for byte."""

import json
from pathlib import Path

from app.realtime.messages import protocol_schema

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "display" / "protocol.schema.json"


def render_schema() -> str:
    return json.dumps(protocol_schema(), indent=2, ensure_ascii=False) + "\n"


def test_committed_display_schema_matches_the_server() -> None:
    committed = SCHEMA_FILE.read_text(encoding="utf-8")
    assert committed == render_schema(), (
        "display/protocol.schema.json is out of date; regenerate it with: "
        '.venv/bin/python -c "import json; from app.realtime.messages import protocol_schema; '
        "open('display/protocol.schema.json', 'w', encoding='utf-8').write("
        "json.dumps(protocol_schema(), indent=2, ensure_ascii=False) + '\\n')\""
    )
