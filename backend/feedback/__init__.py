"""Feedback to employer units (党员社区表现反馈), consents, export jobs and certificates."""
