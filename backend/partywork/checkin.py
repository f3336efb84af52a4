"""Plugs meetings into POST /api/v1/checkins: codes with subject type "M" go to meeting_scan."""
from backend.attendance.services import register_subject
from backend.partywork.meetings import SUBJECT, meeting_scan

register_subject(SUBJECT, meeting_scan)
