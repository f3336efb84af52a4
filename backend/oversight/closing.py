"""Closing an account (PIPL Art. 47): erase what identifies the person, keep the record's shape.

Name, phone, openid, session_key, the person's free text and what messages say of them are erased; live
reports, claims on upcoming tasks, duty posts, household links, invitations to meetings not yet
held and open wishes end; wishes they
claimed go back to be claimed by someone else; redemptions still waiting at a shelf are
cancelled (the unit back in stock, the points back first); role grants
are revoked; the token stops working (token_version bumped, closed_at set). The ledger keeps
every row as it was (append-only, hash-chained: amounts and links intact, verify passes); what is
left in the wallet moves to the issuing community's issuance account (a `close` transfer).
Logging in again with the same WeChat identity makes a new user: the old row has no openid.
"""
from __future__ import annotations

from flask import current_app
from sqlalchemy import select, update

from backend.audit.services import record
from backend.auth.models import RoleGrant, User
from backend.db import utcnow
from backend.extensions import db
from backend.feedback.consents import PURPOSES, set_consent
from backend.feedback.models import Certificate, Evaluation, EvaluationVersion
from backend.notifications.models import Notification
from backend.orgs.models import Community
from backend.partywork.models_duty import DutyLog
from backend.partywork.models_households import Visit
from backend.partywork.membership import leave_community
from backend.partywork.models_meetings import MeetingAttendee
from backend.partywork.models_misc import FollowUp
from backend.reports.models import APPROVED, CLOSED, LIVE, MemberReport, UnitMember
from backend.rewards.models import PENDING as REDEMPTION_PENDING
from backend.rewards.models import Redemption
from backend.rewards.services import cancel_redemption
from backend.tasks.models import CLAIM_ACTIVE, CLAIM_CANCELLED, Task, TaskClaim
from backend.timebank.accounts import ensure_wallet, wallet_id
from backend.timebank.models import ISSUANCE, Account, Transfer
from backend.timebank.service import close_wallet
from backend.wishes.models import APPROVED as WISH_APPROVED
from backend.wishes.models import CANCELLED, CLAIMED, PENDING, Wish, WishEvent

ERASED_NAME = "已注销用户"
ERASED_TEXT = ""


def issuing_community(user_id: int) -> int | None:
    """The community whose issuance account last paid this person; else that of their latest
    report, else of a role they held; None when nothing ties them to a community."""
    wid = wallet_id(db.session, user_id)
    if wid is not None:
        cid = db.session.scalar(
            select(Account.community_id).join(Transfer, Transfer.debit_account_id == Account.id)
            .where(Transfer.credit_account_id == wid, Transfer.kind == "earn", Account.kind == ISSUANCE)
            .order_by(Transfer.id.desc()).limit(1))
        if cid is not None:
            return cid
    cid = db.session.scalar(select(MemberReport.community_id).where(MemberReport.user_id == user_id)
                            .order_by((MemberReport.status == APPROVED).desc(), MemberReport.id.desc()).limit(1))
    if cid is None:
        cid = db.session.scalar(select(RoleGrant.community_id).where(
            RoleGrant.user_id == user_id, RoleGrant.community_id.is_not(None)).order_by(RoleGrant.id.desc()).limit(1))
    return cid


def _close_wallet(user: User):
    """The close transfer (None when nothing was left) after moving the balance home.

    A wallet is opened (to be closed at once) for someone who never earned: a visit or duty log
    confirmed later would otherwise open one and pay points to the closed account."""
    cid = issuing_community(user.id) or db.session.scalar(select(Community.id).order_by(Community.id).limit(1))
    if cid is None:
        return None
    ensure_wallet(db.session, user.id)
    return close_wallet(db.session, user_id=user.id, community_id=cid, actor_id=user.id)


def _end_participation(user: User, now) -> None:
    uid = user.id
    db.session.execute(update(MemberReport).where(MemberReport.user_id == uid, MemberReport.status.in_(LIVE))
                       .values(status=CLOSED, closed_at=now))
    for claim in db.session.execute(
            select(TaskClaim.id, TaskClaim.task_id).join(Task, Task.id == TaskClaim.task_id)
            .where(TaskClaim.user_id == uid, TaskClaim.status == CLAIM_ACTIVE, Task.starts_at > now)).all():
        done = db.session.execute(update(TaskClaim).where(TaskClaim.id == claim.id, TaskClaim.status == CLAIM_ACTIVE)
                                  .values(status=CLAIM_CANCELLED, cancelled_at=now)).rowcount
        if done:  # give the seat back
            db.session.execute(update(Task).where(Task.id == claim.task_id)
                               .values(claimed_count=Task.claimed_count - 1))
    leave_community(uid, None, now)  # duty posts, household links, meetings not yet held: as on moving away
    for wish in db.session.scalars(select(Wish).where(
            Wish.user_id == uid, Wish.status.in_((PENDING, WISH_APPROVED, CLAIMED)))).all():
        db.session.add(WishEvent(wish_id=wish.id, from_status=wish.status, to_status=CANCELLED, actor_id=uid,
                                 at=now, note="账户注销"))
        wish.status, wish.cancelled_at = CANCELLED, now
    db.session.execute(update(RoleGrant).where(RoleGrant.user_id == uid, RoleGrant.revoked_at.is_(None))
                       .values(revoked_at=now))
    for purpose in PURPOSES:
        set_consent(user, purpose, False, current_app.config["PRIVACY_POLICY_VERSION"])


def _release_claimed_wishes(uid: int, now) -> None:
    """Wishes the person claimed but will not fulfil go back to be claimed by another member
    (after _erase, which finds the messages naming the claimer by the wishes' claimer_id)."""
    for wid in db.session.scalars(select(Wish.id).where(Wish.claimer_id == uid, Wish.status == CLAIMED)).all():
        released = db.session.execute(  # unless the resident confirmed or cancelled it meanwhile
            update(Wish).where(Wish.id == wid, Wish.claimer_id == uid, Wish.status == CLAIMED)
            .values(status=WISH_APPROVED, claimer_id=None, claimed_at=None, updated_at=now)).rowcount
        if released:
            db.session.add(WishEvent(wish_id=wid, from_status=CLAIMED, to_status=WISH_APPROVED, actor_id=uid,
                                     at=now, note="认领人账户注销"))


def _erase(user: User) -> None:
    uid = user.id
    db.session.execute(update(MemberReport).where(MemberReport.user_id == uid)
                       .values(name=ERASED_NAME, phone=ERASED_TEXT, skills_other=ERASED_TEXT, reason=None))
    db.session.execute(update(UnitMember).where(UnitMember.user_id == uid).values(user_id=None))
    db.session.execute(update(Wish).where(Wish.user_id == uid)
                       .values(title="（已注销用户的心愿）", description=ERASED_TEXT, rating_comment=None))
    db.session.execute(update(WishEvent).where(WishEvent.actor_id == uid).values(note=None))
    db.session.execute(update(Visit).where(Visit.user_id == uid).values(note=ERASED_TEXT, lat=None, lng=None))
    db.session.execute(update(DutyLog).where(DutyLog.user_id == uid).values(note=ERASED_TEXT))
    db.session.execute(update(MeetingAttendee).where(MeetingAttendee.user_id == uid).values(leave_reason=None))
    db.session.execute(update(FollowUp).where(FollowUp.user_id == uid).values(note=ERASED_TEXT))
    db.session.execute(update(Evaluation).where(Evaluation.user_id == uid).values(comment=ERASED_TEXT))
    db.session.execute(update(EvaluationVersion).where(EvaluationVersion.evaluation_id.in_(
        select(Evaluation.id).where(Evaluation.user_id == uid))).values(comment=ERASED_TEXT))
    db.session.execute(update(Certificate).where(Certificate.user_id == uid).values(name=ERASED_NAME))
    # messages to the person say what they wrote (wish titles, reasons); never sent now (closed)
    db.session.execute(update(Notification).where(Notification.user_id == uid).values(data={}))
    # their name in messages to others: the wish owners told who claimed
    for n in db.session.scalars(select(Notification).where(
            Notification.kind == "wish_claimed", Notification.ref_type == "wish",
            Notification.ref_id.in_(select(Wish.id).where(Wish.claimer_id == uid)))).all():
        n.data = {**n.data, "claimer": ERASED_NAME}
    user.name, user.phone, user.openid, user.session_key = None, None, None, None
    user.verified_phone, user.phone_verified_at = None, None
    user.nickname = ERASED_NAME


def close_account(user: User) -> dict:
    """Close the caller's account for good: {"closed_at", "moved_points", "transfer_id"}."""
    now = utcnow()
    for rid in db.session.scalars(select(Redemption.id).where(
            Redemption.user_id == user.id, Redemption.status == REDEMPTION_PENDING)).all():
        cancel_redemption(user, rid)  # nobody will come for it: refunded before the wallet closes
    t = _close_wallet(user)
    _end_participation(user, now)
    _erase(user)
    _release_claimed_wishes(user.id, now)
    user.token_version = (user.token_version or 0) + 1
    user.closed_at = now
    db.session.flush()
    db.session.expire(user, ["roles"])
    result = {"closed_at": now, "moved_points": t.amount if t else 0, "transfer_id": t.id if t else None}
    record(user.id, "account.close", "user", user.id,
           after={"moved_points": result["moved_points"], "transfer_id": result["transfer_id"]})
    return result
