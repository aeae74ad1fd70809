"""The README's settings table matches the settings the code reads."""

from __future__ import annotations

from pathlib import Path

from consultantos.config import settings_table


def test_settings_table_in_readme_is_current() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert settings_table() in readme, "regenerate it: python -m consultantos.config"
