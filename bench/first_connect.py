#!/usr/bin/env python3
"""Measures the time from process start to the process's first TCP connection.

A listener on 127.0.0.1 (port 0) takes the place of the first server the program calls (Upwork, or
the Lambda Runtime API for /next). Each round starts the command, takes the monotonic time just
before the spawn and again when accept() returns the first connection, then kills the process.

In the command and in --env values, {addr} becomes 127.0.0.1:PORT and {n} the round number, so each
round can use its own feed name (a killed run keeps its feed's lease until the lease expires).

Output: one line per round, then "median_ms M min_ms A max_ms B rounds N" as the last line.
"""
import argparse
import os
import socket
import statistics
import subprocess
import sys
import time


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="measured rounds (default 20)")
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured rounds first (default 1)")
    parser.add_argument("--timeout", type=float, default=10.0,
                        help="seconds to wait for the first connection of a round")
    parser.add_argument("--env", action="append", default=[],
                        help="NAME=VALUE added to the environment (repeatable)")
    parser.add_argument("--clean-env", action="store_true",
                        help="start from an empty environment instead of this one")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND ARGS...")
    args = parser.parse_args()
    if args.command and args.command[0] == "--":
        args.command = args.command[1:]
    if not args.command:
        parser.error("no command given")
    return args


def one_round(listener, args, addr, n):
    fill = lambda text: text.replace("{addr}", addr).replace("{n}", str(n))
    env = {} if args.clean_env else dict(os.environ)
    for item in args.env:
        name, _, value = item.partition("=")
        env[name] = fill(value)
    command = [fill(part) for part in args.command]

    started = time.monotonic_ns()
    process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        connection, _ = listener.accept()
        accepted = time.monotonic_ns()
        connection.close()
    except socket.timeout:
        process.kill()
        process.wait()
        sys.exit(f"first_connect: no connection within {args.timeout} s from {command[0]}")
    process.kill()
    process.wait()
    return (accepted - started) / 1e6


def main():
    args = parse_args()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(args.timeout)
    addr = f"127.0.0.1:{listener.getsockname()[1]}"

    for n in range(args.warmup):
        one_round(listener, args, addr, f"warmup{n}")
    times = []
    for n in range(args.rounds):
        elapsed = one_round(listener, args, addr, n)
        times.append(elapsed)
        print(f"round {n}: {elapsed:.2f} ms", flush=True)
    print(f"median_ms {statistics.median(times):.2f} min_ms {min(times):.2f} "
          f"max_ms {max(times):.2f} rounds {len(times)}")


if __name__ == "__main__":
    main()
