"""Found by the export machinery's builder discovery (backend.<domain>.exports): registers the 台账 kinds."""
from backend.oversight import ledger_exports  # noqa: F401
