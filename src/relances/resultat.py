"""What a daily run did: its plan, each action and what became of it, the write-back. Data.

`run.run_daily` fills a `Resultat`; `session` adds what the write-back wrote (the call list,
the dashboard); `cli` turns it into a summary, a JSON plan, a digest and an exit status.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .appels import LigneAppel, LigneLitige
from .compte import Livre
from .encaissements import Preparation
from .journal import Entree
from .rapports import Tableau
from .records import Action, Anomalie, Classeur, Plan
from .xlsx import Ecriture


@dataclass(frozen=True)
class Execution:
    """One action of the run and what became of it."""

    action: Action
    statut: str  # envoye | prepare | a_faire | echec | incertain | deja_fait
    fichier: str = ""
    detail: str = ""


@dataclass
class Resultat:
    plan: Plan
    classeur: Classeur
    dry_run: bool = False
    executions: list[Execution] = field(default_factory=list)
    incertains: list[Entree] = field(default_factory=list)
    anomalies: list[Anomalie] = field(default_factory=list)  # read + decide + delivery
    avertissements: list[Anomalie] = field(default_factory=list)  # shown; not a failure
    ecriture: Ecriture | None = None
    ecriture_erreur: str = ""
    impression: Path | None = None  # the day's letters in one PDF, to print at once
    appels: list[LigneAppel] = field(default_factory=list)  # who to call (sheet À appeler)
    litiges: list[LigneLitige] = field(default_factory=list)  # disputes, with their age
    apercu: list[Path] = field(default_factory=list)  # files written by --apercu
    apercu_dossier: Path | None = None
    preparation: Preparation = field(default_factory=Preparation)  # bank lines, decisions
    gel: str = ""  # why nothing was sent: payment data too old (stale-data guard)
    tableau: Tableau | None = None  # the dashboard, as the write-back wrote it
    livre: Livre | None = None  # the client accounts the plan was made from
    panne: str = ""  # the journal or the disk gave way mid-run: the rest was not done
    boite: object = None  # boite.effets.Courrier: what the mailbox brought back (None: no [boite])

    @property
    def partis(self) -> list[Execution]:
        """What went out this run (emails sent or written, letters and dossiers written)."""
        return [e for e in self.executions
                if e.statut in ("envoye", "prepare") or (e.statut == "a_faire" and e.fichier)]

    @property
    def has_problems(self) -> bool:
        return bool(self.anomalies or self.incertains or self.ecriture_erreur or self.gel
                    or self.panne
                    or any(e.statut in ("echec", "incertain") for e in self.executions))

