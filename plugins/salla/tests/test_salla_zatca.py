"""ZATCA QR codes: the known vector, placeholders, malformed values, phase-2 records."""

from __future__ import annotations

import base64
import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from invoicekit import errors
from invoicekit_salla.zatca import ZatcaQr, ZatcaQrError, decode_qr, encode_qr, is_qr

VECTOR = "AQVTYWxsYQIKMTIzNDU2Nzg5MQMUMjAyMS0wNy0xMlQxNDoyNTowOVoEBjEwMC4wMAUFMTUuMDA="


def test_known_vector_decodes_typed() -> None:
    qr = decode_qr(VECTOR)
    assert qr == ZatcaQr(
        seller_name="Salla", vat_number="1234567891",
        timestamp=dt.datetime(2021, 7, 12, 14, 25, 9, tzinfo=dt.UTC),
        total=Decimal("100.00"), vat_total=Decimal("15.00"))
    assert str(qr.total) == "100.00"


def test_known_vector_round_trips() -> None:
    qr = decode_qr(VECTOR)
    assert qr is not None
    assert encode_qr(qr) == VECTOR


def test_encoding_builds_the_vector() -> None:
    qr = ZatcaQr("Salla", "1234567891", dt.datetime(2021, 7, 12, 14, 25, 9, tzinfo=dt.UTC),
                 Decimal("100.00"), Decimal("15.00"))
    assert encode_qr(qr) == VECTOR


def test_arabic_seller_counts_utf8_bytes() -> None:
    qr = ZatcaQr("متجر التجربة", "310122393500003",
                 dt.datetime(2024, 1, 1, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=3))),
                 Decimal("115.00"), Decimal("15.00"))
    raw = base64.b64decode(encode_qr(qr))
    # tag, length in UTF-8 bytes (12 letters: 11 of two bytes and a space = 23 = 0x17), value
    assert raw == (b"\x01\x17" + "متجر التجربة".encode() + b"\x02\x0f310122393500003"
                   + b"\x03\x192024-01-01T09:00:00+03:00" + b"\x04\x06115.00"
                   + b"\x05\x0515.00")
    assert decode_qr(encode_qr(qr)) == qr


def test_phase_two_records_pass_through() -> None:
    extra = ((6, b"hash=="), (7, b"\x30\x45sig"), (8, bytes(range(88))), (9, b"stamp"))
    qr = ZatcaQr("S", "3", dt.datetime(2024, 5, 1, tzinfo=dt.UTC), Decimal(1), Decimal(0), extra)
    text = encode_qr(qr)
    decoded = decode_qr(text)
    assert decoded is not None
    assert decoded.extra == extra
    assert encode_qr(decoded) == text


@pytest.mark.parametrize("value", [None, "", "   ", "SAVE20", "null", "not base64!",
                                   base64.b64encode(b"\x06\x01x").decode()])
def test_null_and_placeholders_are_none(value: str | None) -> None:
    assert decode_qr(value) is None
    assert not is_qr(value)


@pytest.mark.parametrize("raw", [
    b"\x01\x05Sal",                                # cut short
    b"\x01\x05Salla\x02",                          # header cut short
    b"\x01\x05Salla",                              # tags 2-5 missing
    b"\x01\x01\xff\x02\x01a\x03\x14" + b"2021-07-12T14:25:09Z" + b"\x04\x011\x05\x011",  # not UTF-8
    b"\x01\x01a\x02\x01a\x03\x03bad\x04\x011\x05\x011",  # bad timestamp
    b"\x01\x01a\x02\x01a\x03\x14" + b"2021-07-12T14:25:09Z" + b"\x04\x03abc\x05\x011",  # bad total
    b"\x01\x01a\x01\x01b",                         # repeated tag
])
def test_malformed_codes_raise_typed_error(raw: bytes) -> None:
    text = base64.b64encode(raw).decode()
    with pytest.raises(ZatcaQrError) as caught:
        decode_qr(text)
    assert isinstance(caught.value, errors.InvoiceKitError)
    assert isinstance(caught.value, ValueError)
    assert not is_qr(text)


def test_values_longer_than_a_record_are_refused() -> None:
    qr = ZatcaQr("x" * 256, "1", dt.datetime(2024, 1, 1, tzinfo=dt.UTC), Decimal(1), Decimal(0))
    with pytest.raises(ZatcaQrError, match="255"):
        encode_qr(qr)


_text = st.text(min_size=1, max_size=40).filter(lambda s: len(s.encode()) <= 255)
_amount = st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False,
                      allow_infinity=False)


@given(seller=_text, vat=st.text(alphabet="0123456789", min_size=15, max_size=15),
       stamp=st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1),
                          timezones=st.just(dt.UTC)).map(lambda d: d.replace(microsecond=0)),
       total=_amount, vat_total=_amount)
def test_round_trip_property(seller: str, vat: str, stamp: dt.datetime, total: Decimal,
                             vat_total: Decimal) -> None:
    qr = ZatcaQr(seller, vat, stamp, total, vat_total)
    assert decode_qr(encode_qr(qr)) == qr


def test_only_tag_1_is_read_as_a_qr() -> None:
    """The cheap test on the first two base64 characters decides exactly as decoding
    would, for every first two bytes: a value whose first byte is tag 1 is always read
    (or refused as broken), any other is never a QR."""
    pads = ["", " ", "\n", " \t"]
    for first in range(256):
        for second in range(256):
            pad = pads[second % len(pads)]
            text = pad + base64.b64encode(bytes([first, second, 7])).decode() + pad
            if first != 1:
                assert decode_qr(text) is None
                continue
            try:
                assert decode_qr(text) is not None
            except ZatcaQrError:
                pass  # read as a QR, and found broken


# ---- issue 13, item 13 ---------------------------------------------------------------------
def test_issue13_amounts_are_encoded_in_fixed_point_never_with_an_exponent() -> None:
    qr = ZatcaQr("Salla", "1234567891", dt.datetime(2021, 7, 12, 14, 25, 9, tzinfo=dt.UTC),
                 Decimal("1E+3"), Decimal("1.5E+2"))
    records = dict(_records(encode_qr(qr)))
    assert records[4] == b"1000"
    assert records[5] == b"150"
    # The known vector still encodes exactly (100.00 keeps its two places).
    assert encode_qr(ZatcaQr("Salla", "1234567891",
                             dt.datetime(2021, 7, 12, 14, 25, 9, tzinfo=dt.UTC),
                             Decimal("100.00"), Decimal("15.00"))) == VECTOR


@pytest.mark.parametrize("amount", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity")])
def test_non_finite_amounts_are_not_encoded(amount: Decimal) -> None:
    qr = ZatcaQr("Salla", "1", dt.datetime(2024, 1, 1, tzinfo=dt.UTC), amount, Decimal(0))
    with pytest.raises(ZatcaQrError, match="record 4 must be a finite Decimal"):
        encode_qr(qr)


def _records(text: str) -> list[tuple[int, bytes]]:
    data = base64.b64decode(text)
    out, pos = [], 0
    while pos < len(data):
        tag, length = data[pos], data[pos + 1]
        out.append((tag, data[pos + 2:pos + 2 + length]))
        pos += 2 + length
    return out


@pytest.mark.parametrize("variant", [
    VECTOR.rstrip("="),                                        # unpadded
    "\n".join(VECTOR[i:i + 20] for i in range(0, len(VECTOR), 20)),  # line-wrapped
    VECTOR[:30] + "\r\n " + VECTOR[30:].rstrip("="),           # wrapped and unpadded
    f"  {VECTOR}\n",                                           # surrounded by whitespace
])
def test_issue13_unpadded_or_wrapped_base64_of_a_valid_code_is_decoded(variant: str) -> None:
    qr = decode_qr(variant)
    assert qr == ZatcaQr("Salla", "1234567891",
                         dt.datetime(2021, 7, 12, 14, 25, 9, tzinfo=dt.UTC),
                         Decimal("100.00"), Decimal("15.00"))
    assert is_qr(variant)


def test_url_safe_alphabet_is_the_same_code() -> None:
    # This seller's bytes encode to a "+" in the standard alphabet ("-" in the URL-safe one).
    qr = ZatcaQr("ü>>?ü", "1234567891", dt.datetime(2021, 7, 12, 14, 25, 9, tzinfo=dt.UTC),
                 Decimal("100.00"), Decimal("15.00"))
    text = encode_qr(qr)
    assert "+" in text
    urlsafe = text.replace("+", "-").replace("/", "_").rstrip("=")
    assert decode_qr(urlsafe) == qr


@given(cut=st.integers(1, 70), width=st.integers(4, 76))
def test_wrapped_unpadded_codes_decode_or_raise_never_none(cut: int, width: int) -> None:
    """A code that starts with tag 1 is read whatever its layout: decoded when whole,
    `ZatcaQrError` when cut short, never `None` (which would mean "not a QR at all")."""
    text = VECTOR.rstrip("=")[:cut]
    wrapped = "\n".join(text[i:i + width] for i in range(0, len(text), width))
    if len(text) < 2:
        return
    try:
        decoded = decode_qr(wrapped)
    except ZatcaQrError:
        return
    if len(text) % 4 == 1:
        assert decoded is None  # not base64 at all (one stray character): a placeholder
    else:
        assert decoded is not None
