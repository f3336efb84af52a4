"""Every partywork table (split by capability; imported here so the metadata sees them)."""
from backend.partywork.models_duty import DutyHolder, DutyLog, DutyPost  # noqa: F401
from backend.partywork.models_households import Household, HouseholdLink, Visit  # noqa: F401
from backend.partywork.models_meetings import Meeting, MeetingAttendee  # noqa: F401
from backend.partywork.models_misc import CommunityNeed, FollowUp, NeedEvent, NeedPledge  # noqa: F401
