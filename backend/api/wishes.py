"""微心愿: residents post, staff approve, members claim, residents confirm and rate."""
from __future__ import annotations

from flask_smorest import Blueprint

from backend.api.common import current_user, page_schema, paginate
from backend.wishes import queries, services
from backend.wishes.models import Wish
from backend.wishes.schemas import (CreateWishArgs, MyWishListArgs, WishCancelArgs, WishCompleteArgs, WishDecisionArgs,
                                    WishListArgs, WishRatingArgs, WishSchema)

blp = Blueprint("wishes", __name__, url_prefix="/api/v1", description="微心愿")

WishPage = page_schema(WishSchema, "WishPage")


def _one(wish: Wish) -> Wish:
    return queries.with_names([wish], events=True)[0]


@blp.post("/communities/<int:community_id>/wishes")
@blp.arguments(CreateWishArgs)
@blp.response(201, WishSchema)
def post_wish(args, community_id):
    """Post a wish in a community (any logged-in resident); it waits for staff approval."""
    return _one(services.post_wish(current_user(), community_id, **args))


@blp.get("/communities/<int:community_id>/wishes")
@blp.arguments(WishListArgs, location="query")
@blp.response(200, WishPage)
def list_wishes(args, community_id):
    """A community's wishes, newest first: approved and later for everyone, all for its staff."""
    q = queries.community_wishes(current_user(), community_id, args["status"], args["mine"])
    page = paginate(q, Wish.id, args["limit"], args["cursor"])
    queries.with_names(page["items"])
    return page


@blp.get("/me/wishes")
@blp.arguments(MyWishListArgs, location="query")
@blp.response(200, WishPage)
def my_wishes(args):
    """The caller's wishes, newest first: those they posted (to confirm and rate) and those they claimed."""
    page = paginate(queries.my_wishes(current_user(), args["status"]), Wish.id, args["limit"], args["cursor"])
    queries.with_names(page["items"])
    return page


@blp.get("/wishes/<int:wish_id>")
@blp.response(200, WishSchema)
def get_wish(wish_id):
    """One wish with its history."""
    return _one(queries.get_wish(current_user(), wish_id))


@blp.post("/wishes/<int:wish_id>/decision")
@blp.arguments(WishDecisionArgs)
@blp.response(200, WishSchema)
def decide_wish(args, wish_id):
    """Approve or reject a pending wish (staff of its community)."""
    return _one(services.decide_wish(current_user(), wish_id, args["approve"], args["reason"]))


@blp.post("/wishes/<int:wish_id>/claims")
@blp.response(201, WishSchema)
def claim_wish(wish_id):
    """Take on an approved wish (a party member; only one claimer)."""
    return _one(services.claim_wish(current_user(), wish_id))


@blp.post("/wishes/<int:wish_id>/complete")
@blp.arguments(WishCompleteArgs)
@blp.response(200, WishSchema)
def complete_wish(args, wish_id):
    """Confirm the wish was fulfilled (the resident who posted it)."""
    return _one(services.complete_wish(current_user(), wish_id, args["note"]))


@blp.post("/wishes/<int:wish_id>/cancel")
@blp.arguments(WishCancelArgs)
@blp.response(200, WishSchema)
def cancel_wish(args, wish_id):
    """Cancel a wish not yet fulfilled (the resident, the claimer, or staff)."""
    return _one(services.cancel_wish(current_user(), wish_id, args["reason"]))


@blp.post("/wishes/<int:wish_id>/rating")
@blp.arguments(WishRatingArgs)
@blp.response(200, WishSchema)
def rate_wish(args, wish_id):
    """Rate a fulfilled wish 1..5 (the resident who posted it)."""
    return _one(services.rate_wish(current_user(), wish_id, args["rating"], args["comment"]))
