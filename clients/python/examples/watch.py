#!/usr/bin/python3
"""Follows allot's threshold events (WatchThresholds) and prints one line per
event, reconnecting after a server restart without missing one.

  watch.py [--addr HOST:PORT] [--member ID] [--from-seq N] [--state FILE]

--state FILE keeps the last seq seen, so that running the watcher again
continues where it stopped (an alerting job would do this). --exit-after N
stops after N events (for scripts and tests). Ctrl-C stops it.

The server and credentials come from the environment (Client.from_env):
ALLOT_ADDR (or --addr), ALLOT_TLS_CA, ALLOT_TLS_CLIENT_CERT + ALLOT_TLS_CLIENT_KEY (mutual
TLS), ALLOT_TOKEN or ALLOT_TOKEN_FILE (billing or reader). A refused
credential ends it with status 1 (it is not retried).

Stubs: build target allot_client_gen (or set ALLOT_CLIENT_GEN). Run with
Debian's /usr/bin/python3.
"""

import argparse
import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import allot_client as ac  # noqa: E402


def read_state(path):
    try:
        with open(path) as f:
            return int(f.read().strip() or 0)
    except FileNotFoundError:
        return 0


def write_state(path, seq):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % seq)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def describe(ev):
    who = ev.member_id + (" (household %s)" % ev.household_id if ev.household_id else "")
    cause = ("invoice %s line %s" % (ev.invoice_id, ev.line_id) if ev.invoice_id
             else "usage %s" % ev.usage_id)
    reset = ", resets %s" % ac.format_date(ev.reset_date) if ev.reset_date else ""
    return ("#%d %s: %s reached %d%% (%d of %d used, %d left%s) by %s"
            % (ev.seq, who, ev.rule_key, ev.percent, ev.used, ev.allowance, ev.remaining,
               reset, cause))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--addr", default=None,
                    help="HOST:PORT (default $ALLOT_ADDR or %s)" % ac.DEFAULT_ADDR)
    ap.add_argument("--member", default="", help="only this member's events")
    ap.add_argument("--from-seq", type=int, default=None, help="first seq (default 1)")
    ap.add_argument("--state", help="file keeping the last seq seen")
    ap.add_argument("--exit-after", type=int, default=0, metavar="N")
    ap.add_argument("--give-up-after", type=float, default=None, metavar="SECONDS",
                    help="exit when the server is unreachable this long (default: never)")
    args = ap.parse_args(argv)

    start = args.from_seq
    if start is None:
        start = read_state(args.state) + 1 if args.state else 1

    try:
        client = ac.Client.from_env(addr=args.addr)
    except (ValueError, TypeError) as e:
        print("allot: %s" % e, file=sys.stderr)
        return 2
    watch = client.watch_thresholds(from_seq=start, member_id=args.member, resume=True,
                                    give_up_after=args.give_up_after)
    signal.signal(signal.SIGTERM, lambda *_: watch.cancel())
    n = 0
    try:
        for ev in watch:
            print(describe(ev), flush=True)
            if args.state:
                write_state(args.state, ev.seq)
            n += 1
            if args.exit_after and n >= args.exit_after:
                break
    except KeyboardInterrupt:
        pass
    except ac.AllotError as e:
        print("allot: %s" % e, file=sys.stderr)
        return 1
    finally:
        watch.close()
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
