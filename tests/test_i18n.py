"""Every user-facing string in the templates goes through translation, and
every catalog (es, fr, de) is complete and compiles.

The catalog checks need GNU gettext (xgettext, msgmerge, msgfmt), as
``makemessages`` does; .ci/run installs it.
"""

from __future__ import annotations

import ast
import html
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.template.base import Lexer, TokenType

ROOT = Path(__file__).resolve().parents[1]
LOCALE = ROOT / "locale"
CATALOG_LANGUAGES = [code for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]
# What `make messages` ignores (Makefile MESSAGES_IGNORE).
EXTRACTION_IGNORES = [".venv", "tests", "bench", "staticfiles", "test-artifacts", "node_modules"]
TEMPLATES = sorted(
    p for p in (ROOT / "templates").rglob("*") if p.suffix in {".html", ".txt"} and p.is_file()
)
# Text that is the same in every language.
NEUTRAL = re.compile(r"^[\W\d_]*(Jam)?[\W\d_]*$")
# Attribute fragments of a tag split by template tags (body_attrs blocks).
ATTRIBUTES = re.compile(r"^((data|aria)-[\w-]+(=\S*)?\s*)+$")
TAG = re.compile(r"<[^>]*>", re.S)
RAW = re.compile(r"<(script|style|svg)\b.*?</\1>|<!--.*?-->", re.S)


def untranslated_text(source: str) -> list[str]:
    """Literal template text outside translation tags, HTML tags, comments,
    scripts and styles that contains letters."""
    flat = []
    inside_translation = 0
    for token in Lexer(source).tokenize():
        if token.token_type is TokenType.BLOCK:
            name = token.contents.split()[0] if token.contents else ""
            if name in ("blocktranslate", "blocktrans"):
                inside_translation += 1
            elif name in ("endblocktranslate", "endblocktrans"):
                inside_translation -= 1
            flat.append(" \x00 ")
        elif token.token_type is TokenType.TEXT and not inside_translation:
            flat.append(token.contents)
        else:
            flat.append(" \x00 ")
    text = RAW.sub(" ", "".join(flat))
    text = TAG.sub("\n", text)
    found = []
    for chunk in re.split(r"\n|\x00", text):
        words = html.unescape(chunk).strip()
        if (
            words
            and re.search(r"[^\W\d_]", words)
            and not NEUTRAL.match(words)
            and not ATTRIBUTES.match(words.strip("\"' "))
        ):
            found.append(words)
    return found


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT / "templates")))
def test_template_text_is_marked_for_translation(path: Path) -> None:
    assert untranslated_text(path.read_text()) == []


def test_the_check_finds_unmarked_text() -> None:
    source = (
        '<p>Hello</p>{% translate "Fine" %}<b>{{ name }}</b> · '
        "{% blocktranslate %}Ok {{ x }}{% endblocktranslate %}"
    )
    assert untranslated_text(source) == ["Hello"]


# --- Catalogs --------------------------------------------------------------


@dataclass(frozen=True)
class CatalogEntry:
    context: str | None
    msgid: str
    plural: str | None
    translations: tuple[str, ...]
    fuzzy: bool

    @property
    def label(self) -> str:
        return f"{self.context}|{self.msgid!r}" if self.context else repr(self.msgid)

    @property
    def translated(self) -> bool:
        return bool(self.translations) and all(self.translations)


def catalog_entries(path: Path) -> dict[tuple[str | None, str], CatalogEntry]:
    """The live entries of a .po file by (context, msgid), without the
    header and obsolete (#~) entries."""
    entries = {}
    for block in re.split(r"\n\s*\n", path.read_text(encoding="utf-8")):
        fields: dict[str, str] = {}
        fuzzy = False
        current = None
        for line in block.splitlines():
            if line.startswith("#,"):
                fuzzy = fuzzy or "fuzzy" in line
            elif line.startswith("#"):
                continue
            elif line.startswith('"') and current is not None:
                fields[current] += ast.literal_eval(line)
            elif line.strip():
                keyword, _space, value = line.partition(" ")
                current = keyword
                fields[current] = ast.literal_eval(value)
        if "msgid" not in fields or fields["msgid"] == "":
            continue
        if "msgid_plural" in fields:
            forms = sorted(k for k in fields if k.startswith("msgstr["))
            translations = tuple(fields[k] for k in forms)
        else:
            translations = (fields.get("msgstr", ""),)
        entry = CatalogEntry(
            context=fields.get("msgctxt"),
            msgid=fields["msgid"],
            plural=fields.get("msgid_plural"),
            translations=translations,
            fuzzy=fuzzy,
        )
        entries[entry.context, entry.msgid] = entry
    return entries


def catalog_path(root: Path, language: str) -> Path:
    return root / language / "LC_MESSAGES" / "django.po"


def catalog_problems(
    fresh: dict[tuple[str | None, str], CatalogEntry],
    committed: dict[tuple[str | None, str], CatalogEntry],
) -> list[str]:
    problems = []
    for key, entry in fresh.items():
        if key not in committed:
            problems.append(f"new: {entry.label}")
        elif entry.fuzzy:
            problems.append(f"fuzzy: {entry.label}")
        elif not entry.translated:
            problems.append(f"untranslated: {entry.label}")
    return problems


# In CI (which installs gettext) these run, and fail if it is missing.
needs_gettext = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("xgettext", "msgmerge", "msgfmt"))
    and not os.environ.get("CI"),
    reason="needs GNU gettext",
)


@pytest.mark.parametrize("language", CATALOG_LANGUAGES)
def test_committed_catalog_is_complete(language: str) -> None:
    """No untranslated or fuzzy string, every plural form filled."""
    entries = catalog_entries(catalog_path(LOCALE, language))
    assert entries, f"no catalog for {language}"
    assert [p for p in catalog_problems(entries, entries) if not p.startswith("new")] == []


@needs_gettext
@pytest.mark.parametrize("language", CATALOG_LANGUAGES)
def test_committed_catalog_compiles(language: str) -> None:
    """msgfmt --check: the header, the plural forms and that each
    translation keeps the placeholders of its msgid."""
    result = subprocess.run(  # noqa: S603
        ["msgfmt", "--check", "-o", os.devnull, str(catalog_path(LOCALE, language))],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr, result.stderr


def extraction_tree(tmp_path: Path) -> Path:
    """A tree for ``makemessages`` to walk: links to the project's files and a
    copy of its catalogs. (Run in the project itself, makemessages always
    writes to ./locale, whatever LOCALE_PATHS says.)"""
    tree = tmp_path / "tree"
    tree.mkdir()
    for child in ROOT.iterdir():
        if child.name.startswith(".") or child.name in {"locale", *EXTRACTION_IGNORES}:
            continue
        (tree / child.name).symlink_to(child)
    shutil.copytree(LOCALE, tree / "locale", ignore=shutil.ignore_patterns("*.mo"))
    return tree


@needs_gettext
def test_every_string_in_the_code_is_in_every_catalog_and_translated(tmp_path: Path) -> None:
    """`make messages` run now would add nothing: the code and templates have
    no string that is new, untranslated or fuzzy in a committed catalog."""
    tree = extraction_tree(tmp_path)
    command = [sys.executable, str(ROOT / "manage.py"), "makemessages", "--symlinks"]
    command += [f"-l{language}" for language in CATALOG_LANGUAGES]
    command += ["--no-location", "--no-obsolete"]
    command += [f"--ignore={pattern}" for pattern in EXTRACTION_IGNORES]
    env = {
        **os.environ,
        "JAM_LOCALE_DIR": str(tree / "locale"),
        "DJANGO_SETTINGS_MODULE": "jamsite.settings.test",
    }
    result = subprocess.run(  # noqa: S603
        command, cwd=tree, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    problems = []
    for language in CATALOG_LANGUAGES:
        fresh = catalog_entries(catalog_path(tree / "locale", language))
        committed = catalog_entries(catalog_path(LOCALE, language))
        assert fresh, f"makemessages wrote no catalog for {language}"
        problems += [f"{language} {p}" for p in catalog_problems(fresh, committed)]
    assert problems == [], "run `make messages` and translate:\n" + "\n".join(problems)


def test_the_catalog_check_finds_new_fuzzy_and_untranslated(tmp_path: Path) -> None:
    po = tmp_path / "django.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Language: es\\n"\n\n'
        'msgid "Done"\nmsgstr "Hecho"\n\n'
        '#, fuzzy\nmsgid "Vote"\nmsgstr "Votar"\n\n'
        'msgid "Topic"\nmsgstr ""\n\n'
        'msgctxt "verb"\nmsgid "Pass"\nmsgstr "Paso"\n\n'
        'msgid "one idea"\nmsgid_plural "%(n)s ideas"\nmsgstr[0] "una idea"\nmsgstr[1] ""\n\n'
        '#~ msgid "Gone"\n#~ msgstr ""\n',
        encoding="utf-8",
    )
    fresh = catalog_entries(po)
    committed = {key: entry for key, entry in fresh.items() if key != ("verb", "Pass")}
    assert catalog_problems(fresh, committed) == [
        "fuzzy: 'Vote'",
        "untranslated: 'Topic'",
        "new: verb|'Pass'",
        "untranslated: 'one idea'",
    ]
