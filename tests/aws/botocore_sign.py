"""Signs requests with botocore's SigV4Auth and prints their Authorization headers.

Usage: botocore_sign.py REQUESTS.json
The input is a JSON list of objects with method, url, headers ([[name, value], ...]), body
(UTF-8 text), access_key, secret_key, token (empty for none), region, service and amz_date
("20150830T123600Z"). The output is a JSON list of Authorization values in the same order.
"""
import datetime
import json
import sys
from unittest import mock

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def sign(case):
    when = datetime.datetime.strptime(case["amz_date"], "%Y%m%dT%H%M%SZ")
    request = AWSRequest(method=case["method"], url=case["url"],
                         headers=dict(case["headers"]), data=case["body"].encode("utf-8"))
    credentials = Credentials(case["access_key"], case["secret_key"], case["token"] or None)
    signer = botocore.auth.SigV4Auth(credentials, case["service"], case["region"])
    with fixed_clock(when):
        signer.add_auth(request)
    return request.headers["Authorization"]


def fixed_clock(when):
    """Makes add_auth sign at `when`.

    botocore 1.3x and later read the clock through botocore.auth.get_current_datetime; older
    releases (Debian 12 ships 1.29) call datetime.datetime.utcnow() directly.
    """
    if hasattr(botocore.auth, "get_current_datetime"):
        return mock.patch.object(botocore.auth, "get_current_datetime", return_value=when)
    fake_datetime = mock.Mock(wraps=datetime)
    fake_datetime.datetime = mock.Mock(wraps=datetime.datetime)
    fake_datetime.datetime.utcnow.return_value = when
    fake_datetime.datetime.strptime = datetime.datetime.strptime
    return mock.patch.object(botocore.auth, "datetime", fake_datetime)


def main():
    with open(sys.argv[1], encoding="utf-8") as source:
        cases = json.load(source)
    json.dump([sign(case) for case in cases], sys.stdout)


if __name__ == "__main__":
    main()
