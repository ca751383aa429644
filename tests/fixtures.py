"""Where the shared PubMed fixture files live, for every test that reads real PubMed XML."""

from __future__ import annotations

from pathlib import Path

# The repository is /work/main and the shared, read-only fixtures are in /work/shared.
FIXTURES = Path(__file__).resolve().parent.parent.parent / "shared" / "fixtures" / "pubmed"


def fixture(name: str) -> Path:
    """The path of one fixture file, by its file name in the fixtures folder."""
    return FIXTURES / name
