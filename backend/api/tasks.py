"""Volunteer posts (tasks) and claims."""
from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint

from backend.api.common import current_user, idempotent, page_schema, paginate
from backend.auth import policy
from backend.tasks import queries, services
from backend.tasks.models import Task
from backend.tasks.schemas import (CancelTaskArgs, ClaimerSchema, ClaimSchema, CommunityTaskArgs, CreateTaskArgs,
                                   MyTaskArgs, MyTaskSchema, TaskListArgs, TaskSchema, UpdateTaskArgs)

blp = Blueprint("tasks", __name__, url_prefix="/api/v1", description="志愿服务任务与认领")

TaskPage = page_schema(TaskSchema, "TaskPage")


class ClaimerList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ClaimerSchema))
    next_cursor = ma.fields.String(allow_none=True)


@blp.post("/communities/<int:community_id>/tasks")
@idempotent
@blp.arguments(CreateTaskArgs)
@blp.response(201, TaskSchema)
def create_task(args, community_id):
    """Post a volunteer task in the community (staff of it)."""
    return services.create_task(current_user(), community_id, **args)


@blp.get("/communities/<int:community_id>/tasks")
@blp.arguments(CommunityTaskArgs, location="query")
@blp.response(200, TaskPage)
def list_community_tasks(args, community_id):
    """Every task of the community in any status, newest first (its staff, street_admin, admin)."""
    policy.require_community_reader(current_user(), community_id)
    return paginate(queries.community_tasks(community_id, args["status"]), Task.id, args["limit"], args["cursor"])


@blp.get("/tasks")
@blp.arguments(TaskListArgs, location="query")
@blp.response(200, TaskPage)
def list_tasks(args):
    """Tasks by community, status, skill and local date; ?recommended=1 orders open tasks by skill match."""
    user = current_user()
    return queries.list_tasks(user.id, community_id=args["community_id"], status=args["status"],
                              skill=args["skill"], on=args["date"], recommended_only=args["recommended"],
                              limit=args["limit"], cursor=args["cursor"])


@blp.get("/me/tasks")
@blp.arguments(MyTaskArgs, location="query")
@blp.response(200, page_schema(MyTaskSchema, "MyTaskPage"))
def my_tasks(args):
    """The tasks I claimed or attended, with my claim and my attendance (minutes, points)."""
    return queries.my_tasks(current_user().id, args["status"], args["limit"], args["cursor"])


@blp.get("/tasks/<int:task_id>")
@blp.response(200, TaskSchema)
def get_task(task_id):
    """One task with claimed_count and the caller's own claim (my_claim)."""
    user = current_user()
    return queries.attach_my_claims([services.get_task(task_id)], user.id)[0]


@blp.patch("/tasks/<int:task_id>")
@blp.arguments(UpdateTaskArgs)
@blp.response(200, TaskSchema)
def update_task(args, task_id):
    """Edit a task before it starts (staff of its community)."""
    return services.update_task(current_user(), task_id, **args)


@blp.post("/tasks/<int:task_id>/cancel")
@blp.arguments(CancelTaskArgs)
@blp.response(200, TaskSchema)
def cancel_task(args, task_id):
    """Cancel a task (staff of its community); claimers are notified."""
    return services.cancel_task(current_user(), task_id, args["reason"])


@blp.get("/tasks/<int:task_id>/claims")
@blp.response(200, ClaimerList)
def list_claims(task_id):
    """Who claimed the task (staff of its community, street_admin, admin)."""
    task = services.get_task(task_id)
    policy.require_community_reader(current_user(), task.community_id)
    return {"items": queries.claims_of(task_id), "next_cursor": None}


@blp.post("/tasks/<int:task_id>/claims")
@blp.response(201, ClaimSchema)
def claim_task(task_id):
    """Claim a seat on a task before it starts (any logged-in member or resident)."""
    return services.claim_task(current_user(), task_id)


@blp.delete("/tasks/<int:task_id>/claims/me")
@blp.response(204)
def unclaim_task(task_id):
    """Give back the caller's seat before the task starts."""
    services.unclaim_task(current_user(), task_id)
