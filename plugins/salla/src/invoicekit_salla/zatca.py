"""ZATCA QR codes, as Salla puts them in an invoice's `qr_code`.

Saudi e-invoicing (ZATCA, "FATOORA") prints a QR code on every tax invoice. Its text is
base64 of TLV records: a 1-byte tag, a 1-byte length (of the UTF-8 value), the value.
Phase 1 defines tags 1 to 5; phase 2 adds cryptographic tags (6 the XML hash, 7 the
signature, 8 the public key, 9 the stamp signature) that we pass through untouched.

```python
from invoicekit_salla.zatca import ZatcaQr, decode_qr

qr = decode_qr(invoice.qr_code)          # None when Salla sent null or a placeholder
if qr is not None:
    qr.seller_name, qr.vat_number, qr.timestamp, qr.total, qr.vat_total
```

Salla's examples show `qr_code` as `null` or a placeholder such as `"SAVE20"`, so
`decode_qr` answers `None` for anything that is not a QR at all, and raises
`ZatcaQrError` only for a value that claims to be one (it starts with tag 1) but is
broken: that is a real fault worth seeing, not a placeholder.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from decimal import Decimal, InvalidOperation

import attrs

from invoicekit import errors
from invoicekit.convert import parse_datetime

__all__ = ["ZatcaQr", "ZatcaQrError", "decode_qr", "encode_qr", "is_qr"]

_SELLER, _VAT_NUMBER, _TIMESTAMP, _TOTAL, _VAT_TOTAL = 1, 2, 3, 4, 5
_MAX_VALUE = 255  # the length is one byte
# Base64 of a first byte 0x01 (tag 1) begins with "A" then one of these (the byte's last
# two bits are the top of the second character): a cheap test that skips decoding
# placeholders such as "SAVE20".
_TAG1_SECOND = frozenset("QRSTUVWXYZabcdef")


class ZatcaQrError(errors.InvoiceKitError, ValueError):
    """A QR value that claims to be ZATCA TLV but cannot be read, or cannot be encoded."""


def _utc_text(value: dt.datetime) -> str:
    # ZATCA's examples (and Salla's vector) write UTC as `...Z`, without microseconds.
    if value.utcoffset() == dt.timedelta(0) and value.microsecond == 0:
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return value.isoformat()


def _amount_text(tag: int, value: Decimal) -> str:
    # Fixed-point, as printed on the invoice: `Decimal("1E+3")` is "1000", never "1E+3".
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ZatcaQrError(f"ZATCA QR record {tag} must be a finite Decimal, got {value!r}")
    return format(value, "f")


@attrs.frozen(slots=True)
class ZatcaQr:
    """The five phase-1 fields of a ZATCA QR, typed, plus any phase-2 records.

    `extra` keeps the records with tags above 5 as `(tag, bytes)` in their original
    order, so a decoded phase-2 code encodes back to the same text.
    """

    seller_name: str
    vat_number: str
    timestamp: dt.datetime
    total: Decimal
    vat_total: Decimal
    extra: tuple[tuple[int, bytes], ...] = ()

    def records(self) -> list[tuple[int, bytes]]:
        """The TLV records this code is made of, in tag order then `extra`."""
        phase1 = [
            (_SELLER, self.seller_name),
            (_VAT_NUMBER, self.vat_number),
            (_TIMESTAMP, _utc_text(self.timestamp)),
            (_TOTAL, _amount_text(_TOTAL, self.total)),
            (_VAT_TOTAL, _amount_text(_VAT_TOTAL, self.vat_total)),
        ]
        return [(tag, text.encode("utf-8")) for tag, text in phase1] + list(self.extra)


def encode_qr(qr: ZatcaQr) -> str:
    """The base64 text of *qr*, as printed on the invoice.

    Amounts are written in fixed-point (`Decimal("1E+3")` as `1000`). Raises
    `ZatcaQrError` when a value is longer than the 255 bytes one TLV record holds, or
    an amount is not a finite `Decimal`.
    """
    out = bytearray()
    for tag, value in qr.records():
        if not 0 < tag <= _MAX_VALUE:
            raise ZatcaQrError(f"ZATCA QR tag {tag} is out of range 1..255")
        if len(value) > _MAX_VALUE:
            raise ZatcaQrError(
                f"ZATCA QR tag {tag} is {len(value)} bytes long; a record holds at most 255"
            )
        out += bytes((tag, len(value))) + value
    return base64.b64encode(bytes(out)).decode("ascii")


def _tlv(data: bytes) -> list[tuple[int, bytes]]:
    records = []
    pos = 0
    while pos < len(data):
        if pos + 2 > len(data):
            raise ZatcaQrError("ZATCA QR ends in the middle of a record header")
        tag, length = data[pos], data[pos + 1]
        value = data[pos + 2 : pos + 2 + length]
        if len(value) != length:
            raise ZatcaQrError(f"ZATCA QR record {tag} is cut short")
        records.append((tag, value))
        pos += 2 + length
    return records


def _text(tag: int, value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise ZatcaQrError(f"ZATCA QR record {tag} is not UTF-8 text") from None


def _amount(tag: int, value: bytes) -> Decimal:
    text = _text(tag, value)
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ZatcaQrError(f"ZATCA QR record {tag} is not an amount: {text!r}") from None
    if not amount.is_finite():
        raise ZatcaQrError(f"ZATCA QR record {tag} is not a finite amount")
    return amount


_URLSAFE = str.maketrans("-_", "+/")


def _base64(text: str) -> bytes | None:
    # Printed and copied codes lose their padding or get wrapped at 76 columns; some
    # writers use the URL-safe alphabet. All of these are the same bytes.
    if "-" in text or "_" in text:
        text = text.translate(_URLSAFE)
    text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def decode_qr(value: str | None) -> ZatcaQr | None:
    """Read Salla's `qr_code`: `None` for null, empty or a placeholder, else a `ZatcaQr`.

    A value that is base64 (padded or not, line-wrapped or not, either alphabet) and
    starts with tag 1 is taken to be a QR; if it is then malformed (truncated, not
    UTF-8, a missing tag, an amount that is not a number) this raises `ZatcaQrError`
    instead of guessing.
    """
    if value is None or not isinstance(value, str):
        return None
    text = "".join(value.split())  # line-wrapped base64 is still the same code
    if text[:1] != "A" or text[1:2] not in _TAG1_SECOND:
        return None  # empty, or base64 whose first byte is not tag 1: not a QR
    data = _base64(text)
    if not data or data[0] != _SELLER:
        return None
    found: dict[int, bytes] = {}
    extra: list[tuple[int, bytes]] = []
    for tag, raw in _tlv(data):
        if _SELLER <= tag <= _VAT_TOTAL:
            if tag in found:
                raise ZatcaQrError(f"ZATCA QR repeats record {tag}")
            found[tag] = raw
        else:
            extra.append((tag, raw))
    missing = [tag for tag in range(_SELLER, _VAT_TOTAL + 1) if tag not in found]
    if missing:
        raise ZatcaQrError(f"ZATCA QR lacks record(s) {', '.join(map(str, missing))}")
    stamp = _text(_TIMESTAMP, found[_TIMESTAMP])
    try:
        timestamp = parse_datetime(stamp)
    except ValueError:
        raise ZatcaQrError(f"ZATCA QR timestamp {stamp!r} is not ISO 8601") from None
    return ZatcaQr(
        seller_name=_text(_SELLER, found[_SELLER]),
        vat_number=_text(_VAT_NUMBER, found[_VAT_NUMBER]),
        timestamp=timestamp,
        total=_amount(_TOTAL, found[_TOTAL]),
        vat_total=_amount(_VAT_TOTAL, found[_VAT_TOTAL]),
        extra=tuple(extra),
    )


def is_qr(value: str | None) -> bool:
    """Whether *value* is a readable ZATCA QR (never raises)."""
    try:
        return decode_qr(value) is not None
    except ZatcaQrError:
        return False

