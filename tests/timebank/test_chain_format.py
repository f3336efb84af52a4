"""The hash formats are part of the stored data: every chain already written is verified with
them. These vectors pin them, so that a change to how a digest is computed (an encoder option,
a datetime format) fails here instead of making every stored chain look tampered with."""
from datetime import datetime, timedelta, timezone

from backend.timebank.chain import content_digest, transfer_hash
from backend.timebank.idempotency import fingerprint

FIELDS = {"debit_account_id": 3, "credit_account_id": 7, "amount": 12, "kind": "donate", "ref_type": "user",
          "ref_id": 9, "actor_id": 4, "memo": '邻里互助 "引号"', "idempotency_key": "donate:4:abc", "reverses_id": None,
          "created_at": datetime(2026, 12, 2, 8, 30, 15, 123456, tzinfo=timezone.utc),
          "debit_balance_after": 88, "credit_balance_after": 112, "debit_prev_hash": "a" * 64,
          "credit_prev_hash": "b" * 64}


def test_transfer_digests_keep_their_format():
    assert content_digest(FIELDS) == "ee31c43059fa5088ba00bf6082897e16fa84cc973740d1206872520332859a36"
    assert transfer_hash(FIELDS) == "536f13cdc8437358d53009e41459610a305d4a4f2bfb6adb1e50baeac574ab85"


def test_the_same_moment_in_another_zone_is_the_same_content():
    beijing = FIELDS["created_at"].astimezone(timezone(timedelta(hours=8)))
    assert content_digest({**FIELDS, "created_at": beijing}) == content_digest(FIELDS)
    assert content_digest({**FIELDS, "memo": "邻里互助"}) != content_digest(FIELDS)


def test_request_fingerprints_keep_their_format():
    request = {"donate": [4, 9], "amount": 12, "memo": "邻里", "at": FIELDS["created_at"]}
    assert fingerprint(request) == "4a5b0ac485b7ff734a36c35b7e6ec808c95c012e0c8c519b31f4d6dd9806e28b"
    assert fingerprint(dict(reversed(list(request.items())))) == fingerprint(request)  # key order does not count
