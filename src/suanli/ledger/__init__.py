"""Double-entry ledger rules: accounts, two-phase transfers, invariants."""
