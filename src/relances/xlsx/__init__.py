"""The workbook stage: read the user's .xlsx into records, patch the tool's cells back into it.

`lecture` reads (python-calamine); `package`, `sheet`, `styles` and `proprietes` work on the
file's parts; `ecriture` patches the tool-owned cells and sheets in and saves atomically. This
is the only package that knows the file format.
"""

from .colonnes import FIELD_BY_HEADER, JOURNAL
from .ecriture import Ecriture, WorkbookChanged, write_back
from .lecture import Lecture, read_classeur
from .package import check_not_open, fingerprint
from .sheet import Lien

__all__ = ["FIELD_BY_HEADER", "JOURNAL", "Ecriture", "Lecture", "Lien", "WorkbookChanged",
           "check_not_open", "fingerprint", "read_classeur", "write_back"]
