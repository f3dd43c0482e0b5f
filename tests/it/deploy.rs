//! Deployment files (filled in below).
