"""Runs one command in a pseudo-terminal, answering `a` (this fix and every remaining one of
its code) at each `Apply this fix [y,n,a,q,d,?]?` prompt, and prints what it cost, for
`findings_scale`'s `-i` row:

    answer_all.py -- COMMAND [ARG...]

Prints one line, `wall=S cpu=S peak=BYTES exit=N prompts=N`: the command's own CPU time and
peak RSS come from `wait4` (no /proc). What the terminal shows is read as it comes and thrown
away, keeping only a tail long enough to hold one prompt, so the driver stays small whatever
the report's size. A command still running after the deadline is killed (exit=-9)."""

import os
import pty
import re
import select
import signal
import sys
import time

DEADLINE = 600.0
PROMPT = re.compile(rb"Apply this fix \[y,n,a,q,d,\?\]\? ")
ANSI = re.compile(rb"\x1b\[[0-9;]*[A-Za-z]")
TAIL = 4096


def main():
    argv = sys.argv[sys.argv.index("--") + 1 :]
    started = time.monotonic()
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    tail = b""
    prompts = 0
    while True:
        if time.monotonic() - started > DEADLINE:
            os.kill(pid, signal.SIGKILL)
            break
        ready, _, _ = select.select([fd], [], [], 1.0)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the command has closed the terminal
            break
        if not chunk:
            break
        tail = (tail + chunk)[-TAIL:]
        if PROMPT.search(ANSI.sub(b"", tail)):
            prompts += 1
            tail = b""
            os.write(fd, b"a\n")
    _, status, usage = os.wait4(pid, 0)
    wall = time.monotonic() - started
    # ru_maxrss is in kilobytes on Linux, in bytes on macOS.
    peak = usage.ru_maxrss if sys.platform == "darwin" else usage.ru_maxrss * 1024
    code = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    print(f"wall={wall:.6f} cpu={cpu:.6f} peak={peak} exit={code} prompts={prompts}")


main()
