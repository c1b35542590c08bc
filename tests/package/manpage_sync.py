#!/usr/bin/python3
"""manpage_sync.py -- faultline(1) and the bash completion agree with --help.

usage: manpage_sync.py FAULTLINE SOURCE_DIR [--expect-undocumented CMD]

Reads the commands, options and exit statuses that `FAULTLINE --help` and
`FAULTLINE CMD --help` print, and checks dist/man/faultline.1:
  * every command has a `.SS CMD` subsection under COMMANDS, and every
    subsection there names a command --help lists;
  * every option `FAULTLINE CMD --help` prints (usage line and option table)
    appears in that subsection, and every option a `.TP` item of the
    subsection introduces is one CMD accepts;
  * the options common to all commands are in OPTIONS, both ways;
  * the exit statuses are those listed under EXIT STATUS, both ways.
Both pages must render without groff warnings.  Then checks
dist/bash-completion/faultline: it offers exactly the commands
(plus --help and --version), after `CMD --` every long option of CMD, and
after `rollback -p DIR` the version ids `faultline versions` lists.

A command added to the program without documentation makes this fail, on
purpose.  --expect-undocumented CMD inverts the verdict for that one case:
success only if the check reports CMD as undocumented (used by the ctest that
proves the check catches a new command).  Run by ctest as package_manpage_sync.
"""
import os
import re
import subprocess
import sys
import tempfile

OPT_RE = re.compile(r"(?:^|(?<=[\s\[,|]))(--?[A-Za-z][A-Za-z0-9-]*)")


def help_text(exe, *args):
    r = subprocess.run([exe, *args, "--help"], capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise SystemExit(f"FAIL: `{' '.join([exe, *args])} --help` exited {r.returncode}: {r.stderr}")
    return r.stdout


def section(text, title):
    """Lines after a line starting with `title` up to the next unindented line."""
    out, on = [], False
    for line in text.splitlines():
        if line.startswith(title):
            on = True
            continue
        if on and line and not line[0].isspace():
            break
        if on:
            out.append(line)
    return out


def option_part(line):
    """An option-table line without its description: '-p, --policy DIR'."""
    return re.split(r"\s{2,}", line.strip(), maxsplit=1)[0]


def options_of(lines):
    return {m for line in lines for m in OPT_RE.findall(line)}


def command_options(text):
    """Options in the usage line(s) and the option table of `CMD --help`."""
    lines = text.splitlines()
    picked = []
    for i, line in enumerate(lines):
        if i == 0 or (picked is not None and line[:1].isspace() and i == len(picked)):
            picked.append(line)  # usage line and its indented continuation
        else:
            break
    table = [option_part(l) for l in lines[len(picked):] if re.match(r"^\s+-", l)]
    return options_of(picked) | options_of(table)


def roff_plain(s):
    s = s.replace("\\-", "-").replace("\\&", "").replace("\\(dq", '"').replace("\\(aq", "'")
    s = re.sub(r"\\f[BIRP]", "", s)
    return s


def parse_man(path):
    """{(section, subsection): [lines]}; macro lines keep their arguments."""
    parts, sh, ss = {}, None, None
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.rstrip("\n")
            if line.startswith('.\\"'):
                continue
            m = re.match(r'^\.(SH|SS)\s+"?([^"]*)"?\s*$', line)
            if m:
                if m.group(1) == "SH":
                    sh, ss = m.group(2).strip(), None
                else:
                    ss = m.group(2).strip()
                parts.setdefault((sh, ss), [])
                continue
            parts.setdefault((sh, ss), []).append(roff_plain(line))
    return parts


def tp_options(lines):
    """Options introduced by `.TP` items (the line after each .TP)."""
    out = set()
    for i, line in enumerate(lines):
        if line.strip() == ".TP" and i + 1 < len(lines):
            item = re.sub(r"^\.[A-Z]+\s*", "", lines[i + 1]).replace('"', " ")
            out |= options_of([item])
    return out


def words(lines):
    text = " ".join(re.sub(r"^\.[A-Z]+\s*", "", l).replace('"', " ") for l in lines)
    return options_of([text])


def main(argv):
    if len(argv) not in (3, 5) or (len(argv) == 5 and argv[3] != "--expect-undocumented"):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    exe, src = argv[1], argv[2]
    expect_missing = argv[4] if len(argv) == 5 else None
    errors = []

    top = help_text(exe)
    commands = [m.group(1) for l in section(top, "Commands:") if (m := re.match(r"^  ([a-z][a-z0-9-]*)\b", l))]
    common = options_of(option_part(l) for l in section(top, "Options common") if re.match(r"^\s+-", l))
    statuses = {m.group(1) for l in section(top, "Exit status:") if (m := re.match(r"^\s+(\d+)\s", l))}
    if not commands or not common or not statuses:
        errors.append(f"could not read commands/options/exit statuses from `{exe} --help`")

    man = parse_man(os.path.join(src, "dist", "man", "faultline.1"))
    documented = [ss for (sh, ss) in man if sh == "COMMANDS" and ss]
    for cmd in commands:
        if cmd not in documented:
            errors.append(f"faultline(1) does not document command '{cmd}' (listed by faultline --help): "
                          f"add a '.SS {cmd}' subsection under COMMANDS")
            continue
        lines = man[("COMMANDS", cmd)]
        opts = command_options(help_text(exe, cmd))
        for o in sorted(opts - words(lines)):
            errors.append(f"faultline(1), command {cmd}: option {o} (printed by faultline {cmd} --help) is not documented")
        for o in sorted(tp_options(lines) - opts - common):
            errors.append(f"faultline(1), command {cmd}: documents option {o}, which faultline {cmd} --help does not print")
    for ss in documented:
        if ss not in commands:
            errors.append(f"faultline(1) documents command '{ss}', which faultline --help does not list")
    opt_lines = man.get(("OPTIONS", None), [])
    for o in sorted(common - words(opt_lines)):
        errors.append(f"faultline(1), OPTIONS: common option {o} (printed by faultline --help) is not documented")
    for o in sorted(tp_options(opt_lines) - common):
        errors.append(f"faultline(1), OPTIONS: documents {o}, which faultline --help does not print as a common option")
    exit_lines = man.get(("EXIT STATUS", None), [])
    man_statuses = {m.group(1) for i, l in enumerate(exit_lines)
                    if i and exit_lines[i - 1].strip() == ".TP" and (m := re.match(r"^\.B\s+(\d+)\s*$", l))}
    if man_statuses != statuses:
        errors.append(f"faultline(1), EXIT STATUS lists {sorted(man_statuses)}; faultline --help lists {sorted(statuses)}")

    # Both pages render without groff warnings (when groff is installed).
    groff = "/usr/bin/groff"
    if os.access(groff, os.X_OK):
        for page in ("faultline.1", "faultline-policy.5"):
            r = subprocess.run([groff, "-t", "-man", "-ww", "-z", os.path.join(src, "dist", "man", page)],
                               capture_output=True, text=True, timeout=60)
            if r.returncode != 0 or r.stderr.strip():
                errors.append(f"{page}: groff warns: {r.stderr.strip()}")
    else:
        print("skip: groff not installed; the pages were not rendered")

    # The bash completion, run against the same binary.
    comp = os.path.join(src, "dist", "bash-completion", "faultline")

    def complete(*words_):
        script = ('source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); '
                  '_faultline; printf "%s\\n" "${COMPREPLY[@]}"')
        r = subprocess.run(["bash", "-c", script, "_", comp, exe, *words_], capture_output=True, text=True, timeout=60)
        return {w for w in r.stdout.splitlines() if w}

    got = complete("")
    want = set(commands) | {"--help", "--version"}
    if got != want:
        errors.append(f"bash completion offers {sorted(got)} for a command; want {sorted(want)}")
    for cmd in commands:
        longs = {o for o in command_options(help_text(exe, cmd)) if o.startswith("--")}
        got = complete(cmd, "--")
        for o in sorted(longs - got):
            errors.append(f"bash completion of '{cmd} --' lacks {o}")

    # rollback completes the archived version ids of the -p DIR on the line.
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "00-policy.lua"), "w") as f:
            f.write('policy { name = "completion", version = "1" }\n'
                    'rule "r" { when = { message = "x" }, category = "internal" }\n')
        subprocess.run([exe, "eval", "-p", tmp, "--watch"], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=60)
        r = subprocess.run([exe, "versions", "-p", tmp], capture_output=True, text=True, timeout=60)
        ids = set(re.findall(r"^[* ] ([0-9a-f]+)  ", r.stdout, re.M))
        if not ids:
            errors.append(f"no archived version to complete after `eval --watch`: {r.stdout}{r.stderr}")
        got = complete("rollback", "-p", tmp, "")
        if got != ids:
            errors.append(f"bash completion of 'rollback -p DIR' offers {sorted(got)}; want the ids {sorted(ids)}")

    if expect_missing is not None:
        hit = [e for e in errors if f"does not document command '{expect_missing}'" in e]
        if hit:
            print(f"ok: the undocumented command '{expect_missing}' is reported: {hit[0]}")
            return 0
        print(f"FAIL: the undocumented command '{expect_missing}' was not reported; errors: {errors}")
        return 1
    for e in errors:
        print(f"FAIL: {e}")
    if errors:
        return 1
    print(f"ok: faultline(1) and the bash completion match --help: commands {commands}, "
          f"common options {sorted(common)}, exit statuses {sorted(statuses)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
