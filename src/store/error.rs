//! The store's error type. Every variant names the database file, and SQLite failures say
//! what the store was doing, so a log line is enough to act on.
use std::path::PathBuf;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The parent directory of the database could not be created.
    #[error("could not create the directory for the ledger {path}")]
    CreateDir {
        /// The database path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// The file exists but is not a bedrock-meter ledger (not SQLite at all, or a SQLite
    /// database that belongs to something else). The store never modifies such a file.
    #[error("{path} is not a bedrock-meter database: {reason}")]
    NotALedger {
        /// The database path.
        path: PathBuf,
        /// What was found instead.
        reason: String,
    },

    /// The ledger was written by a newer bedrock-meter whose schema this binary does not know.
    #[error(
        "{path} has schema version {found}, but this bedrock-meter only knows versions up to \
         {supported}; use a newer bedrock-meter to read it"
    )]
    SchemaTooNew {
        /// The database path.
        path: PathBuf,
        /// `PRAGMA user_version` of the file.
        found: i64,
        /// The newest schema version this binary knows.
        supported: i64,
    },

    /// A read-only open found a ledger that still needs migrations (or was never
    /// initialised); only a read-write open migrates.
    #[error(
        "{path} has schema version {found}, but this bedrock-meter needs version {expected}; \
         open it read-write once (run the daemon or a backfill) to migrate it"
    )]
    SchemaTooOld {
        /// The database path.
        path: PathBuf,
        /// `PRAGMA user_version` of the file.
        found: i64,
        /// The schema version this binary needs.
        expected: i64,
    },

    /// A schema migration failed; the migration's transaction was rolled back.
    #[error("migrating {path} to schema version {version} failed")]
    Migration {
        /// The database path.
        path: PathBuf,
        /// The version that was being applied.
        version: i64,
        /// The SQLite error.
        #[source]
        source: rusqlite::Error,
    },

    /// A write was attempted on a store opened with [`Store::open_read_only`](super::Store::open_read_only).
    #[error("{path} was opened read-only; cannot {doing}")]
    ReadOnly {
        /// The database path.
        path: PathBuf,
        /// What was attempted.
        doing: &'static str,
    },

    /// A quantity, position or counter does not fit SQLite's signed 64-bit integer (the
    /// value itself, or the sum with what is already stored). Nothing of the transaction
    /// was written.
    #[error(
        "{path}: {what} would exceed the largest storable integer (2^63 - 1); nothing was written"
    )]
    Overflow {
        /// The database path.
        path: PathBuf,
        /// Which value overflowed, e.g. the rollup cell.
        what: String,
    },

    /// The caller passed something the operation cannot accept.
    #[error("{path}: {what}")]
    InvalidInput {
        /// The database path.
        path: PathBuf,
        /// What was wrong.
        what: String,
    },

    /// A stored value could not be read back (a negative quantity, a cost that is not a
    /// decimal): the file was changed by something other than this store.
    #[error("{path} holds an invalid value: {what}")]
    Corrupt {
        /// The database path.
        path: PathBuf,
        /// What was invalid, and where.
        what: String,
    },

    /// Any other SQLite failure, with what the store was doing.
    #[error("{doing} in {path} failed")]
    Sqlite {
        /// The database path.
        path: PathBuf,
        /// What the store was doing, e.g. `committing a batch`.
        doing: &'static str,
        /// The SQLite error.
        #[source]
        source: rusqlite::Error,
    },
}

impl StoreError {
    /// A short, fixed label for metrics and logs (`error_type`): one of `io`,
    /// `not_a_ledger`, `schema_too_new`, `schema_too_old`, `migration`, `read_only`,
    /// `overflow`, `invalid_input`, `corrupt`, `busy`, `sqlite`.
    pub fn kind(&self) -> &'static str {
        match self {
            StoreError::CreateDir { .. } => "io",
            StoreError::NotALedger { .. } => "not_a_ledger",
            StoreError::SchemaTooNew { .. } => "schema_too_new",
            StoreError::SchemaTooOld { .. } => "schema_too_old",
            StoreError::Migration { .. } => "migration",
            StoreError::ReadOnly { .. } => "read_only",
            StoreError::Overflow { .. } => "overflow",
            StoreError::InvalidInput { .. } => "invalid_input",
            StoreError::Corrupt { .. } => "corrupt",
            StoreError::Sqlite { source, .. } => {
                if source.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) {
                    "busy"
                } else {
                    "sqlite"
                }
            }
        }
    }
}
