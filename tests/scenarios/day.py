#!/usr/bin/env python3
"""A day of Upwork traffic against upwork-sim --stream-day, checked end to end.

Starts the simulator on a fast clock, runs `job-fetcher run` every 5 simulated minutes into a
SQLite store, SIGKILLs some runs mid-flight and skips others, then compares the store with the
simulator's history: every posting published during the day must be stored exactly once, unless
it was deleted before a run saw it. Prints a JSON report and exits 1 when a check fails.
"""

import argparse
import json
import math
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

RUN_EVERY_SIM_SECONDS = 300
PAGE_SIZE = 50


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", required=True, help="CMake build folder with the binaries")
    parser.add_argument("--data", required=True, help="postings.jsonl for the simulator")
    parser.add_argument("--speed", type=float, default=288.0,
                        help="simulated seconds per real second (288: a day in 5 minutes)")
    parser.add_argument("--day-postings", type=int, default=6000)
    parser.add_argument("--fault-rate", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--kill-share", type=float, default=0.05,
                        help="share of runs killed with SIGKILL shortly after they start")
    parser.add_argument("--skip-share", type=float, default=0.05,
                        help="share of scheduled runs that are not started")
    parser.add_argument("--max-ratio", type=float, default=1.25,
                        help="highest accepted requests / minimum requests")
    parser.add_argument("--report", help="also write the JSON report to this file")
    return parser.parse_args()


def get_json(base, path):
    with urllib.request.urlopen(base + path, timeout=30) as response:
        return json.load(response)


def start_simulator(args):
    binary = os.path.join(args.build, "tools/upwork_sim/upwork-sim")
    process = subprocess.Popen(
        [binary, "--data", args.data, "--port", "0", "--seed", str(args.seed), "--stream-day",
         "--speed", str(args.speed), "--day-postings", str(args.day_postings), "--fault-rate",
         str(args.fault_rate), "--latency-ms", "5:40", "--exit-with-parent"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = process.stdout.readline().strip()
    if not line.startswith("listening "):
        process.kill()
        raise SystemExit(f"upwork-sim did not start: {line!r}")
    return process, line.split(" ", 1)[1]


def fetcher_env(base, store_url, seconds_per_run):
    env = dict(os.environ)
    env.update({
        "JOB_FETCHER_STORE": store_url,
        "UPWORK_VISITOR_URL": base + "/api/graphql/v1?alias=visitorJobSearch",
        "UPWORK_HOME_URL": base + "/",
        "JOB_FETCHER_RATE": "20",
        "JOB_FETCHER_RATE_BURST": "10",
        "JOB_FETCHER_BACKOFF_BASE": "20ms",
        "JOB_FETCHER_BACKOFF_MAX": "500ms",
        "JOB_FETCHER_REQUEST_TIMEOUT": "10s",
        "JOB_FETCHER_SAFETY_MARGIN": "1s",
        # A killed run keeps its lease until it expires: about three scheduled runs.
        "JOB_FETCHER_LEASE": f"{max(1, int(seconds_per_run * 3 * 1000))}ms",
        "JOB_FETCHER_DEADLINE": "60s",
        "JOB_FETCHER_LOG_LEVEL": "warn",
    })
    for name in ("HTTPS_PROXY", "PROXY_URL", "JOB_FETCHER_PROXY_FILE", "UPWORK_TOKEN"):
        env.pop(name, None)
    return env


def run_schedule(args, base, env):
    """Starts a run at each tick; returns how many were started, killed and skipped."""
    binary = os.path.join(args.build, "apps/job-fetcher")
    rng = random.Random(args.seed)
    seconds_per_run = RUN_EVERY_SIM_SECONDS / args.speed
    ticks = int(24 * 3600 / RUN_EVERY_SIM_SECONDS)
    counts = {"scheduled": ticks + 1, "started": 0, "killed": 0, "skipped": 0, "exit_codes": {}}
    running = []
    start = time.monotonic()

    def reap(block):
        for item in list(running):
            process, kill_at = item
            if kill_at is not None and process.poll() is None and time.monotonic() >= kill_at:
                process.send_signal(signal.SIGKILL)
                counts["killed"] += 1
                item[1] = None
            code = process.wait() if block else process.poll()
            if code is not None:
                if code != -signal.SIGKILL:
                    counts["exit_codes"][str(code)] = counts["exit_codes"].get(str(code), 0) + 1
                running.remove(item)

    # The last tick runs after the day: it must repair whatever killed or failed runs left.
    for tick in range(ticks + 1):
        target = start + tick * seconds_per_run
        while time.monotonic() < target:
            reap(False)
            time.sleep(0.01)
        last = tick == ticks
        if not last and tick > 0 and rng.random() < args.skip_share:
            counts["skipped"] += 1
            continue
        kill_at = None
        if not last and tick > 0 and rng.random() < args.kill_share:
            kill_at = time.monotonic() + rng.uniform(0.05, 0.4)
        process = subprocess.Popen([binary, "run", "--json"], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        counts["started"] += 1
        running.append([process, kill_at])
        if last:
            break
    reap(True)
    return counts


def wait_for_day_end(base):
    while not get_json(base, "/__sim/clock")["day_done"]:
        time.sleep(0.2)


def final_catch_up(args, env):
    """Runs until one run ends ok, so the store reflects the end of the day."""
    binary = os.path.join(args.build, "apps/job-fetcher")
    codes = []
    for _ in range(10):
        code = subprocess.run([binary, "run", "--json"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL).returncode
        codes.append(code)
        if code == 0:
            break
        time.sleep(RUN_EVERY_SIM_SECONDS / args.speed)
    return codes


def compare(base, db_path, day_start):
    history = get_json(base, "/__sim/history")
    stats = get_json(base, "/__sim/stats")
    db = sqlite3.connect(db_path)
    stored_rows = db.execute("SELECT id, ciphertext FROM upwork_jobs").fetchall()
    stored = {row[0] for row in stored_rows}
    duplicate_ids = len(stored_rows) - len(stored)
    duplicate_ciphertexts = len(stored_rows) - len({row[1] for row in stored_rows})
    runs = db.execute("SELECT status, postings_new, api_requests, finished_at, error "
                      "FROM fetch_runs WHERE feed = 'default'").fetchall()
    db.close()

    during_day = [h for h in history if h["published_at"] >= day_start]
    missing = [h["id"] for h in during_day if h["id"] not in stored and h["deleted_at"] is None]
    deleted = [h for h in during_day if h["deleted_at"] is not None]
    deleted_stored = sum(1 for h in deleted if h["id"] in stored)

    by_status = {}
    for status, _, _, finished_at, error in runs:
        # The feed's next run closes a killed run's row as failed, with an "abandoned" error.
        if not finished_at:
            key = "killed (no ledger end)"
        elif (error or "").startswith("abandoned"):
            key = "killed (closed by the next run)"
        else:
            key = status
        by_status[key] = by_status.get(key, 0) + 1
    new_total = sum(r[1] or 0 for r in runs)
    completed = [r for r in runs if r[0] in ("ok", "partial") and r[3]]
    # The minimum as budgeted: the pages that hold a run's new postings, plus one page to confirm
    # the overlap with the previous run.
    minimum = sum(math.ceil((r[1] or 0) / PAGE_SIZE) + 1 for r in completed)
    # A tighter bound: the new postings plus one older posting, packed into full pages.
    tight_minimum = sum(math.ceil(((r[1] or 0) + 1) / PAGE_SIZE) for r in completed)
    requests = stats["requests"]
    search_requests = requests["visitor"]
    all_requests = search_requests + requests["home"] + requests["token"]
    return {
        "published_during_day": len(during_day),
        "deleted_during_day": len(deleted),
        "deleted_and_stored": deleted_stored,
        "missing": len(missing),
        "missing_ids": missing[:20],
        "duplicate_ids": duplicate_ids,
        "duplicate_ciphertexts": duplicate_ciphertexts,
        "stored_rows": len(stored_rows),
        "runs_by_status": by_status,
        "postings_new_in_ledger": new_total,
        "search_requests": search_requests,
        "token_requests": requests["home"] + requests["token"],
        "minimum_requests": minimum,
        "requests_per_minimum": round(all_requests / minimum, 3) if minimum else None,
        "tight_minimum_requests": tight_minimum,
        "requests_per_tight_minimum": round(all_requests / tight_minimum, 3)
        if tight_minimum else None,
        "search_requests_per_new_posting": round(search_requests / max(new_total, 1), 4),
    }


def main():
    args = parse_args()
    seconds_per_run = RUN_EVERY_SIM_SECONDS / args.speed
    with tempfile.TemporaryDirectory(prefix="day-scenario-") as folder:
        db_path = os.path.join(folder, "jobs.db")
        simulator, base = start_simulator(args)
        try:
            day_start = get_json(base, "/__sim/clock")["day_start"]
            env = fetcher_env(base, "sqlite:" + db_path, seconds_per_run)
            began = time.monotonic()
            counts = run_schedule(args, base, env)
            wait_for_day_end(base)
            counts["catch_up_exit_codes"] = final_catch_up(args, env)
            report = compare(base, db_path, day_start)
            report["schedule"] = counts
            report["settings"] = {"speed": args.speed, "day_postings": args.day_postings,
                                  "fault_rate": args.fault_rate,
                                  "seed": args.seed}
            report["real_seconds"] = round(time.monotonic() - began, 1)
        finally:
            simulator.terminate()
            simulator.wait()

    text = json.dumps(report, indent=2)
    print(text)
    if args.report:
        with open(args.report, "w") as out:
            out.write(text + "\n")

    failures = []
    if report["missing"]:
        failures.append(f"{report['missing']} postings published during the day are missing")
    if report["duplicate_ids"] or report["duplicate_ciphertexts"]:
        failures.append("the store holds duplicate rows")
    ratio = report["requests_per_minimum"]
    if ratio is not None and ratio > args.max_ratio:
        failures.append(f"requests per minimum {ratio} exceed {args.max_ratio}")
    for failure in failures:
        print("day scenario failed: " + failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
