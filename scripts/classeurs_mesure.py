"""The benchmark's company and workbooks: a config.toml with an identity of its own (the shipped
one names nobody, and a real run refuses it) and generated workbooks of any size with a known
number of reminders due. Shared by `benchmark.py` and `mesures_demarrage.py`."""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from relances.exemple import REFERENCE, write_workbook  # noqa: E402


# The shipped config.toml names nobody (a real run refuses it): the benchmark's company.
IDENTITE = {"nom": "Atelier Mesure SARL", "adresse": "1 rue des Essais\\n69003 Lyon",
            "email": "compta@atelier-mesure.fr", "siret": "732 829 320 00074",
            "iban": "FR76 3000 4000 0312 3456 7890 143", "signataire": "Marie Mesure",
            "expediteur": "Atelier Mesure <compta@atelier-mesure.fr>"}

def prepare(folder: Path) -> None:
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    for key, value in IDENTITE.items():
        text = re.sub(rf'^{key} = ""', lambda _: f'{key} = "{value}"', text, count=1,
                      flags=re.MULTILINE)
    (folder / "config.toml").write_text(text, encoding="utf-8")


def build_due(path: Path, count: int, actions: int) -> Path:
    """A workbook of `count` invoices over count/5 clients where `actions` clients have an
    invoice at its first reminder today, the others' invoices not yet due or paid: a run
    with a known number of messages, whatever the size; formulas carry their cached values."""
    import datetime
    import random
    from decimal import Decimal

    rng = random.Random(2026)
    n_clients = max(count // 5, actions, 1)
    clients = [(f"Client {i:05d}", f"Contact {i}", f"compta{i}@client{i}.fr",
                "04 00 00 00 00", f"{i} rue du Test\n69000 Lyon", "fr", "professionnel", "", None)
               for i in range(n_clients)]
    rows = []
    for i in range(count):
        client = i % n_clients
        amount = Decimal(rng.randint(5000, 900000)) / 100
        if client < actions and i < n_clients:
            due = REFERENCE - datetime.timedelta(days=4)   # first reminder due today
            paid = None
        else:
            due = REFERENCE + datetime.timedelta(days=rng.randint(1, 60))
            paid = amount if rng.random() < 0.2 else None
        rows.append(dict(client=f"Client {client:05d}", numero=f"F-{i:06d}",
                         date_facture=due - datetime.timedelta(days=30), echeance=due,
                         montant=amount, paye=paid, statut="Payée" if paid else "", etape=None,
                         promesse=None, notes=None))
    write_workbook(path, rows, clients)
    return with_cached_values(path, rows)


def with_cached_values(path: Path, rows: list[dict]) -> Path:
    """Excel and LibreOffice store each formula's last value beside it; openpyxl stores none,
    and a formula without its value is an unknown value that the tool must examine. The
    workbook gets the values Excel would have saved (Reste dû = Montant TTC − Payé, and the
    totals), so that it is measured as users' files are."""
    import re
    import zipfile
    from decimal import Decimal

    rests = [r["montant"] - (r["paye"] or Decimal(0)) for r in rows]
    sums = {"E": sum((r["montant"] for r in rows), Decimal(0)),
            "F": sum((r["paye"] or Decimal(0) for r in rows), Decimal(0)),
            "G": sum(rests, Decimal(0))}

    def value(match: re.Match) -> bytes:
        column, row = match.group(2).decode(), int(match.group(3))
        if column == "G" and 2 <= row < len(rows) + 2:
            number = rests[row - 2]
        elif column in sums and row == len(rows) + 2:
            number = sums[column]
        else:
            return match.group(0)
        return match.group(1) + b"<v>" + format(number, "f").encode() + b"</v>"

    with zipfile.ZipFile(path) as source:
        parts = [(info, source.read(info)) for info in source.infolist()]
    pattern = re.compile(rb'(<c r="([A-Z]+)(\d+)"[^>]*><f>[^<]*</f>)<v\s*/?>(?:</v>)?')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info, data in parts:
            if info.filename == "xl/worksheets/sheet1.xml":
                data = pattern.sub(value, data)
            target.writestr(info, data)
    return path
