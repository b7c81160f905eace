#!/usr/bin/env python3
"""The dashboard's figures, in the terminal, as JSON or as a PDF: `python scripts/rapport.py --help`.

A shim: it puts src/ on the import path so the script works from a plain checkout, then hands
over to relances.cli.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from relances.cli import main_rapport  # noqa: E402

if __name__ == "__main__":
    main_rapport()
