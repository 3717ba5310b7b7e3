#!/usr/bin/env python3
"""Writes bash and zsh completion for exitprof from its own --help (the same text the man
pages come from): subcommands from `exitprof --help`, options from `exitprof SUB --help`.

usage: gen_completions.py EXITPROF BASH_OUT ZSH_OUT
"""
import re
import subprocess
import sys


def help_text(binary, *args):
    return subprocess.run([binary, *args, "--help"], capture_output=True, text=True, check=True).stdout


def section(text, title):
    """Lines of one help section ("Options:", "Subcommands:"), up to the next blank line."""
    lines, inside = [], False
    for line in text.splitlines():
        if line.strip() == title:
            inside = True
        elif inside and not line.strip():
            break
        elif inside:
            lines.append(line)
    return lines


def options(text):
    """[(flags, takes_value, description)] from CLI11's "  -i,--input TEXT=perf.data  what" lines."""
    out = []
    for line in section(text, "Options:"):
        m = re.match(r"^\s+((?:-[\w-]+,?)+)(\s+(?:\[?[A-Z][A-Z:_]*\]?|\{[^}]*\})[^ ]*(?: \.\.\.)?)?(?:\s{2,}(.*))?$", line)
        if not m:
            continue
        flags = [f for f in m.group(1).split(",") if f]
        out.append((flags, bool(m.group(2)), (m.group(3) or "").strip()))
    return out


def main():
    binary, bash_out, zsh_out = sys.argv[1:4]
    top = help_text(binary)
    subs = []
    for line in section(top, "Subcommands:"):
        m = re.match(r"^\s+(\S+)\s{2,}(.*)$", line)
        if m:
            subs.append((m.group(1), m.group(2).strip()))
    per_sub = {name: options(help_text(binary, name)) for name, _ in subs}

    bash = ["# bash completion for exitprof, generated from `exitprof --help` at build time",
            "_exitprof() {",
            "  local cur prev sub i",
            "  cur=${COMP_WORDS[COMP_CWORD]}",
            "  prev=${COMP_WORDS[COMP_CWORD-1]}",
            "  sub=",
            "  for ((i = 1; i < COMP_CWORD; i++)); do",
            "    case ${COMP_WORDS[i]} in -*) ;; *) sub=${COMP_WORDS[i]}; break ;; esac",
            "  done",
            "  case $sub in"]
    bash.append('    "") COMPREPLY=($(compgen -W "%s --help --version" -- "$cur")); return ;;'
                % " ".join(n for n, _ in subs))
    for name, opts in per_sub.items():
        flags = " ".join(f for fl, _, _ in opts for f in fl)
        valued = "|".join(f for fl, v, _ in opts if v for f in fl)
        bash.append("    %s)" % name)
        if valued:
            bash.append('      case $prev in %s) COMPREPLY=($(compgen -f -- "$cur")); return ;; esac' % valued)
        bash.append('      COMPREPLY=($(compgen -W "%s" -- "$cur")) ;;' % flags)
    bash += ["  esac", "}", "complete -o default -F _exitprof exitprof", ""]

    def zq(s):
        return s.replace("\\", "\\\\").replace("'", "'\\''").replace("[", "\\[").replace("]", "\\]").replace(":", "\\:")

    zsh = ["#compdef exitprof", "# zsh completion for exitprof, generated from `exitprof --help` at build time", "",
           "_exitprof() {", "  local -a subcommands", "  subcommands=("]
    zsh += ["    '%s:%s'" % (n, zq(d)) for n, d in subs]
    zsh += ["  )", "  if (( CURRENT == 2 )); then", "    _describe -t commands 'exitprof subcommand' subcommands",
            "    return", "  fi", "  case ${words[2]} in"]
    for name, opts in per_sub.items():
        zsh.append("    %s)" % name)
        zsh.append("      _arguments \\")
        for flags, valued, desc in opts:
            spec = "{%s}" % ",".join(flags) if len(flags) > 1 else flags[0]
            exclusive = "'(%s)'" % " ".join(flags) if len(flags) > 1 else ""
            zsh.append("        %s%s'[%s]%s' \\" % (exclusive, spec, zq(desc), ":value:_files" if valued else ""))
        zsh.append("        '*:file:_files' ;;")
    zsh += ["  esac", "}", "", '_exitprof "$@"', ""]

    with open(bash_out, "w") as f:
        f.write("\n".join(bash))
    with open(zsh_out, "w") as f:
        f.write("\n".join(zsh))


if __name__ == "__main__":
    main()
