"""The bank stage: statements read into operations, operations matched to invoices.

`releves` reads a bank export (CSV of French and Belgian banks, OFX, ISO 20022 camt.053/054)
into `Operation` records; `rapprochement` decides, for each credit, which invoices it pays or
why a person must look at it. Neither touches the workbook nor the journal.
"""

from .operations import Operation, Releve
from .rapprochement import Affectation, AVerifier, match_operations
from .operations import OptionsReleve
from .releves import read_releve

__all__ = ["AVerifier", "Affectation", "Operation", "OptionsReleve", "Releve",
           "match_operations", "read_releve"]
