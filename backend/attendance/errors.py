"""The attendance domain's errors (the contract's codes under "QR attendance")."""
from __future__ import annotations

from backend.errors import error

CodeInvalid = error(422, "CODE_INVALID", "签到码无效")
CodeExpired = error(410, "CODE_EXPIRED", "签到码已过期，请重新扫码")
NotClaimed = error(409, "NOT_CLAIMED", "您未认领该任务")
NotCheckedIn = error(409, "NOT_CHECKED_IN", "尚未签到，不能签退")
OutOfRange = error(422, "OUT_OF_RANGE", "您不在签到地点附近")
TaskClosed = error(409, "TASK_CLOSED", "当前不在签到/签退时间内")
