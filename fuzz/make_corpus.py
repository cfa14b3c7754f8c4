#!/usr/bin/env python3
"""Writes seed corpora for the fuzz targets into OUT/<target>/.

Search responses are built from the real postings (postings.jsonl) in the visitor and
marketplace response shapes; the other targets get hand-written valid and edge-case inputs.

    fuzz/make_corpus.py POSTINGS_JSONL OUT
"""

import json
import os
import random
import sys

DURATION_WEEKS = {"Less than 1 month": 4, "1 to 3 months": 12, "3 to 6 months": 24,
                  "More than 6 months": 52}
MARKETPLACE_DURATION = {"Less than 1 month": "WEEK", "1 to 3 months": "MONTH",
                        "3 to 6 months": "QUARTER", "More than 6 months": "SEMESTER"}
MARKETPLACE_TIER = {"EntryLevel": "ENTRY_LEVEL", "IntermediateLevel": "INTERMEDIATE",
                    "ExpertLevel": "EXPERT"}


def visitor_result(p, publish_time):
    hourly = p.get("job_type") == "HOURLY"
    fixed = p.get("job_type") == "FIXED"
    duration = p.get("duration_label")
    engagement = ({"label": duration, "weeks": DURATION_WEEKS.get(duration)}
                  if duration else None)
    return {
        "id": p["id"],
        "title": p["title"],
        "description": p["description"],
        "ontologySkills": [{"prefLabel": s} for s in p.get("skills") or []],
        "jobTile": {"job": {
            "id": p["id"],
            "ciphertext": p["ciphertext"],
            "jobType": p.get("job_type") or None,
            "hourlyBudgetMin": p.get("hourly_min"),
            "hourlyBudgetMax": p.get("hourly_max"),
            "fixedPriceAmount": {"isoCurrencyCode": p.get("currency") or "USD",
                                 "amount": (p.get("fixed_amount") or "0.0") if fixed else "0.0"},
            "contractorTier": p.get("contractor_tier"),
            "hourlyEngagementType": p.get("workload"),
            "publishTime": publish_time,
            "createTime": publish_time,
            "hourlyEngagementDuration": engagement if hourly else None,
            "fixedPriceEngagementDuration": engagement if fixed else None,
        }},
    }


def visitor_page(postings, offset, total):
    results = [visitor_result(p, f"2025-06-15T18:{59 - i % 60:02d}:18.224Z")
               for i, p in enumerate(postings)]
    return {"data": {"search": {"universalSearchNuxt": {"visitorJobSearchV1": {
        "paging": {"total": total, "offset": offset, "count": len(results)},
        "results": results}}}}}


def money(value, currency):
    return {"rawValue": value, "currency": currency, "displayValue": value}


def marketplace_node(p, i):
    currency = p.get("currency") or "USD"
    fixed = p.get("job_type") == "FIXED"
    return {
        "id": p["id"],
        "ciphertext": p["ciphertext"],
        "title": p["title"],
        "description": p["description"],
        "publishedDateTime": f"2025-10-16T06:{i % 60:02d}:47+0000",
        "createdDateTime": f"2025-10-16T05:{i % 60:02d}:47+0000",
        "amount": money((p.get("fixed_amount") or "0.0") if fixed else "0.0", currency),
        "hourlyBudgetMin": money(p["hourly_min"], currency) if p.get("hourly_min") else None,
        "hourlyBudgetMax": money(p["hourly_max"], currency) if p.get("hourly_max") else None,
        "skills": [{"name": s.lower().replace(" ", "-"), "prettyName": s}
                   for s in p.get("skills") or []],
        "experienceLevel": MARKETPLACE_TIER.get(p.get("contractor_tier")),
        "duration": MARKETPLACE_DURATION.get(p.get("duration_label")),
        "engagement": p.get("workload"),
        "client": {"location": {"country": p.get("client_country")}},
    }


def marketplace_page(postings, total, has_next):
    edges = [{"cursor": f"c{1000 - i}", "node": marketplace_node(p, i)}
             for i, p in enumerate(postings)]
    return {"data": {"marketplaceJobPostingsSearch": {
        "totalCount": total, "edges": edges,
        "pageInfo": {"endCursor": edges[-1]["cursor"] if edges else None,
                     "hasNextPage": has_next}}}}


GRAPHQL_ERRORS = [
    {"errors": [{"message": "The client or authentication token doesn't have enough oauth2 "
                            "permissions/scopes to access: [totalApplicants]",
                 "extensions": {"classification": "ExecutionAborted"}}], "data": None},
    {"errors": [{"message": "Validation error of type FieldUndefined",
                 "extensions": {"classification": "ValidationError"}}]},
    {"errors": [{"message": "Server timeout"}], "data": None},
]

EVENTS = [
    "", "{}", "null", '{"feed": "python", "max_pages": 20}', '{"feed": "x", "backfill": 0}',
    json.dumps({"version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
                "detail-type": "Scheduled Event", "source": "aws.events",
                "account": "123456789012", "time": "2025-06-15T18:59:18Z", "region": "us-east-1",
                "resources": ["arn:aws:events:us-east-1:123456789012:rule/every-5m"],
                "detail": {"feed": "python", "max_pages": 3}}),
    '[1, 2, 3]', '"text"', '{"feed": ""}', '{"max_pages": -1}', '{"feed": {"nested": [1]}}',
]

TOKEN_RESPONSES = [
    '{"token": "oauth2v2_abc"}', json.dumps(json.dumps({"token": "oauth2v2_abc"})),
    '{"status_code": 200, "token": "oauth2v2_abc", "expires": 1750000000}',
    '{"statusCode": 200, "body": "{\\"token\\": \\"oauth2v2_abc\\"}"}',
    '{"access_token": "t", "refresh_token": "r", "token_type": "Bearer", "expires_in": "86400"}',
    '{"access_token": "t", "token_type": "Bearer", "expires_in": 3600}',
    '{"status_code": 403, "error": "invalid secret"}', '{"token": 5}', '{}', '[]',
]

FEEDS = [
    '[feeds.python]\nsource = "visitor"\nquery = "python"\njob_type = "hourly"\n'
    'hourly_rate = "30-"\npage_size = 50\nbackfill = 500\nmax_pages = 100\n'
    'retention = "24h"\nschedule = "5m"\n',
    '[feeds.market]\nsource = "marketplace"\ncontractor_tier = ["ExpertLevel"]\n'
    'location = ["Germany", "France"]\n',
    '[feeds.a]\n[feeds.b]\nquery = "rust"\nbudget = "500-5000"\njob_type = "fixed"\n',
    '[feeds."bad name"]\npage_size = 500\n', 'not toml at all = = =\n', '[feeds]\n',
]


def write(folder, name, text):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "w", encoding="utf-8") as out:
        out.write(text)


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    with open(sys.argv[1], encoding="utf-8") as source:
        postings = [json.loads(line) for line in source if line.strip()]
    out = sys.argv[2]
    rng = random.Random(1)

    # Small pages keep inputs short, which libFuzzer mutates far faster than 50-posting pages.
    for i in range(24):
        sample = rng.sample(postings, rng.randint(1, 3))
        write(f"{out}/fuzz_visitor_page", f"page{i}.json",
              json.dumps(visitor_page(sample, i * 50, 2781)))
        write(f"{out}/fuzz_marketplace_page", f"page{i}.json",
              json.dumps(marketplace_page(sample, 2781, i % 2 == 0)))
    write(f"{out}/fuzz_visitor_page", "empty.json", json.dumps(visitor_page([], 0, 0)))
    write(f"{out}/fuzz_marketplace_page", "empty.json",
          json.dumps(marketplace_page([], 0, False)))
    for i, body in enumerate(GRAPHQL_ERRORS):
        write(f"{out}/fuzz_visitor_page", f"errors{i}.json", json.dumps(body))
        write(f"{out}/fuzz_marketplace_page", f"errors{i}.json", json.dumps(body))
    for i, text in enumerate(EVENTS):
        write(f"{out}/fuzz_fetch_event", f"event{i}.json", text)
    for i, text in enumerate(TOKEN_RESPONSES):
        write(f"{out}/fuzz_token_response", f"token{i}.json", text)
    for i, text in enumerate(FEEDS):
        write(f"{out}/fuzz_feeds_file", f"feeds{i}.toml", text)


if __name__ == "__main__":
    main()
