"""Schemathesis against /api/v1/openapi.json, through the WSGI app, with a token for each role:
no 5xx, and every answer matches the documented schema and content type. Slow: `make test-slow`.

SCHEMATHESIS_EXAMPLES (default 4) bounds the examples per operation and role."""
from __future__ import annotations

import os

import hypothesis
import pytest
import schemathesis
from schemathesis import checks
from schemathesis.openapi import checks as oas_checks  # noqa: F401  (registers the OpenAPI checks)

from tests.reliability.foreign import token_for

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", 4))
ROLES = ("resident", "member", "staff1", "unit1", "streetadm", "admin")
CHECKS = [checks.not_a_server_error, checks.response_schema_conformance, checks.content_type_conformance,
          checks.status_code_conformance]


def _run_operation(operation, headers, failures):
    strategy = operation.as_strategy()

    @hypothesis.settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                         phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
                         suppress_health_check=list(hypothesis.HealthCheck))
    @hypothesis.given(case=strategy)
    def run(case):
        try:
            response = case.call(headers=headers)
        except Exception as exc:  # the app raised out of the WSGI call: as bad as a 500
            failures.append(f"{operation.method.upper()} {operation.path} -> raised {type(exc).__name__}: "
                            f"{str(exc)[:120]}")
            return
        try:
            case.validate_response(response, checks=CHECKS)
        except BaseException as exc:  # noqa: B036  (a FailureGroup, a BaseExceptionGroup, names each failed check)
            if isinstance(exc, KeyboardInterrupt):
                raise
            lines = str(exc).splitlines()
            titles = [ln.strip("- ").strip() for ln in lines if ln.startswith("- ")]
            titles += [ln.strip() for ln in lines if ln.strip().startswith("curl ")][:1]
            failures.append(f"{operation.method.upper()} {operation.path} -> {response.status_code}: "
                            f"{'; '.join(titles) or lines[0]}"[:600])

    run()


@pytest.mark.slow
@pytest.mark.parametrize("role", ROLES)
def test_api_matches_its_schema_for_every_role(app, city, role):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    headers = token_for(getattr(city, role))
    failures, count = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        count += 1
        _run_operation(operation, headers, failures)
    assert count > 10
    unique = sorted(set(failures))
    assert not unique, f"{len(unique)} schema failures as {role}:\n" + "\n".join(unique[:60])
