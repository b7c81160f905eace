"""The EPC « SEPA credit transfer » QR code printed with what a message asks for. Pure."""

from __future__ import annotations

from decimal import Decimal

from .config import Config
from .errors import TemplateError
from .references import compact as compact_reference

QR_CID = "qr-paiement@relances"


def payment_qr(config: Config, context: dict, png: bool = True, svg: bool = True
               ) -> tuple[bytes, str] | None:
    """The EPC « SEPA credit transfer » QR code of what the message asks for: (PNG bytes, SVG
    data URI) — each only when asked (an email shows the PNG, a letter prints the SVG; drawing
    is most of a message's rendering time), else empty —, or None (no IBAN, `[paiement] qr =
    false`, nothing to pay). One invoice with an RF reference: the structured reference;
    otherwise the references or numbers as text."""
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
    return (_png(code.matrix) if png else b"",
            code.svg_data_uri(scale=4, border=2) if svg else "")


def _png(matrix, scale: int = 4, border: int = 2) -> bytes:
    """The code's modules (`matrix`: rows, 1 = dark) as a black-and-white PNG, one bit a pixel,
    `scale` pixels a module inside a `border` of light modules. segno draws its PNG pixel by
    pixel in Python; rows built as bytes make it about ten times faster, and a message's
    rendering about twice as fast."""
    import struct
    import zlib

    modules = len(matrix[0]) + 2 * border
    width = modules * scale
    pad = -width % 8  # each row fills whole bytes: light bits after the last pixel

    def line(row) -> bytes:
        bits = "".join("0" * scale if dark else "1" * scale for dark in row) + "1" * pad
        return b"\x00" + int(bits, 2).to_bytes((width + pad) // 8, "big")  # filter: none

    light = line([0] * modules)
    rows = [light] * (border * scale)
    for row in matrix:
        rows += [line([0] * border + [bool(m) for m in row] + [0] * border)] * scale
    rows += [light] * (border * scale)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, width, 1, 0, 0, 0, 0)  # 1-bit greyscale
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + chunk(b"IEND", b""))


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
