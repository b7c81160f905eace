"""The EPC « SEPA credit transfer » QR code printed with what a message asks for. Pure."""

from __future__ import annotations

from decimal import Decimal

from .config import Config
from .errors import TemplateError
from .references import compact as compact_reference

QR_CID = "qr-paiement@relances"


def payment_qr(config: Config, context: dict) -> tuple[bytes, str] | None:
    """The EPC « SEPA credit transfer » QR code of what the message asks for: (PNG bytes, SVG
    data URI), or None (no IBAN, `[paiement] qr = false`, nothing to pay). One invoice with an
    RF reference: the structured reference; otherwise the references or numbers as text."""
    from segno import helpers

    entreprise = config.entreprise
    amount = context["montant_demande"]
    if not (config.paiement.qr and entreprise.iban) or amount <= 0 or amount >= Decimal("1e9"):
        return None
    lignes = context["toutes"]
    kwargs = {}
    if len(lignes) == 1 and lignes[0].reference.startswith("RF"):
        kwargs["reference"] = compact_reference(lignes[0].reference)
    else:
        kwargs["text"] = " ".join(l.reference for l in lignes)[:140]
    fields = dict(name=entreprise.nom[:70], iban=entreprise.iban.replace(" ", ""),
                  amount=amount, bic=entreprise.bic.replace(" ", "") or None, **kwargs)
    try:
        code = _epc_qr(helpers, fields)
    except Exception as exc:  # a value the standard cannot carry: no code, never a wrong one
        raise TemplateError(f"code QR de paiement impossible ({exc})") from None
    import io
    png = io.BytesIO()
    code.save(png, kind="png", scale=4, border=2)
    return png.getvalue(), code.svg_data_uri(scale=4, border=2)


EPC_MASK = 2  # any of the eight masks is valid (ISO 18004); see _epc_qr


def _epc_qr(helpers, fields: dict):
    """segno's EPC QR code with a fixed mask: segno's own payload (the EPC069-12 fields and
    their checks) encoded at level M as the standard demands, without scoring all eight
    masks, which took 60 % of a run's rendering time (a scanner reads any mask). Falls back
    to segno's make_epc_qr if its payload builder is not there."""
    import segno

    build = getattr(helpers, "_make_epc_qr_data", None)
    if build is None:
        return helpers.make_epc_qr(**fields)
    code = segno.make_qr(build(fields["name"], fields["iban"], fields["amount"],
                               fields.get("text"), fields.get("reference"), fields["bic"],
                               None, None),
                         error="m", boost_error=False, mask=EPC_MASK)
    if code.version > 13:
        raise ValueError(f"code EPC de version {code.version} (13 au plus)")
    return code
