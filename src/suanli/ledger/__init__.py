"""The double-entry ledger's pure rules: account kinds and floors, result codes, invariants.

Nothing here touches a database; ``suanli.services.ledger`` applies these rules to stored rows.
"""
