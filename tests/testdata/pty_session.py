"""Drives instar-doctor in a pseudo-terminal, as a person would: argv[1] is the binary, argv[2]
the agent's folder (the working directory), each later argument one `-i` session's answers
(space-separated), given in order at each `Apply this fix [y,n,a,q,d,?]?` prompt. Runs a check,
the `-i` sessions, then `undo`; prints each one's transcript between markers and its exit status.
Every read has a deadline: a hung doctor fails the test instead of hanging CI."""

import os
import pty
import re
import select
import signal
import sys
import time

DEADLINE = 60.0
PROMPT = re.compile(rb"Apply this fix \[y,n,a,q,d,\?\]\? ")
ANSI = re.compile(rb"\x1b\[[0-9;]*[A-Za-z]")


def session(argv, cwd, answers):
    env = dict(os.environ)
    env.pop("CI", None)
    env.pop("NO_COLOR", None)
    env["COLUMNS"] = "100"
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(cwd)
        os.execve(argv[0], argv, env)
    out = b""
    answers = list(answers)
    start = time.monotonic()
    seen_prompts = 0
    while True:
        left = DEADLINE - (time.monotonic() - start)
        if left <= 0:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return out, "timeout"
        ready, _, _ = select.select([fd], [], [], min(left, 1.0))
        if not ready:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
        prompts = len(PROMPT.findall(ANSI.sub(b"", out)))
        if prompts > seen_prompts:
            seen_prompts = prompts
            if not answers:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return out, "asked more than scripted"
            os.write(fd, answers.pop(0).encode() + b"\n")
    _, status = os.waitpid(pid, 0)
    return out, str(os.waitstatus_to_exitcode(status))


def main():
    binary, agent, sessions = sys.argv[1], sys.argv[2], sys.argv[3:]
    plan = [("check", [binary], [])]
    for n, answers in enumerate(sessions, 1):
        plan.append((f"interactive {n}", [binary, "-i"], answers.split()))
    plan.append(("undo", [binary, "undo"], []))
    for name, argv, given in plan:
        out, status = session(argv, agent, given)
        text = ANSI.sub(b"", out).decode("utf-8", "replace").replace("\r\n", "\n")
        sys.stdout.write(f"==== {name} (exit {status}) ====\n{text}\n")
        if not status.lstrip("-").isdigit():
            sys.exit(1)


main()
