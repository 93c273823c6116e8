"""Runs one command in a pseudo-terminal, as a person at a terminal would, for the tests that
need a real one (tests/common/mod.rs, `on_a_terminal`):

    pty_session.py [--stdin pty|null] [--stdout pty|null] [--columns N] [--type TEXT]
                   [--answer TEXT]... [--plain] -- COMMAND [ARG...]

stderr is always the terminal; stdin and stdout are too unless given `null` (/dev/null).
`--columns` gives the terminal a width (24 rows). `--type` types TEXT before the command reads
anything; each `--answer` is typed, with a newline, at the next `Apply this fix [y,n,a,q,d,?]?`
prompt, in order. The environment and the working directory are the driver's own.

Prints every byte the terminal received (with `--plain`: escape sequences removed and CRLF made
LF, the text a person reads) and exits with the command's exit code. Every read has a deadline,
so a hung command fails the test instead of hanging CI: it is killed and the driver exits 124; a
prompt with no answer left kills it too (exit 125). Either way the driver says why on its own
stderr, which is otherwise empty."""

import argparse
import fcntl
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time

DEADLINE = 60.0
PROMPT = re.compile(rb"Apply this fix \[y,n,a,q,d,\?\]\? ")
ANSI = re.compile(rb"\x1b\[[0-9;]*[A-Za-z]")


def spawn(argv, stdin_on_pty, stdout_on_pty, columns):
    """Forks the command with the terminal's other end as its stdin, stdout and stderr (and its
    controlling terminal), then points the streams that are not meant to be there at /dev/null."""
    pid, fd = pty.fork()
    if pid == 0:
        try:
            if columns:
                fcntl.ioctl(2, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
            null = os.open(os.devnull, os.O_RDWR)
            if not stdin_on_pty:
                os.dup2(null, 0)
            if not stdout_on_pty:
                os.dup2(null, 1)
            os.execvp(argv[0], argv)
        except BaseException as err:  # noqa: BLE001 - the child must never return
            os.write(2, f"pty_session.py: cannot run {argv[0]}: {err}\n".encode())
        os._exit(127)
    return pid, fd


def kill(pid):
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)


def drive(pid, fd, typed, answers):
    """Reads the terminal until the command closes it, answering prompts; returns what it
    showed and the command's exit code, or a reason the driver gave up."""
    if typed:
        os.write(fd, typed.encode())
    out = b""
    answers = list(answers)
    start = time.monotonic()
    seen_prompts = 0
    while True:
        left = DEADLINE - (time.monotonic() - start)
        if left <= 0:
            kill(pid)
            return out, None, f"timed out after {DEADLINE:.0f} s"
        ready, _, _ = select.select([fd], [], [], min(left, 1.0))
        if not ready:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: every holder of the terminal's other end has closed it
            break
        if not chunk:
            break
        out += chunk
        prompts = len(PROMPT.findall(ANSI.sub(b"", out)))
        if prompts > seen_prompts:
            seen_prompts = prompts
            if not answers:
                kill(pid)
                return out, None, "asked more than scripted"
            os.write(fd, answers.pop(0).encode() + b"\n")
    _, status = os.waitpid(pid, 0)
    return out, os.waitstatus_to_exitcode(status), None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--stdin", choices=["pty", "null"], default="pty")
    parser.add_argument("--stdout", choices=["pty", "null"], default="pty")
    parser.add_argument("--columns", type=int)
    parser.add_argument("--type", default="")
    parser.add_argument("--answer", action="append", default=[])
    parser.add_argument("--plain", action="store_true")
    parser.add_argument("command", nargs="+")
    args = parser.parse_args()
    pid, fd = spawn(args.command, args.stdin == "pty", args.stdout == "pty", args.columns)
    out, code, failure = drive(pid, fd, args.type, args.answer)
    if args.plain:
        out = ANSI.sub(b"", out).replace(b"\r\n", b"\n")
    sys.stdout.buffer.write(out)
    sys.stdout.flush()
    if failure is not None:
        sys.stderr.write(f"pty_session.py: {args.command[0]}: {failure}\n")
        sys.exit(124 if failure.startswith("timed out") else 125)
    # A command killed by a signal has a negative code: report it as a shell would.
    sys.exit(code if code >= 0 else 128 - code)


main()
