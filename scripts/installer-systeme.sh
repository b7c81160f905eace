#!/bin/sh
# Bibliothèques système dont WeasyPrint a besoin pour les courriers PDF (Debian, Ubuntu) :
# Pango, et libharfbuzz-subset0 qui rend la création des PDF environ 3,5 fois plus rapide.
# Avec --tests : LibreOffice Calc en plus (sans interface), pour les tests qui vérifient que
# les classeurs écrits par relances s'ouvrent dans LibreOffice.
# Ne fait rien si tout est déjà là, ou si le système n'est pas de la famille Debian
# (Windows, macOS : voir le README, section « Installation »).
PAQUETS="libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0"
if [ "$1" = "--tests" ]; then PAQUETS="$PAQUETS libreoffice-calc-nogui"; fi
command -v apt-get >/dev/null 2>&1 || exit 0
dpkg -s $PAQUETS >/dev/null 2>&1 && exit 0
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "Installation de $PAQUETS (apt-get)…" >&2
if ! { $SUDO apt-get update -qq && \
       DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $PAQUETS; } >/dev/null; then
    echo "Attention : installation impossible ; installez à la main : $PAQUETS" >&2
fi
exit 0
