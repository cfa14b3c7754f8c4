#!/usr/bin/env python3
"""Runs a command once and appends its costs to a JSON Lines file, or summarizes such a file.

  measure.py run --launcher PATH --out FILE --label NAME [--sim URL --latency-ms MS]
                 [--stdout FILE] -- COMMAND ARGS...
  measure.py summary FILE [--label NAME]

`run` starts the command through the job-fetcher-rusage launcher (--launcher), which reads the
child's resource usage from wait4(), the same figures /usr/bin/time -v prints, but at microsecond
resolution: wall time, user and system CPU and the peak resident set size. The launcher is needed
because a child started from this interpreter would inherit its 15 MB peak RSS. The 1-minute load
average is recorded before the run, because other work on the machine slows it. When the command
prints a JSON object as its last stdout line (job-fetcher run --json), it is kept.

`summary` prints the median, minimum and maximum of each figure per label.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import urllib.request


def load1():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def sim_api_requests(base_url):
    """Returns the API requests upwork-sim has served: the ones its --latency-ms delays."""
    with urllib.request.urlopen(base_url + "/__sim/stats", timeout=10) as response:
        requests = json.load(response)["requests"]
    return requests["visitor"] + requests["marketplace"] + requests["token"]


def run(args):
    command = args.command[1:] if args.command and args.command[0] == "--" else args.command
    if not command:
        sys.exit("measure.py run: no command given")
    stdout = open(args.stdout, "w") if args.stdout else subprocess.DEVNULL
    load = load1()
    requests_before = sim_api_requests(args.sim) if args.sim else 0
    usage_file = args.out + ".rusage"
    process = subprocess.run([args.launcher, usage_file] + command, stdin=subprocess.DEVNULL,
                             stdout=stdout)
    if args.stdout:
        stdout.close()
    with open(usage_file) as f:
        usage = json.load(f)
    os.remove(usage_file)

    record = {
        "label": args.label,
        "wall_ms": usage["wall_ms"],
        "user_ms": usage["user_ms"],
        "sys_ms": usage["sys_ms"],
        "cpu_ms": round(usage["user_ms"] + usage["sys_ms"], 3),
        "max_rss_kb": usage["max_rss_kb"],
        "exit": usage["exit"],
        "load1": load,
    }
    if args.sim:
        record["requests"] = sim_api_requests(args.sim) - requests_before
        record["floor_ms"] = record["requests"] * args.latency_ms
    if args.stdout:
        with open(args.stdout) as f:
            lines = [line for line in f.read().splitlines() if line.strip()]
        if lines:
            try:
                record["summary"] = json.loads(lines[-1])
            except json.JSONDecodeError:
                pass
    for item in args.extra:
        name, _, value = item.partition("=")
        record[name] = float(value)
    with open(args.out, "a") as f:
        f.write(json.dumps(record) + "\n")
    print(json.dumps(record))
    return record["exit"]


FIGURES = ["wall_ms", "cpu_ms", "user_ms", "sys_ms", "max_rss_kb", "load1", "requests", "floor_ms"]


def summary(args):
    groups = {}
    with open(args.file) as f:
        for line in f:
            record = json.loads(line)
            if args.label and record["label"] != args.label:
                continue
            groups.setdefault(record["label"], []).append(record)
    for label, records in groups.items():
        parts = [f"{label}: n={len(records)}"]
        for figure in FIGURES:
            values = [r[figure] for r in records if figure in r]
            if values:
                parts.append(f"{figure} median {statistics.median(values):.1f} "
                             f"(min {min(values):.1f}, max {max(values):.1f})")
        failed = sum(1 for r in records if r["exit"] != 0)
        if failed:
            parts.append(f"FAILED runs: {failed}")
        print("; ".join(parts))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    run_parser = sub.add_parser("run", help="run a command and record its costs")
    run_parser.add_argument("--out", required=True, help="JSON Lines file to append to")
    run_parser.add_argument("--label", required=True, help="scenario name")
    run_parser.add_argument("--launcher", required=True,
                            help="path of the job-fetcher-rusage program")
    run_parser.add_argument("--sim", help="upwork-sim base URL: record the API requests it served "
                            "and their floor, requests x --latency-ms")
    run_parser.add_argument("--latency-ms", type=float, default=0.0,
                            help="upwork-sim's latency per API request, for the floor")
    run_parser.add_argument("--stdout", help="file for the command's standard output")
    run_parser.add_argument("--extra", action="append", default=[],
                            help="NAME=NUMBER stored with the record (repeatable)")
    run_parser.add_argument("command", nargs=argparse.REMAINDER)
    summary_parser = sub.add_parser("summary", help="print medians per label")
    summary_parser.add_argument("file")
    summary_parser.add_argument("--label")
    args = parser.parse_args()
    sys.exit(run(args) if args.mode == "run" else summary(args))


if __name__ == "__main__":
    main()
