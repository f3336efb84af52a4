"""A member leaving a community: the standing party work they held there ends.

Approving a member's report to another community closes their report here and revokes their
`member` grant (reports.services); the duty posts they held or applied for, the households
they looked after and their invitations to meetings not yet begun go with it, so a seat is
freed, a household's phone and address are no longer theirs to read, and a meeting's
attendance rate does not count them absent. What they did here stays as history.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update

from backend.extensions import db
from backend.partywork.models_duty import HOLDER_ACTIVE, HOLDER_ENDED, HOLDER_PENDING, DutyHolder, DutyPost
from backend.partywork.models_households import LINK_ACTIVE, LINK_ENDED, HouseholdLink
from backend.partywork.models_meetings import PRESENT, Meeting, MeetingAttendee


def leave_community(user_id: int, community_id: int | None, now: datetime) -> dict:
    """End the person's duty tenures and applications, household links and invitations to
    meetings not yet begun in the community (None: everywhere, when they close their account);
    {"duty_holders", "household_links", "meeting_invitations"}: how many of each ended."""
    holders = update(DutyHolder).where(DutyHolder.user_id == user_id,
                                       DutyHolder.status.in_((HOLDER_PENDING, HOLDER_ACTIVE)))
    links = update(HouseholdLink).where(HouseholdLink.user_id == user_id, HouseholdLink.status == LINK_ACTIVE)
    if community_id is not None:
        holders = holders.where(DutyHolder.post_id.in_(select(DutyPost.id).where(DutyPost.community_id == community_id)))
        links = links.where(HouseholdLink.community_id == community_id)
    return {"duty_holders": db.session.execute(holders.values(status=HOLDER_ENDED, ended_at=now)).rowcount,
            "household_links": db.session.execute(links.values(status=LINK_ENDED, ended_at=now)).rowcount,
            "meeting_invitations": drop_invitations(user_id, now, community_id)}


def drop_invitations(user_id: int, now: datetime, community_id: int | None = None) -> int:
    """Take the person off the lists of meetings not yet begun (in one community, or anywhere),
    so that they are not counted absent there; how many."""
    upcoming = select(Meeting.id).where(Meeting.starts_at > now)
    if community_id is not None:
        upcoming = upcoming.where(Meeting.community_id == community_id)
    return db.session.execute(
        delete(MeetingAttendee).where(MeetingAttendee.user_id == user_id, MeetingAttendee.meeting_id.in_(upcoming),
                                      MeetingAttendee.status != PRESENT)
        .execution_options(synchronize_session=False)).rowcount
