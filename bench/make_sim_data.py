#!/usr/bin/env python3
"""Writes a postings file for upwork-sim with COUNT records: the real postings in file order, then
copies of them under new unique ids, repeated until COUNT is reached.

  make_sim_data.py SOURCE.jsonl COUNT OUT.jsonl

A copy gets the 19-digit id 7000000000000000000 + serial and the ciphertext "~02" + id, as the
benchmark programs do (real ids start with 1, so none collides).
"""
import json
import sys


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__.strip())
    source, count, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    with open(source) as f:
        records = [json.loads(line) for line in f if line.strip()]
    with open(out, "w") as f:
        for serial in range(count):
            record = records[serial % len(records)]
            if serial >= len(records):
                record = dict(record)
                record["id"] = str(7_000_000_000_000_000_000 + serial)
                record["ciphertext"] = "~02" + record["id"]
            f.write(json.dumps(record, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
