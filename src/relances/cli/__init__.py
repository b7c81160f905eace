"""Command line: flags -> library arguments, result -> French summary or JSON, exit status.

One module per command (`relancer`, `pointer`, `rapport`), what they share (`commun`), and the
words of their results (`resumes`). The command line is the only part of relances that prints,
reads the clock or exits.

Each name below is imported when first asked for: `scripts/relancer.py` loads the daily run's
command, not the statement import's nor the report's (a lean start).
"""

import importlib
import sys
import types

_WHERE = {"main": "relancer", "relancer": "relancer", "main_pointer": "pointer",
          "pointer": "pointer", "main_rapport": "rapport", "rapport": "rapport",
          **dict.fromkeys(("import_json", "import_summary", "plan_json", "problems",
                           "report_json", "report_text", "summary"), "resumes")}

__all__ = list(_WHERE)


class _Paquet(types.ModuleType):
    def __getattr__(self, name: str):
        if name not in _WHERE:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
        setattr(self, name, value)
        return value

    def __setattr__(self, name: str, value) -> None:
        # Importing relances.cli.relancer binds that module to the package's name `relancer`:
        # the command of the same name keeps it, as `from relances.cli import relancer` expects.
        if isinstance(value, types.ModuleType) and _WHERE.get(name) == name:
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Paquet
