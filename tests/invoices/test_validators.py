"""Tax ids, invoice numbers and uploaded invoice files (spec 3). No database needed."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from stdnum.cn import ric, uscc

from core.uploads import DetectedFile, detect_upload
from invoices.validators import (
    is_legacy_17,
    looks_like_uscc,
    tax_id_validator,
    uscc_check_char,
    validate_invoice_number,
    validate_tax_id,
)
from tests.factories import JPEG_BYTES, PDF_BYTES, PNG_BYTES

SPEC_USCC = "91620105L015101280"  # the specification's example; its check character is 0


@pytest.fixture(autouse=True)
def _english():
    """Messages are asserted on their English source text (the site default is zh-hans)."""
    with translation.override("en"):
        yield


def with_check(first17: str) -> str:
    return first17 + uscc_check_char(first17)


def refused(func, *args) -> ValidationError:
    with pytest.raises(ValidationError) as excinfo:
        func(*args)
    return excinfo.value


def message(error: ValidationError) -> str:
    return " ".join(error.messages)


# --- tax ids: unified social credit code -------------------------------------------------


def test_spec_example_is_valid():
    tax_id = validate_tax_id(SPEC_USCC)
    assert (tax_id.value, tax_id.kind, tax_id.warning) == (SPEC_USCC, "uscc", None)
    assert tax_id_validator(SPEC_USCC) is None


def test_wrong_check_character_names_the_expected_one():
    error = refused(validate_tax_id, SPEC_USCC[:-1] + "1")
    assert error.code == "tax_id_check"
    assert "should be 0, not 1" in message(error)
    assert refused(tax_id_validator, "91110000MA0000000A").code == "tax_id_check"


def test_check_character_zero_when_the_sum_is_divisible_by_31():
    code = "911100007109300250"
    total = sum(
        "0123456789ABCDEFGHJKLMNPQRTUWXY".index(c) * 3**i % 31 for i, c in enumerate(code[:17])
    )
    assert total % 31 == 0
    assert uscc_check_char(code[:17]) == "0"
    assert validate_tax_id(code).kind == "uscc"
    assert refused(validate_tax_id, code[:-1] + "Y").code == "tax_id_check"


@pytest.mark.parametrize("first17", ["A1110000600037341", "N2110000MA0000000", "Y1110000MA0000000"])
def test_registration_authorities_a_n_y_are_accepted(first17):
    """stdnum.cn.uscc (2.2) wants the first 8 characters to be digits, so it refuses codes from
    the newer registration authorities A, N and Y although their check character is right:
    that is why the check character is computed in invoices.validators."""
    code = with_check(first17)
    assert uscc_check_char(first17) == uscc.calc_check_digit(first17)  # same checksum
    assert not uscc.is_valid(code)
    assert validate_tax_id(code) == validate_tax_id(code.lower())
    assert validate_tax_id(code).kind == "uscc"
    assert refused(validate_tax_id, first17 + ("1" if code[-1] != "1" else "2")).code == (
        "tax_id_check"
    )


def test_lowercase_and_spaces_are_normalised():
    assert validate_tax_id(f"  {SPEC_USCC.lower()}\n").value == SPEC_USCC
    assert validate_tax_id("９１６２０１０５ｌ０１５１０１２８０").value == SPEC_USCC  # full width


@pytest.mark.parametrize("char", ["I", "O", "Z", "S", "V", "-"])
def test_illegal_character_is_named(char):
    error = refused(validate_tax_id, SPEC_USCC[:8] + char + SPEC_USCC[9:])
    assert error.code == "tax_id_char"
    assert f"Character {char} at position 9" in message(error)


def test_empty_tax_id():
    assert refused(validate_tax_id, "  ").code == "required"


# --- tax ids: resident id of a sole trader -----------------------------------------------

RESIDENT_ID = "11010119900101" + "001" + "5"  # Beijing Dongcheng, born 1990-01-01


def test_valid_resident_id():
    assert ric.calc_check_digit(RESIDENT_ID) == "5"
    tax_id = validate_tax_id(RESIDENT_ID)
    assert (tax_id.value, tax_id.kind, tax_id.warning) == (RESIDENT_ID, "resident_id", None)


def test_resident_id_with_x_check_digit_is_normalised():
    for serial in range(1000):
        number = f"11010119900101{serial:03d}X"
        if ric.is_valid(number):
            break
    assert validate_tax_id(number.lower()) == validate_tax_id(number)
    assert validate_tax_id(number).kind == "resident_id"


def test_resident_id_with_wrong_check_digit():
    error = refused(validate_tax_id, RESIDENT_ID[:-1] + "6")
    assert error.code == "resident_id_invalid"
    assert "should be 5, not 6" in message(error)


def test_resident_id_with_unknown_area():
    number = "99999919900101001"
    number += ric.calc_check_digit(number + "0")
    assert refused(validate_tax_id, number).code == "resident_id_invalid"


# --- tax ids: legacy and lengths ---------------------------------------------------------


@pytest.mark.parametrize("value", ["110108123456789", "1101081234567AB", "12345678901234567890"])
def test_legacy_ids_are_accepted_with_a_warning(value):
    tax_id = validate_tax_id(value.lower())
    assert (tax_id.value, tax_id.kind) == (value, "legacy")
    assert f"old {len(value)}-character taxpayer id" in tax_id.warning


def test_legacy_id_with_illegal_character():
    error = refused(validate_tax_id, "110108123456/89")
    assert error.code == "tax_id_char"
    assert "Character /" in message(error)


@pytest.mark.parametrize("length", [1, 14, 16, 19, 21, 30])
def test_other_lengths_are_refused(length):
    error = refused(validate_tax_id, "1" * length)
    assert error.code == "tax_id_length"
    assert f"this one has {length}" in message(error)


# --- tax ids: 17 characters, a code missing its last character or an old id -------------

LEGACY_17 = "110101900101001" + "23"  # a 15-digit resident id (Dongcheng, born 1990-01-01) + 2


@pytest.mark.parametrize(
    "code",
    [
        SPEC_USCC,  # 9 1: 工商, 企业
        "91110000600037341L",  # python-stdnum's example
        with_check("92310115123456789"),  # 个体工商户
        with_check("12100000400000624"),  # 机构编制, 事业单位, a central-level area code
        with_check("Y1310115MA1H00000"),
        with_check("N2440300MA5G00001"),
    ],
)
def test_a_uscc_missing_its_last_character_is_refused_with_the_completed_code(code):
    # given a valid 18-character code typed without its check character
    error = refused(validate_tax_id, code[:17])
    # then it is refused, not taken for a 17-character old id, and the full code is suggested
    assert error.code == "tax_id_uscc_short"
    assert (
        f"looks like a unified social credit code missing its last character (perhaps {code})"
        in message(error)
    )
    # and the same 18 characters are a valid code
    assert validate_tax_id(code).kind == "uscc"


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (LEGACY_17, "an area code and a birth date"),
        ("440301851231123" + "45", "Shenzhen Futian, born 1985-12-31"),
        ("1101081234567ABCD", "not the shape of a code: area 110108 then 1234567ABCD"),
        ("8231011512345678" + "9", "8 工会 registers no kind 2"),
        ("9431011512345678" + "9", "9 工商 registers no kind 4"),
        ("B1310115123456789", "B is no registration authority"),
        ("9131011512345678" + "A", "an organisation code's check is a digit or X"),
    ],
)
def test_other_17_character_ids_keep_the_old_id_warning(value, why):
    tax_id = validate_tax_id(value)
    assert (tax_id.value, tax_id.kind) == (value, "legacy"), why
    assert "old 17-character taxpayer id" in tax_id.warning


def test_an_old_id_that_also_has_the_shape_of_a_code_is_an_old_id():
    # 11 is Beijing and also 机构编制 / 机关: the birth date decides
    assert looks_like_uscc(LEGACY_17) and is_legacy_17(LEGACY_17)
    assert validate_tax_id(LEGACY_17).kind == "legacy"


@pytest.mark.parametrize(
    ("value", "legacy"),
    [
        (LEGACY_17, True),
        ("110101901301001" + "23", False),  # month 13
        ("110101900230001" + "23", False),  # 30 February
        ("000000900101001" + "23", False),  # no such area
        ("11010190010100A" + "23", False),  # not all digits
    ],
)
def test_what_a_genuine_17_character_old_id_is(value, legacy):
    assert is_legacy_17(value) is legacy


def test_shape_of_a_code():
    assert looks_like_uscc(SPEC_USCC) and looks_like_uscc(SPEC_USCC[:17])
    assert not looks_like_uscc(SPEC_USCC[:16])
    assert not looks_like_uscc("9" + SPEC_USCC[2:])  # no kind character
    assert not looks_like_uscc("91ABCDEF" + SPEC_USCC[8:])  # the area code is 6 digits
    assert not looks_like_uscc("")


def test_an_18_character_code_with_a_wrong_check_is_still_checked_as_one():
    error = refused(validate_tax_id, SPEC_USCC[:17] + "1")
    assert error.code == "tax_id_check" and "should be 0, not 1" in message(error)


# --- invoice numbers ---------------------------------------------------------------------


@pytest.mark.parametrize("code", ["1" * 10, "1" * 11, "1" * 12])
def test_code_and_8_digit_number(code):
    assert validate_invoice_number(code, "01234567") == (code, "01234567")


def test_20_digit_number_without_code():
    assert validate_invoice_number("", "12345678901234567890") == ("", "12345678901234567890")
    assert validate_invoice_number(" ", " 1234 5678 9012 3456 7890 ") == (
        "",
        "12345678901234567890",
    )


@pytest.mark.parametrize(
    ("code", "number", "says"),
    [
        ("1" * 9, "01234567", "this one has 9"),
        ("1" * 13, "01234567", "this one has 13"),
        ("1" * 10, "1234567", "this one has 7"),
        ("1" * 10, "123456789", "this one has 9"),
        ("", "1" * 19, "this one has 19"),
        ("", "1" * 21, "this one has 21"),
        ("", "01234567", "need their invoice code"),
        ("1" * 10, "0123456A", "not A"),
        ("1" * 9 + "-", "01234567", "not -"),
        ("", "1" * 19 + "X", "not X"),
        ("1" * 10, "1" * 20, "has no invoice code"),
    ],
)
def test_invalid_invoice_numbers(code, number, says):
    error = refused(validate_invoice_number, code, number)
    assert error.code == "invoice_number_format"
    assert says in message(error)


def test_missing_invoice_number():
    assert refused(validate_invoice_number, "1" * 10, "").code == "required"


# --- uploaded invoice files --------------------------------------------------------------

PDF, PNG, JPEG = PDF_BYTES, PNG_BYTES, JPEG_BYTES


def zipped(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name in names:
            z.writestr(name, "<ofd:OFD xmlns:ofd='http://www.ofdspec.org/2016'/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content", "name", "expected"),
    [
        (PDF, "invoice.pdf", DetectedFile("application/pdf", "pdf")),
        (PNG, "scan.png", DetectedFile("image/png", "png")),
        (JPEG, "photo.jpeg", DetectedFile("image/jpeg", "jpg")),
        (
            zipped("OFD.xml", "Doc_0/Document.xml"),
            "invoice.ofd",
            DetectedFile("application/ofd", "ofd"),
        ),
        (PDF, "invoice.png", DetectedFile("application/pdf", "pdf")),  # content, not name
    ],
)
def test_accepted_files(content, name, expected):
    f = SimpleUploadedFile(name, content)
    f.read(3)
    assert detect_upload(f) == expected
    assert f.tell() == 0


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (zipped("Doc_0/OFD.xml", "Doc_0/Document.xml"), "no OFD.xml"),
        (b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 56 + b"This program cannot be run", "PDF, OFD"),
        (b"This is not a PDF, just text.\n", "PDF, OFD"),
        (b"PK\x03\x04 truncated zip", "no OFD.xml"),
    ],
)
def test_refused_file_types(content, says):
    f = SimpleUploadedFile("invoice.pdf", content, content_type="application/pdf")
    error = refused(detect_upload, f)
    assert error.code == "file_type"
    assert says in message(error)
    assert f.tell() == 0


def test_empty_file_is_refused():
    assert refused(detect_upload, SimpleUploadedFile("a.pdf", b"")).code == "file_empty"


def test_size_limit(settings):
    settings.INVOICE_UPLOAD_MAX_BYTES = 1000
    at_limit = PDF + b"0" * (1000 - len(PDF))
    assert detect_upload(SimpleUploadedFile("a.pdf", at_limit)).extension == "pdf"
    error = refused(detect_upload, SimpleUploadedFile("a.pdf", at_limit + b"0"))
    assert error.code == "file_too_large"
    assert "1001" in message(error) and "1000" in message(error)


def test_an_area_code_stdnum_lists_without_a_county_is_refused_not_a_crash():
    # python-stdnum's resident-id check raises KeyError("county") for some area codes
    with pytest.raises(ValidationError) as refused:
        validate_tax_id("223646199001017792")
    assert refused.value.code in {"resident_id_invalid", "tax_id_check"}


def test_no_18_digit_string_raises_anything_but_a_validation_error():
    import random

    rng = random.Random(14)
    for _ in range(20_000):
        code = "".join(rng.choice("0123456789") for _ in range(17)) + rng.choice("0123456789X")
        try:
            validate_tax_id(code)
        except ValidationError:
            pass
