"""Oversight and the record: dashboards, 台账 exports, a person's own data (export and closing)."""
