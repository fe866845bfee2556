"""Who may import whom: the contracts in pyproject.toml, checked by import-linter."""

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(cwd: Path, config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), str(config), "--no-cache", "--no-logo"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def contracts() -> dict[str, dict[str, object]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    return {contract["id"]: contract for contract in config["contracts"]}


def test_the_import_rules_hold() -> None:
    result = lint_imports(ROOT, ROOT / "pyproject.toml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_an_http_module_that_queries_the_database_breaks_the_rules(tmp_path: Path) -> None:
    # A copy of the app with one route module that reaches for the tables and SQL itself.
    shutil.copytree(ROOT / "app", tmp_path / "app", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "app" / "api" / "shortcut.py").write_text(
        "from sqlalchemy import select\n\nfrom app.storage.tables import Application\n\n"
        "QUERY = select(Application)\n"
    )
    result = lint_imports(tmp_path, tmp_path / "pyproject.toml")
    assert result.returncode != 0, result.stdout
    broken = result.stdout.split("Broken contracts", 1)[-1]
    assert "The HTTP edge reaches the database only through services" in broken
    assert "app.api.shortcut -> app.storage.tables" in broken
    assert "app.api.shortcut -> sqlalchemy" in broken


def test_an_upward_import_breaks_the_layers(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "app", tmp_path / "app", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "app" / "storage" / "upward.py").write_text("from app.services import ops\n")
    result = lint_imports(tmp_path, tmp_path / "pyproject.toml")
    assert result.returncode != 0, result.stdout
    broken = result.stdout.split("Broken contracts", 1)[-1]
    assert "Edges over services over storage over the domain" in broken
    assert "app.storage.upward -> app.services.ops" in broken


def test_every_part_of_the_app_is_kept_out_of_the_domain_and_from_sql() -> None:
    # A new top-level package or module must be named in both lists, or it escapes the rules.
    parts = {
        f"app.{path.stem if path.is_file() else path.name}"
        for path in (ROOT / "app").iterdir()
        if (path.suffix == ".py" and path.stem != "__init__") or (path / "__init__.py").exists()
    }
    found = contracts()
    kept_from_domain = set(found["pure-domain"]["forbidden_modules"])  # type: ignore[call-overload]
    kept_from_sql = set(found["sql-in-storage"]["source_modules"])  # type: ignore[call-overload]
    assert kept_from_domain >= parts - {"app.domain"}
    assert kept_from_sql == parts - {"app.domain", "app.storage"}


def test_no_module_of_the_app_is_over_500_lines() -> None:
    """A module that outgrows this does more than one job: split it by concept."""
    lengths = {
        str(path.relative_to(ROOT)): len(path.read_text(encoding="utf-8").splitlines())
        for path in (ROOT / "app").rglob("*.py")
    }
    assert {path: n for path, n in lengths.items() if n > 500} == {}
    assert len(lengths) > 100  # the tree was read
