#!/usr/bin/env python3
"""Import e-invoices (Factur-X, UBL, CII) into sheet Factures: `python scripts/importer.py --help`.

A shim: it puts src/ on the import path so the script works from a plain checkout, then hands
over to relances.cli.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from relances.cli.importer import main_importer  # noqa: E402

if __name__ == "__main__":
    main_importer()
