//! Exporters: what leaves the process: the spend report (table, CSV, JSON) built from stored
//! rollups, `/metrics`, and the overview page with its JSON API. Exporters read the store
//! and never write it.
pub mod http;
pub mod metrics;
pub mod overview;
pub mod report;
