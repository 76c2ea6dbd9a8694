"""Chinese first (spec: the UI speaks Chinese first, English too): every message of the code has
a Chinese translation, none is a guess left fuzzy, and the compiled catalogue the site loads is
the one in the source. (`make messages` refreshes both after strings change.)"""

from __future__ import annotations

from pathlib import Path

import polib

CATALOGUE = Path(__file__).resolve().parent.parent / "locale" / "zh_Hans" / "LC_MESSAGES"


def entries(catalogue: polib._BaseFile) -> dict:
    return {
        (e.msgctxt, e.msgid): e.msgstr or tuple(sorted(e.msgstr_plural.items()))
        for e in catalogue
        if e.msgid
    }


def test_every_message_has_a_chinese_translation_and_none_is_fuzzy():
    po = polib.pofile(str(CATALOGUE / "django.po"))
    missing = [e.msgid for e in po if not e.translated()]
    fuzzy = [e.msgid for e in po if e.fuzzy]
    assert not missing, f"untranslated: {missing[:10]}"
    assert not fuzzy, f"fuzzy: {fuzzy[:10]}"


def test_the_compiled_catalogue_is_the_source():
    po = polib.pofile(str(CATALOGUE / "django.po"))
    mo = polib.mofile(str(CATALOGUE / "django.mo"))
    assert entries(mo) == entries(po), "run `make messages` (compilemessages)"
