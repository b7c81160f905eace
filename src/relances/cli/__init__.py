"""Command line: flags -> library arguments, result -> French summary or JSON, exit status.

One module per command (`relancer`, `pointer`, `rapport`), what they share (`commun`), and the
words of their results (`resumes`). The command line is the only part of relances that prints,
reads the clock or exits.
"""

from .pointer import main_pointer, pointer
from .rapport import main_rapport, rapport
from .relancer import main, relancer
from .resumes import import_json, import_summary, plan_json, problems, report_json, report_text, summary

__all__ = ["main", "main_pointer", "main_rapport", "relancer", "pointer", "rapport",
           "plan_json", "problems", "summary", "report_text", "report_json", "import_json",
           "import_summary"]
