"""One error family for everything the user can fix; each carries its location first, in French.

Bad rows are not errors but data (`records.Anomalie`): they are reported and the run goes on.
These exceptions mean a whole stage cannot proceed; `cli` turns them into exit status 2.
"""


class RelancesError(Exception):
    """Base of every error the user can act on. The message is complete and French."""


class ConfigError(RelancesError):
    """config.toml is missing, unreadable or invalid."""


class WorkbookError(RelancesError):
    """The workbook cannot be read or written."""


class WorkbookLocked(WorkbookError):
    """The workbook is open in Excel/LibreOffice, or another run is in progress."""


class TemplateError(RelancesError):
    """A template in lettres/ is missing or does not render."""


class DeliveryError(RelancesError):
    """A message could not be delivered."""


class JournalError(RelancesError):
    """The journal cannot be opened or written."""
