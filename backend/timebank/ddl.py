"""Transfers are append-only, enforced by the database itself (the ORM guard is in models.py)."""

DDL = {
    "postgresql": [
        """CREATE OR REPLACE FUNCTION transfers_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'transfers are append-only (% refused); post a reversal instead', TG_OP;
END;
$$ LANGUAGE plpgsql""",
        """CREATE TRIGGER transfers_append_only BEFORE UPDATE OR DELETE ON transfers
FOR EACH ROW EXECUTE FUNCTION transfers_append_only()""",
    ],
    "sqlite": [
        """CREATE TRIGGER transfers_no_update BEFORE UPDATE ON transfers
BEGIN SELECT RAISE(ABORT, 'transfers are append-only'); END""",
        """CREATE TRIGGER transfers_no_delete BEFORE DELETE ON transfers
BEGIN SELECT RAISE(ABORT, 'transfers are append-only'); END""",
    ],
}
