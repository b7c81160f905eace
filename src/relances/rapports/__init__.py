"""The dashboard stage: figures computed from the records (`indicateurs`), laid out as a sheet
(`feuille`, written by the xlsx write-back), as a terminal table and JSON (`cli`), and as a
one-page PDF with its charts (`pdf`)."""

from .indicateurs import Tableau, compute

__all__ = ["Tableau", "compute"]
