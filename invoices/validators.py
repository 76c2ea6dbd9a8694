"""Validation of what consumers and merchants type or upload (spec 3).

Tax ids: the 18-character unified social credit code (GB 32100-2015) with its check character,
an 18-digit resident id for sole traders (GB 11643), or an older 15/17/20-character taxpayer id
accepted by format with a warning. A 17-character string shaped like a unified social credit
code (`looks_like_uscc`) is not an old id but a code missing its check character: refused,
with the completed code suggested; a genuine 17-character old id (a 15-digit resident id, i.e.
an area code and a birth date, plus two digits) keeps its warning. Invoice numbers: a 10-12
digit code plus an 8-digit number, or one 20-digit 数电票 number. (Uploads are checked by
`core.uploads`.)
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum import numdb
from stdnum.cn import ric
from stdnum.exceptions import ValidationError as StdnumError

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, Z, S, V
LEGACY_LENGTHS = (15, 17, 20)
_RESIDENT_ID = re.compile(r"[0-9]{17}[0-9X]")
# GB 32100-2015: the registration authority (1st character) and the kinds of entity it
# registers (2nd character).
USCC_AUTHORITY_KINDS: dict[str, str] = {
    "1": "1239",  # 机构编制: 机关, 事业单位, 群众团体, 其他
    "2": "19",  # 外交
    "3": "1234569",  # 司法行政
    "4": "19",  # 文化
    "5": "1239",  # 民政: 社会团体, 民办非企业单位, 基金会, 其他
    "6": "129",  # 旅游
    "7": "129",  # 宗教
    "8": "19",  # 工会
    "9": "123",  # 工商: 企业, 个体工商户, 农民专业合作社
    "A": "19",  # 中央军委改革和编制办公室
    "N": "1239",  # 农业
    "Y": "1",  # 其他
}
_USCC_BODY = re.compile(
    # a 6-digit area code, then the organisation code (GB 11714): 8 characters and its check
    # character (a digit or X); the 18th character, if there, is the code's own check.
    rf"[0-9]{{6}}[{USCC_ALPHABET}]{{8}}[0-9X][{USCC_ALPHABET}]?"
)
_LEGACY_17 = re.compile(r"[0-9]{17}")


@dataclass(frozen=True)
class TaxId:
    value: str
    kind: str  # "uscc" | "resident_id" | "legacy"
    warning: str | None


def _normalise(value: str | None) -> str:
    """Full-width to ASCII (NFKC), whitespace and invisible format characters removed, upper."""
    text = unicodedata.normalize("NFKC", value or "")
    return "".join(c for c in text if not c.isspace() and unicodedata.category(c) != "Cf").upper()


def uscc_check_char(first17: str) -> str:
    """Return the GB 32100-2015 check character of the first 17 characters (weights 3^i mod 31).

    Written out because python-stdnum's `cn.uscc` refuses codes whose registration authority
    (first character) is A, N or Y, which are valid codes issued today.
    """
    total = sum(USCC_ALPHABET.index(c) * pow(3, i, 31) for i, c in enumerate(first17))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def looks_like_uscc(code: str) -> bool:
    """`code` (normalised) has the shape of a unified social credit code, with or without its
    18th (check) character: a registration authority and a kind it registers, a 6-digit area
    code and an organisation code."""
    kinds = USCC_AUTHORITY_KINDS.get(code[:1], "")
    return (  # (the length first: code[1] exists)
        len(code) in (17, 18) and code[1] in kinds and _USCC_BODY.fullmatch(code[2:]) is not None
    )


def is_legacy_17(code: str) -> bool:
    """`code` (normalised) is a genuine 17-character old taxpayer id: a 15-digit resident id (a
    known area code and a YYMMDD birth date) and two more digits."""
    if not _LEGACY_17.fullmatch(code):
        return False
    if not any(props for _part, props in numdb.get("cn/loc").info(code[:6])):
        return False
    try:
        date(1900 + int(code[6:8]), int(code[8:10]), int(code[10:12]))
    except ValueError:
        return False
    return True


def _resident_id_error(code: str) -> ValidationError | None:
    """What is wrong with an invalid 18-digit code that looks like a resident id (has a birth
    date), or None when it does not look like one."""
    if not _RESIDENT_ID.fullmatch(code):
        return None
    try:
        if not 1900 <= ric.get_birth_date(code).year < 2100:
            return None
    except StdnumError:
        return None
    expected = ric.calc_check_digit(code)
    if code[17] != expected:
        return ValidationError(
            _(
                "The last character of this resident id number should be %(expected)s, "
                "not %(given)s. Please check the number."
            ),
            code="resident_id_invalid",
            params={"expected": expected, "given": code[17]},
        )
    return ValidationError(
        _("The first six digits of this resident id number are not a known area code."),
        code="resident_id_invalid",
    )


def _is_resident_id(code: str) -> bool:
    """python-stdnum's check of an 18-digit resident id, which raises KeyError (not its own
    error) for some area codes its table lists without a county: those are not valid ids."""
    try:
        return ric.is_valid(code)
    except (KeyError, IndexError):
        return False


def validate_tax_id(value: str) -> TaxId:
    """Normalise and check a tax id; raise ValidationError saying what is wrong."""
    code = _normalise(value)
    if not code:
        raise ValidationError(_("Enter the tax id."), code="required")
    if len(code) == 18:
        if _RESIDENT_ID.fullmatch(code) and _is_resident_id(code):
            return TaxId(code, "resident_id", None)
        for i, c in enumerate(code):
            if c not in USCC_ALPHABET:
                raise ValidationError(
                    _(
                        "Character %(char)s at position %(pos)d is not allowed in a unified "
                        "social credit code (I, O, Z, S and V are never used)."
                    ),
                    code="tax_id_char",
                    params={"char": c, "pos": i + 1},
                )
        expected = uscc_check_char(code[:17])
        if code[17] == expected:
            return TaxId(code, "uscc", None)
        resident_error = _resident_id_error(code)
        if resident_error is not None:
            raise resident_error
        raise ValidationError(
            _(
                "The check character is wrong: the 18th character should be %(expected)s, "
                "not %(given)s. Please check the code."
            ),
            code="tax_id_check",
            params={"expected": expected, "given": code[17]},
        )
    if len(code) == 17 and looks_like_uscc(code) and not is_legacy_17(code):
        completed = code + uscc_check_char(code)
        raise ValidationError(
            _(
                "This looks like a unified social credit code missing its last character "
                "(perhaps %(completed)s). Please enter all 18 characters."
            ),
            code="tax_id_uscc_short",
            params={"completed": completed},
        )
    if len(code) in LEGACY_LENGTHS:
        bad = next((c for c in code if not ("0" <= c <= "9" or "A" <= c <= "Z")), None)
        if bad is not None:
            raise ValidationError(
                _("Character %(char)s is not allowed: a tax id has only digits and letters."),
                code="tax_id_char",
                params={"char": bad},
            )
        warning = _(
            "This is an old %(n)d-character taxpayer id; the shop may ask for the "
            "18-character unified social credit code."
        )
        return TaxId(code, "legacy", str(warning) % {"n": len(code)})
    raise ValidationError(
        _(
            "A tax id has 18 characters (unified social credit code), or 15, 17 or 20 for older "
            "ids; this one has %(n)d."
        ),
        code="tax_id_length",
        params={"n": len(code)},
    )


def tax_id_validator(value: str) -> None:
    """Field validator form of `validate_tax_id`."""
    validate_tax_id(value)


def validate_invoice_number(invoice_code: str, invoice_number: str) -> tuple[str, str]:
    """Return normalised (code, number): 10-12 digit code + 8-digit number, or 20 digits alone."""
    code, number = _normalise(invoice_code), _normalise(invoice_number)

    def fail(message, **params) -> ValidationError:
        return ValidationError(message, code="invoice_number_format", params=params or None)

    if not number:
        raise ValidationError(_("Enter the invoice number."), code="required")
    for c in code + number:
        if not "0" <= c <= "9":
            raise fail(_("Invoice codes and numbers have digits only, not %(char)s."), char=c)
    if len(number) == 20:
        if code:
            raise fail(_("A 20-digit fully digital invoice number has no invoice code."))
        return "", number
    if not code:
        raise fail(
            _(
                "Without an invoice code the invoice number has 20 digits (fully digital "
                "invoice); this one has %(n)d. Older invoices also need their invoice code."
            ),
            n=len(number),
        )
    if not 10 <= len(code) <= 12:
        raise fail(_("An invoice code has 10 to 12 digits; this one has %(n)d."), n=len(code))
    if len(number) != 8:
        raise fail(
            _("With an invoice code the invoice number has 8 digits; this one has %(n)d."),
            n=len(number),
        )
    return code, number
