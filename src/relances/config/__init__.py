"""Configuration: config.toml read once (`chargement`) into frozen records (`modeles`)."""

from .chargement import KNOWN_KEYS, MAX_JOURS, load_config
from .modeles import *  # noqa: F401,F403
