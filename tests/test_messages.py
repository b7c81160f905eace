"""Every message and letter, for every kind of client: what it says, how it is typeset, one
amount throughout, and where its lines sit on the page.

Each case is decided by the real policy (so the amounts are the decision's) and rendered by
the shipped templates: FR professional, FR private individual, BE professional, BE consumer
and an English client; with and without a civility; one invoice or several; with a credit
note. Letters are laid out by Typst and measured with pypdf.
"""

from __future__ import annotations

import datetime
import io
import re
from pathlib import Path
from dataclasses import replace
from decimal import Decimal

import pytest
from pypdf import PdfReader

from relances.config import Entreprise, Penalites
from relances.formats import montant
from relances.lettre import Imprimeur, enclose, render_pdfs
from relances.policy import decide
from relances.render import Renderer
from relances.typographie import compose, elide, formules

from conftest import TODAY, classeur, client, config, days, facture, fait

MM = 72 / 25.4
NBSP, NNBSP = "\u00a0", "\u202f"

ENTREPRISE = Entreprise(nom="Atelier Dupont SARL", adresse="12 rue des Lilas\n69003 Lyon",
                        siret="123 456 782 00002", iban="FR76 3000 1007 9412 3456 7890 185",
                        signataire="Marie Dupont, gérante", telephone="04 72 00 00 00",
                        email="compta@atelier-dupont.fr", forme="SARL au capital de 10 000 €",
                        rcs="RCS Lyon 123 456 782")
KINDS = {  # (creditor's country, client type, language)
    "FR pro": ("FR", "professionnel", "fr"),
    "FR particulier": ("FR", "particulier", "fr"),
    "BE pro": ("BE", "professionnel", "fr"),
    "BE consommateur": ("BE", "particulier", "fr"),
    "EN": ("FR", "professionnel", "en"),
}
STEPS = {  # step -> history making it due today (steps, days ago)
    "rappel": [],
    "dernier_rappel": [("rappel", 30), ("appel", 20)],
    "mise_en_demeure": [("rappel", 40), ("appel", 30), ("dernier_rappel", 20)],
    "promesse_non_tenue": [("rappel", 30)],
}


def case(kind: str, step: str, civilite: str = "Madame", several: bool = False,
         avoir: bool = False, clause: bool = False, langue: str | None = None):
    """(action, rendu, renderer) for one kind of client at one step. `clause`: the contract
    provides damages for consumers ([penalites] clause_consommateur)."""
    pays, type_, kind_langue = KINDS[kind]
    cfg = config(entreprise=replace(ENTREPRISE, pays=pays),
                 penalites=replace(Penalites(), clause_consommateur=clause))
    debtor = client("Atelier Écureuil", civilite=civilite, contact="Anne Girard", type=type_,
                    langue=langue or kind_langue, siren="842 156 333", forme="SAS",
                    adresse="Atelier Écureuil\n8 place Bellecour\n69002 Lyon")
    promise = TODAY - days(2) if step == "promesse_non_tenue" else None
    invoices = [facture("F-2026-027", client=debtor.nom, echeance=TODAY - days(45),
                        date_facture=TODAY - days(75), promesse=promise)]
    if several:
        invoices.append(facture("F-2026-031", client=debtor.nom, echeance=TODAY - days(45),
                                montant="480.50", paye="100", promesse=promise))
    if avoir:
        invoices.append(facture("AV-2026-002", client=debtor.nom, echeance=TODAY - days(30),
                                montant="-120"))
    history = [fait(f.numero, name, TODAY - days(ago), client=debtor.nom,
                    canal="appel" if name == "appel" else "email")
               for f in invoices if f.montant > 0 for name, ago in STEPS[step]]
    book = classeur(invoices, [debtor])
    plan = decide(book, history, TODAY, cfg)
    (action,) = [a for a in plan.actions if a.is_message]
    renderer = Renderer(cfg, book, TODAY, history)
    return action, renderer.render(action), renderer


ALL = [(kind, step) for kind in KINDS for step in STEPS]


def plain(text: str) -> str:
    return text.replace(NBSP, " ").replace(NNBSP, " ")


def visible(html: str) -> str:
    """The HTML's text as a reader sees it (tags out, entities resolved, spaces joined); a
    letter's, the text of its PDF."""
    import html as html_module
    if html.startswith('{"modele"'):  # a letter (lettre.lettre): its words, as Typst prints them
        return Imprimeur(Path("lettres")).texte(html)
    text = re.sub(r"<(style|title)\b.*?</\1>", " ", html, flags=re.S)
    text = re.sub(r"</?(?:span|strong|b|em|a)\b[^>]*>", "", text)  # inline: no space
    text = html_module.unescape(re.sub(r"<[^>]+>", " ", text))
    return re.sub(r"[ \t\r\n]+", " ", text).strip()  # no-break spaces are kept


# ------------------------------------------------------------------ forms of address


@pytest.mark.parametrize("kind, step", ALL)
def test_every_template_renders_for_every_kind_of_client(kind, step):
    action, rendu, _ = case(kind, step)
    parts = [rendu.sujet, rendu.texte, rendu.html] if action.canal == "email" else [rendu.lettre]
    assert all(parts) and "F-2026-027" in " ".join(parts)
    assert not any("{{" in p or "None" in p for p in parts)


@pytest.mark.parametrize("civilite, salutation, politesse, bonjour", [
    ("Madame", "Madame,", "Veuillez agréer, Madame, l’expression de nos salutations distinguées.",
     "Bonjour Madame Girard,"),
    ("Monsieur", "Monsieur,",
     "Veuillez agréer, Monsieur, l’expression de nos salutations distinguées.",
     "Bonjour Monsieur Girard,"),
    ("", "Madame, Monsieur,",
     "Veuillez agréer, Madame, Monsieur, l’expression de nos salutations distinguées.",
     "Bonjour,"),
])
def test_french_letters_and_emails_address_the_client_by_civility(civilite, salutation,
                                                                   politesse, bonjour):
    _, letter, _ = case("FR pro", "mise_en_demeure", civilite)
    text = plain(visible(letter.lettre))
    assert f" {plain(salutation)} " in text and plain(politesse) in text
    _, email, _ = case("FR pro", "rappel", civilite)
    assert plain(email.texte).startswith(plain(bonjour))
    assert "Bonjour Anne Girard" not in plain(email.texte)  # never first name + surname


def test_the_attention_line_uses_the_short_civility_and_elides():
    _, letter, _ = case("FR pro", "mise_en_demeure", "Madame")
    assert "À l’attention de Mme Anne Girard" in plain(visible(letter.lettre))
    _, letter, _ = case("FR pro", "mise_en_demeure", "")
    assert "À l’attention d’Anne Girard" in plain(visible(letter.lettre))


def test_english_letters_use_british_forms():
    _, letter, _ = case("EN", "mise_en_demeure", "Madame")
    text = plain(visible(letter.lettre))
    assert "Dear Ms Girard," in text and "Yours sincerely," in text
    assert "For the attention of Ms Anne Girard" in text
    _, letter, _ = case("EN", "mise_en_demeure", "")
    text = plain(visible(letter.lettre))
    assert "Dear Sir or Madam," in text and "Yours faithfully," in text
    _, email, _ = case("EN", "rappel", "Monsieur")
    assert email.texte.startswith("Dear Mr Girard,") and "Kind regards," in email.texte


@pytest.mark.parametrize("mot, nom, attendu", [
    ("de", "Atelier Dupont", "d’Atelier Dupont"),
    ("de", "Boulangerie Martin", "de Boulangerie Martin"),
    ("de", "Hôtel du Parc", "d’Hôtel du Parc"),
    ("de", "Éditions Sud", "d’Éditions Sud"),
    ("de", "Île Verte SAS", "d’Île Verte SAS"),
    ("de", "Œuvres Sociales", "d’Œuvres Sociales"),
    ("le", "entreprise", "l’entreprise"),
    ("le", "client", "le client"),
    ("De", "Ulysse", "D’Ulysse"),
    ("de", "3M France", "de 3M France"),
])
def test_elision_before_vowels_h_and_accented_capitals(mot, nom, attendu):
    assert elide(mot, nom) == attendu


def test_the_cheque_payee_is_elided_in_messages():
    cfg = config(entreprise=replace(ENTREPRISE, iban="", nom="Atelier Dupont"))
    book = classeur([facture(echeance=TODAY - days(4))])
    (action,) = decide(book, [], TODAY, cfg).actions
    rendu = Renderer(cfg, book, TODAY).render(action)
    assert "à l’ordre d’Atelier Dupont" in rendu.texte


def test_formules_never_greet_by_first_and_last_name():
    assert formules("", "Luc Petit", "fr").bonjour == "Bonjour,"
    assert formules("Monsieur", "Luc Petit", "fr").bonjour == "Bonjour Monsieur Petit,"
    assert formules("Monsieur", "Jean de La Fontaine", "fr").bonjour == \
        "Bonjour Monsieur de La Fontaine,"


# ------------------------------------------------------------------ typography


FRENCH = [(kind, step) for kind, step in ALL if kind != "EN"]
# Invoice and article numbers, dates: a token holding a digit and a hyphen or a slash.
NUMBER = r"(?<![\w/.-])(?=[\w./-]*\d)(?=[\w./-]*[-/])\w[\w./-]*\w"


def french_texts(kind: str, step: str) -> list[tuple[str, str]]:
    """(what, text) of everything a French message or letter shows."""
    action, rendu, _ = case(kind, step, several=True, avoir=True)
    if action.canal == "courrier":
        return [("courrier", visible(rendu.lettre))]
    return [("sujet", rendu.sujet), ("texte", rendu.texte), ("html", visible(rendu.html))]


@pytest.mark.parametrize("kind, step", FRENCH)
def test_french_typography_everywhere(kind, step):
    for what, text in french_texts(kind, step):
        assert not re.search(r" [:;!?%]", text), (what, re.findall(r".{20} [:;!?%]", text))
        assert not re.search(r"« | »", text), what
        assert "'" not in text, (what, re.findall(r".{15}'.{15}", text))
        assert not re.search(r"\d (?:€|jours?\b|points?\b)", text), what
        assert not re.search(r"(?<![\d/])\d{1,3} \d{3},\d\d", text), what  # thousands kept whole


@pytest.mark.parametrize("kind, step", [("FR pro", "mise_en_demeure"), ("FR pro", "rappel"),
                                        ("EN", "dernier_rappel")])
def test_invoice_and_article_numbers_never_break_in_html(kind, step):
    action, rendu, _ = case(kind, step, several=True)
    if action.canal == "courrier":  # on paper: each number whole on one line of the PDF
        pdf = render_pdfs(Path("lettres"), [(rendu.lettre, "test")])[0]
        lines = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
        tokens = set(re.findall(NUMBER, lines.replace("\n", " ")))
        assert {"F-2026-027", "L441-10"} <= tokens
        for token in tokens:
            assert not re.search(re.escape(token[:len(token) // 2 + 1]) + r"\n", lines), token
        return
    html = rendu.html
    body = re.sub(r"<(style|title)\b.*?</\1>", "", html, flags=re.S)
    for piece in re.split(r"<[^>]+>", body):
        for token in re.findall(NUMBER, piece):
            # Each such token sits alone in a no-wrap span (or a no-wrap cell).
            assert re.search(r'(?:white-space:nowrap|class="(?:nowrap|n)")[^>]*>'
                             + re.escape(token) + "<", body), token


def test_compose_leaves_tags_styles_and_titles_alone():
    html = ("<html><head><title>Rappel l’x</title><style>a{width:100%}</style></head>"
            '<body><p style="margin:0">Facture F-1-2 : 12 % l\'an</p></body></html>')
    out = compose(html, "fr", html=True)
    assert "<title>Rappel l’x</title>" in out and "width:100%" in out
    assert 'style="margin:0"' in out
    assert f'<span style="white-space:nowrap">F-1-2</span>{NBSP}: 12{NNBSP}% l’an' in out


# ------------------------------------------------------------------ one amount story


@pytest.mark.parametrize("kind, step", ALL)
def test_the_amount_asked_is_the_same_in_every_part(kind, step):
    action, rendu, _ = case(kind, step, several=True, avoir=True)
    langue = KINDS[kind][2]
    asked = montant(action.montant_reclame, langue)
    parts = ([rendu.texte, visible(rendu.html)] if action.canal == "email"
             else [visible(rendu.lettre)])
    for text in parts:
        assert asked in text, (asked, text[:300])
    # No other total is asked for: every « Montant à régler » / « Amount payable » is it.
    for text in parts:
        for found in re.findall("(?:Montant à régler|Amount payable)[ :\u00a0]*"
                                "(€?[\\d\u202f,.]+(?:\u00a0€)?)", text):
            assert found == asked


def test_the_credit_note_is_shown_and_deducted():
    action, rendu, _ = case("FR pro", "rappel", avoir=True)
    assert action.avoirs == ("AV-2026-002",)
    assert action.montant_reclame == Decimal("880.00")  # 1,000 - 120
    # Under « À déduire », the credit note without its minus sign.
    assert "Avoir AV-2026-002" in rendu.texte and "-120,00" not in rendu.texte
    assert f"Avoir déduit{NBSP}: 120,00{NBSP}€" in rendu.texte
    assert f"Montant à régler{NBSP}: 880,00{NBSP}€" in rendu.texte


def test_the_last_reminder_asks_the_principal_and_states_the_penalties_apart():
    action, rendu, _ = case("FR pro", "dernier_rappel")
    assert action.montant_reclame == Decimal("1000.00")
    text = plain(rendu.texte)
    assert "régler la somme de 1 000,00 €" in text
    # 1,000 € × 12.15 % × 45 / 365 = 14.98 € + 40 €
    assert "ces pénalités s’élèvent à 54,98 €" in text
    assert "1 054,98" not in text


def test_the_formal_notice_claims_principal_interest_and_indemnity():
    action, rendu, _ = case("FR pro", "mise_en_demeure")
    assert action.montant_reclame == Decimal("1054.98")
    text = plain(visible(rendu.lettre))
    assert "mise en demeure de payer la somme de 1 054,98 €" in text
    assert "régler la somme de 1 054,98 € dans un délai de huit jours" in text


# ------------------------------------------------------------------ the law, per country


def test_french_formal_notice_cites_the_code_in_its_body():
    _, rendu, _ = case("FR pro", "mise_en_demeure")
    text = plain(visible(rendu.lettre))
    for mention in ("article L441-10 du Code de commerce", "article D441-5",
                    "arrêtées au 22/11/2026", "qui continueront de courir jusqu’à parfait paiement",
                    "à compter de la réception de la présente", "injonction de payer",
                    "Atelier Écureuil (SAS, SIREN 842 156 333)", "RCS Lyon 123 456 782",
                    "SARL au capital de 10 000 €", "Nos relances et nos échanges précédents",
                    "premier rappel (e-mail)", "dernier rappel (e-mail)"):
        assert mention in text, mention
    assert "à votre charge" not in text
    # The call was planned, never recorded by an exchange: the evidence does not cite it.
    assert "appel téléphonique" not in text


def test_a_french_private_individual_gets_no_indemnity_nor_cost_sentence():
    action, rendu, _ = case("FR particulier", "mise_en_demeure")
    text = plain(visible(rendu.lettre))
    assert "1231-6 du Code civil" in text and "Vous restez redevable" in text
    assert "Indemnité" not in text and "sur justification" not in text
    assert action.montant_reclame == Decimal("1000.00")  # interest runs from the notice


def test_belgian_letters_cite_the_2002_law_and_the_belgian_procedure():
    _, rendu, _ = case("BE pro", "mise_en_demeure")
    text = plain(visible(rendu.lettre))
    for mention in ("article 5 de la loi du 2 août 2002", "article 6 de la même loi",
                    "procédure de recouvrement de dettes d’argent non contestées",
                    "N° d’entreprise 123 456 782 00002", "n° d’entreprise 842 156 333"):
        assert mention in text, mention
    assert "injonction de payer" not in text and "SIRET" not in text


def test_a_belgian_consumers_first_reminder_says_what_book_xix_requires():
    action, rendu, _ = case("BE consommateur", "rappel")
    text = plain(rendu.texte)
    assert "Ce premier rappel est gratuit" in text
    # Sent on Sunday 22/11: the 14 days start the next business day, Monday 23/11; their 14th
    # day, Sunday 06/12, moves to Monday 07/12.
    assert "du 23 novembre 2026 au 7 décembre 2026 inclus" in text
    assert "régler la somme de 1 000,00 € sans aucuns frais" in text
    assert "Numéro d’entreprise : 123 456 782 00002" in text
    assert "XIX.2" in text
    # No clause in the contract: nothing can ever be claimed, so nothing is announced.
    assert "XIX.4" not in text and "intérêts" not in text and "90,00 €" not in text
    assert action.montant_reclame == Decimal("1000.00")


def test_a_belgian_consumers_first_reminder_announces_the_contracts_damages_under_xix_4():
    action, rendu, _ = case("BE consommateur", "rappel", clause=True)
    text = plain(rendu.texte)
    assert ("conformément à nos conditions générales, dans les limites de l’article XIX.4 du "
            "Code de droit économique") in text
    assert "90,00 € pour la facture F-2026-027" in text  # the scale for 1,000 €: 65 + 5 % × 500
    assert "10,5 % l’an" in plain(rendu.texte)  # ECB 2.15 + 8, rounded up to the half point
    assert action.montant_reclame == Decimal("1000.00")  # the first reminder is free


@pytest.mark.parametrize("step", ["rappel", "dernier_rappel", "mise_en_demeure"])
@pytest.mark.parametrize("clause", [False, True])
@pytest.mark.parametrize("langue", ["fr", "en"])
def test_a_belgian_consumer_is_never_told_penalties_run_by_law(step, clause, langue):
    _, rendu, _ = case("BE consommateur", step, several=True, clause=clause, langue=langue)
    parts = [x for x in (rendu.texte, *(visible(y) for y in (rendu.html, rendu.lettre) if y))
             if x]
    assert parts
    for words in map(plain, parts):
        assert "plein droit" not in words and "by law" not in words
        assert "sans mise en demeure" not in words and "without notice" not in words
        if clause and step != "rappel" and langue == "fr":
            assert ("conformément à nos conditions générales, dans les limites de l’article "
                    "XIX.4 du Code de droit économique") in words
        if not clause:
            assert "XIX.4" not in words


def test_a_belgian_consumers_formal_notice_claims_damages_only_with_the_clause():
    without, rendu, _ = case("BE consommateur", "mise_en_demeure")
    assert without.montant_reclame == Decimal("1000.00")
    assert "Indemnité" not in plain(visible(rendu.lettre))
    # With the clause: reminder 40 days ago, window over; interest from its end and the scale.
    claimed, rendu, _ = case("BE consommateur", "mise_en_demeure", clause=True)
    assert claimed.montant_reclame > Decimal("1090.00")  # 1,000 + 90 (scale) + interest
    text = plain(visible(rendu.lettre))
    assert "indemnité forfaitaire selon le barème de cet article" in text
    assert "plein droit" not in text


def test_a_french_consumers_final_reminder_does_not_say_plein_droit():
    _, rendu, _ = case("FR particulier", "dernier_rappel")
    assert "plein droit" not in plain(rendu.texte)
    _, rendu, _ = case("FR pro", "dernier_rappel")
    assert "entraîne de plein droit des pénalités de retard" in plain(rendu.texte)


# ------------------------------------------------------------------ letters on paper


def letter_pdf(kind: str, step: str = "mise_en_demeure", several: bool = True) -> bytes:
    action, rendu, renderer = case(kind, step, several=several)
    return render_pdfs(renderer.config.lettres, [(rendu.lettre, "test")])[0]


def lines_of(pdf: bytes) -> list[tuple[str, float, float]]:
    """(text, left mm, top mm) of each text run on page 1."""
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    height = float(page.mediabox.height)
    found = []

    def visit(text, cm, tm, font, size):
        if text.strip():
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            found.append((text.replace(NBSP, " ").strip(), x / MM, (height - y) / MM))

    page.extract_text(visitor_text=visit)
    return found


# The DL envelope's window as it falls on the folded A4 page (mm from the top-left corner):
# the recipient block must be inside, nothing else may show through it.
WINDOW = (100, 44, 195, 90)
HEADER_BOX = (100, 34, 190, 46)  # « LETTRE RECOMMANDÉE… »: above the window, two lines at most


@pytest.mark.parametrize("kind", ["FR pro", "BE pro", "EN"])
def test_header_lines_stay_in_their_boxes_and_the_window_shows_the_address_only(kind):
    runs = lines_of(letter_pdf(kind))
    address = {"Atelier Écureuil", "8 place Bellecour", "69002 Lyon"}
    envoi = [r for r in runs if r[0].isupper() and ("RECOMMANDÉE" in r[0] or "REGISTERED" in r[0]
                                                    or "RECEIPT" in r[0] or "RÉCEPTION" in r[0])]
    assert envoi, runs[:10]
    for text, left, top in envoi:
        assert HEADER_BOX[0] <= left <= HEADER_BOX[2] and HEADER_BOX[1] <= top <= HEADER_BOX[3], \
            (text, left, top)
    inside = [r for r in runs if WINDOW[0] <= r[1] <= WINDOW[2] and WINDOW[1] <= r[2] <= WINDOW[3]]
    assert {t for t, _, _ in inside} >= address
    strangers = [r for r in inside if r[0] not in address and "attention" not in r[0].lower()]
    assert not strangers, strangers


def test_invoice_copies_are_appended_to_the_letter(tmp_path):
    from pypdf import PdfWriter
    copy = tmp_path / "F-2026-027.pdf"
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    writer.write(copy)
    pdf = letter_pdf("FR pro", several=False)
    merged = enclose(pdf, [copy])
    assert len(PdfReader(io.BytesIO(merged)).pages) == len(PdfReader(io.BytesIO(pdf)).pages) + 1
    assert PdfReader(io.BytesIO(merged)).metadata.title.startswith("Mise en demeure")


def test_a_letter_is_dated_on_the_run_date():
    text = " ".join(t for t, _, _ in lines_of(letter_pdf("FR pro")))
    assert "Lyon, le 22 novembre 2026" in text
    assert datetime.date(2026, 11, 22) == TODAY


# ------------------------------------------------------------------ end to end, day after day


def test_a_client_with_invoices_at_different_steps_over_weeks(small_project):
    import email
    import email.policy
    import sqlite3

    import openpyxl
    from click.testing import CliRunner

    from relances.cli import relancer
    from conftest import invoice_row

    start = datetime.date(2026, 11, 2)
    # Below the call's 500 € minimum: emails and letters only. F-1 is due on 30/10 (first
    # reminder on 02/11, last reminder on 19/11); F-2 falls due on 16/11: its first reminder
    # is due on 19/11 too, in the same email.
    folder = small_project([invoice_row(numero="F-1", echeance=datetime.date(2026, 10, 30),
                                        montant=Decimal("300")),
                            invoice_row(numero="F-2", echeance=datetime.date(2026, 11, 16),
                                        montant=Decimal("150"))])
    for offset in range(0, 75):
        day = start + days(offset)
        result = CliRunner().invoke(relancer, ["--config", str(folder / "config.toml"),
                                               "--date", day.isoformat()])
        assert result.exit_code in (0, 1), result.output
        if day == datetime.date(2026, 11, 19):  # the workbook tells each invoice's own step
            book = openpyxl.load_workbook(folder / "relances.xlsx")
            rows = {r[1]: r for r in book["Factures"].iter_rows(min_row=2, values_only=True)}
            headers = [c.value for c in book["Factures"][1]]
            etape = headers.index("Étape")
            assert rows["F-1"][etape] == "Dernier rappel (19/11/2026)"
            assert rows["F-2"][etape] == "Premier rappel (19/11/2026)"
            journal = list(book["Journal"].iter_rows(min_row=2, values_only=True))
            assert journal[-1][4] == "Dernier rappel" and journal[-1][7] == 450
    db = sqlite3.connect(folder / "relances.journal.sqlite")
    facts = db.execute("SELECT a.jour, f.facture, f.cle, a.etape, a.montant, a.id FROM faits f "
                       "JOIN actions a ON a.id = f.action_id ORDER BY a.jour, f.facture").fetchall()
    by_invoice = {}
    for jour, numero, cle, etape, amount, action_id in facts:
        by_invoice.setdefault(numero, []).append((jour, cle))
    # The mixed message: F-1 at its last reminder, F-2 at its first, each recorded as such.
    mixed = [(n, c, e, a) for j, n, c, e, a, _ in facts if j == "2026-11-19"]
    assert mixed == [("F-1", "dernier_rappel", "dernier_rappel", "450.00"),
                     ("F-2", "rappel", "dernier_rappel", "450.00")]
    # Every invoice walks its own steps in order, never backwards; the formal notice is one
    # demand for the client: F-2, overdue, joins F-1's on the same day (« également échue »)
    # instead of getting a notice of its own days later.
    order = ["rappel", "dernier_rappel", "mise_en_demeure", "recouvrement"]
    for numero, steps in by_invoice.items():
        names = [c for _, c in steps]
        assert [order.index(n) for n in names] == sorted(order.index(n) for n in names), numero
    assert by_invoice["F-2"][0][1] == "rappel"
    notices = {n: dict((c, j) for j, c in steps)["mise_en_demeure"]
               for n, steps in by_invoice.items()}
    assert notices["F-1"] == notices["F-2"]
    # F-1 went all the way; once the client's file is handed off, nothing more is sent to it.
    assert [c for _, c in by_invoice["F-1"]][-1] == "recouvrement"
    handed = dict((c, j) for j, c in by_invoice["F-1"])["recouvrement"]
    assert all(j <= handed for j, _ in by_invoice["F-2"]), by_invoice
    # F-1's formal notice: 35 days after its due date, its last reminder's deadline (27/11)
    # long passed.
    assert dict((c, j) for j, c in by_invoice["F-1"])["mise_en_demeure"] == "2026-12-04"
    # The email says so: F-2 « également échue », never called « already reminded ».
    (eml,) = (folder / "sortie" / "2026-11-19" / "emails").glob("*.eml")
    text = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default) \
        .get_body(("plain",)).get_content()
    first, others = text.split("Sont également échues")
    assert "F-1" in first and "F-2" not in first and "F-2" in others
    assert "ces pénalités s’élèvent" in text and "pour la facture F-1" in text
    assert "Montant à régler\u00a0: 450,00\u00a0€" in text


def test_an_unknown_civility_or_a_wrong_company_number_is_reported_and_the_rest_goes_on(
        small_project):
    import json

    from click.testing import CliRunner

    from relances.cli import relancer
    from conftest import client_row, invoice_row

    folder = small_project([invoice_row(numero="F-1", echeance=TODAY - days(4))],
                           [client_row(civilite="Docteur", siren="123 456 789", forme="SAS")])
    result = CliRunner().invoke(relancer, ["--config", str(folder / "config.toml"), "--date",
                                           TODAY.isoformat(), "--json", "--dry-run"])
    plan = json.loads(result.stdout)
    messages = [e["message"] for e in plan["errors"]]
    assert any("Civilité inconnue « Docteur »" in m for m in messages)
    assert any("SIREN « 123 456 789 »" in m and "chiffre de contrôle" in m for m in messages)
    assert [e["sheet"] for e in plan["errors"]] == ["Clients", "Clients"]
    assert [a["invoices"] for a in plan["actions"]] == [["F-1"]]  # still reminded


def test_verifier_names_the_creditor_identity_a_letter_needs(project):
    from click.testing import CliRunner

    from relances.cli import relancer
    from conftest import SIRET_TEST

    config = project / "config.toml"
    config.write_text(config.read_text("utf-8").replace(f'siret = "{SIRET_TEST}"',
                                                        'siret = ""'), "utf-8")
    result = CliRunner().invoke(relancer, ["--config", str(config), "--date", TODAY.isoformat(),
                                           "--verifier"])
    assert result.exit_code == 2  # a real run would refuse everything
    assert "renseignez entreprise.siret dans config.toml" in result.output
    assert "entreprise.siret (vides, ou encore ceux de l’exemple)" in result.output
    run = CliRunner().invoke(relancer, ["--config", str(config), "--date", TODAY.isoformat()])
    assert run.exit_code == 2 and "entreprise.siret" in run.output
    assert not list((project / "sortie").rglob("*.*"))  # --verifier only probed the folder
    assert not (project / "relances.journal.sqlite").exists()
