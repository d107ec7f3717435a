"""Splitting the shell of a workflow `run:` step (or of .ci/run) into the commands it calls.

Good enough for the plain shell CI steps are written in: continuation lines, `;`, `&&`, `||`,
pipes, `$( )`, redirections, leading `VAR=value` assignments and the `sudo env`/`exec` wrappers.
"""
from __future__ import annotations

import re
import shlex

SEPARATORS = {";", "&&", "||", "|", "&", "(", ")", "$(", "((", "))", ";;"}
REDIRECTIONS = {">", ">>", "<", "<<", "2>", "2>>", "&>", ">&", "<&"}
KEYWORDS = {"if", "then", "else", "elif", "fi", "do", "done", "while", "until", "for", "!", "{", "}"}
WRAPPERS = {"sudo", "env", "exec", "time", "command"}
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def _tokens(line: str) -> list[str]:
    lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|()<>")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    return list(lexer)


def _strip_prefixes(words: list[str]) -> list[str]:
    """Drop keywords, variable assignments and wrappers so the real command comes first."""
    index = 0
    while index < len(words):
        word = words[index]
        if word in KEYWORDS or ASSIGNMENT.match(word):
            index += 1
        elif word in WRAPPERS:
            index += 1
            while index < len(words) and words[index].startswith("-"):
                index += 1
        else:
            break
    return words[index:]


def commands(script: str) -> list[list[str]]:
    """Every simple command in `script`, as its words, in order of appearance."""
    found: list[list[str]] = []
    text = script.replace("\\\n", " ")
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        current: list[str] = []
        skip_next = False
        for token in _tokens(stripped):
            if skip_next:
                skip_next = False
                continue
            if token in REDIRECTIONS or re.fullmatch(r"[0-9]?[<>]+&?[0-9]?", token):
                skip_next = not token.endswith("&") and not re.search(r"&[0-9]$", token)
                continue
            if token in SEPARATORS or set(token) <= set(";&|()"):
                if current:
                    found.append(current)
                current = []
                continue
            current.append(token)
        if current:
            found.append(current)
    return [words for words in (_strip_prefixes(command) for command in found) if words]
