"""Runs one unit test program and fails it on any leak except nng 1.5.2's reaper cycle.

    python3 lsan_nng_reaper.py PROGRAM [ARGS...]

In some runs of a test that opens and closes many nng sockets, nng 1.5.2 still holds a
closed socket's dialer, listener and pipe objects for its background reaper when the
process exits, even after nng_fini(). Those objects only point at each other, so
LeakSanitizer reports every one as an *indirect* leak, allocated by nng_dial (which
proto_sock calls as its two halves, nng_dialer_create and nng_dialer_start, to keep the
dialer for its guard), nng_listen or one of nng's own threads. A suppression cannot say
exactly that (nng's internal functions have no symbols here; `leak:libnng.so.1` would
also hide an nng message we leaked), so this runs PROGRAM with leaks reported but not
fatal, and fails on:
  - a direct leak (a message or buffer we dropped is always direct), or
  - an indirect leak whose allocation did not come from nng_dial (or its halves),
    nng_listen or an nng thread (its stack leaves libnng.so.1 for any frame of ours on
    the way).
Without AddressSanitizer nothing is reported and this is PROGRAM's own exit status."""

import os
import re
import subprocess
import sys

BLOCK = re.compile(r"^(Direct|Indirect) leak of \d+ byte\(s\) in \d+ object\(s\) allocated from:\n"
                   r"((?:    #\d+ .*\n?)+)", re.M)
NNG = "libnng.so.1"


def nng_cycle(kind, stack):
    """True when this leaked block is one of nng's own reaper-cycle objects."""
    if kind != "Indirect":
        return False
    frames = [f for f in stack.strip().split("\n")][1:]  # frame 0: the allocator
    for f in frames:
        if re.search(r" in (nng_dial|nng_dialer_create|nng_dialer_start|nng_listen) ", f):
            return True  # allocated inside that nng call
        if NNG in f:
            continue
        return " in start_thread " in f  # nng's own thread, nothing of ours between
    return False


def main(argv):
    env = dict(os.environ)
    lsan = env.get("LSAN_OPTIONS", "")
    env["LSAN_OPTIONS"] = (lsan + ":" if lsan else "") + "exitcode=0"
    r = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, errors="replace")
    sys.stdout.write(r.stdout)
    if r.returncode != 0:
        return r.returncode
    blocks = BLOCK.findall(r.stdout)
    bad = [(k, s) for k, s in blocks if not nng_cycle(k, s)]
    if "ERROR: LeakSanitizer" in r.stdout and not blocks:
        print("lsan_nng_reaper: a leak report this script cannot read", file=sys.stderr)
        return 1
    if bad:
        print(f"lsan_nng_reaper: {len(bad)} leak(s) that are not nng's reaper cycle, "
              f"e.g. a {bad[0][0].lower()} leak from:\n{bad[0][1]}", file=sys.stderr)
        return 1
    if blocks:
        print(f"lsan_nng_reaper: ignored {len(blocks)} indirect leak(s) of nng's reaper "
              "cycle", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
