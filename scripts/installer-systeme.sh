#!/bin/sh
# Pour les tests seulement : LibreOffice Calc (sans interface), qui vérifie que les classeurs
# écrits par relances s'ouvrent dans LibreOffice, et Dovecot (dovecot-imapd), le serveur IMAP
# que les tests de lecture de la boîte aux lettres démarrent sur 127.0.0.1. relances lui-même
# n'a besoin d'aucun paquet système (les courriers PDF sont faits par Typst, installé par pip).
# Sans --tests : ne fait rien. Ne fait rien non plus si les paquets sont déjà là, ou si le
# système n'est pas de la famille Debian (Windows, macOS : voir le README, section « Tests »).
[ "$1" = "--tests" ] || exit 0
PAQUETS="libreoffice-calc-nogui dovecot-imapd"
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
