"""Benchmarks against the stack's ceiling: `python -m bench` (or `make bench`) prints a table.

Each workload measures the product and, in the same run, a ceiling: a bare Flask app under the
same gunicorn settings doing only the essential SQL with psycopg. Loads go to loopback only and
stop by themselves (bounded in count and time). Not part of `make test`.
"""
