"""Where letters' and messages' templates and fonts are found: the user's `lettres/` folder
first (its language folder before), then the package's."""

from __future__ import annotations

from pathlib import Path

PACKAGE_LETTRES = Path(__file__).with_name("lettres")


def template_folders(lettres: Path, langue: str = "fr") -> list[Path]:
    """Where templates are looked for, first found wins: the user's `lettres/` (its language
    folder first), then the package's. A language's own templates come before French ones."""
    bases = [lettres, PACKAGE_LETTRES] if lettres.resolve() != PACKAGE_LETTRES.resolve() \
        else [PACKAGE_LETTRES]
    folders = [base / langue for base in bases] if langue != "fr" else []
    folders += bases
    return [folder for folder in folders if folder.is_dir()]


def fonts_folder(lettres: Path) -> Path:
    """The letters' fonts: the user's lettres/polices/ when there is one, else the package's."""
    own = lettres / "polices"
    return own if own.is_dir() else PACKAGE_LETTRES / "polices"


def relative_name(path: Path) -> str:
    """`lettres/rappel.texte.txt`: the template's folder and name, enough to find it."""
    return f"{path.parent.name}/{path.name}"
