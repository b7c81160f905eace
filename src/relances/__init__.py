"""relances: chase unpaid invoices from the user's own Excel workbook.

Pipeline: read the workbook (`workbook`) -> records (`records`) -> pure decision (`policy`)
-> render every message (`render`) -> effects (`delivery`, `journal`) -> write back (`workbook`).
`run` ties the stages together; `cli` is the only module that prints or exits.
"""

__version__ = "0.1.0"
