//! Exporters: what leaves the process. For now the spend report (table, CSV, JSON) built
//! from stored rollups. Exporters read the store and never write it.
pub mod http;
pub mod metrics;
pub mod overview;
pub mod report;
