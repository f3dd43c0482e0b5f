//! Store: the SQLite ledger. The only module that writes SQLite.
