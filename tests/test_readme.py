"""Every `manage.py` command the README shows works as pasted: the command exists and takes
the arguments shown, run with the venv's Python from the project root."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from django.core.management import get_commands, load_command_class

README = Path(__file__).resolve().parent.parent / "README.md"
# In a code block or inline code: [VAR=value ...] .venv/bin/python manage.py <command> <args>
LINE = re.compile(r"(?:^|`)((?:[A-Z_]+=\S+ )*\S*python\S* manage\.py [^`\n]+)", re.M)


def readme_commands() -> list[str]:
    return sorted(set(m.group(1).strip() for m in LINE.finditer(README.read_text())))


def test_the_readme_shows_commands():
    assert len(readme_commands()) >= 8


@pytest.mark.parametrize("line", readme_commands())
def test_a_readme_command_works_as_pasted(line):
    words = shlex.split(line)
    while "=" in words[0]:
        words.pop(0)  # environment variables
    python, script, name, *args = words
    assert (python, script) == (".venv/bin/python", "manage.py"), line
    commands = get_commands()
    assert name in commands, f"no command {name!r}"
    command = load_command_class(commands[name], name)
    command.create_parser("manage.py", name).parse_args(args)  # exits on bad arguments
