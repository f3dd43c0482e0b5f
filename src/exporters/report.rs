//! The spend report: rollups grouped by any of model, region, account, principal, role,
//! operation, scope, service tier, tag, day, month or hour, with every token kind, images,
//! exact cost and unpriced usage per group, and totals.
use crate::accounting::{Dims, INFO_METERS};
use crate::money::{Usd, format_usd};
use crate::provisioned::STREAM_METERS;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// A grouping field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupBy {
    /// Model label.
    Model,
    /// Source region.
    Region,
    /// Account id.
    Account,
    /// Principal as stored (role + session by default).
    Principal,
    /// Principal without the session (`role/Name`, `user/name`).
    Role,
    /// Operation.
    Operation,
    /// Scope (`in_region`, `geo`, `global`).
    Scope,
    /// Service tier.
    ServiceTier,
    /// `on_demand` or `provisioned`.
    PricingMode,
    /// The cost stream: `on_demand`, `provisioned` (tokens sent to provisioned models and
    /// the throughputs' model-unit hours) or `customization` (training and storage).
    CostKind,
    /// A `requestMetadata` tag key; `(none)` when absent.
    Tag(String),
    /// UTC day `YYYY-MM-DD`.
    Day,
    /// UTC month `YYYY-MM`.
    Month,
    /// UTC hour `YYYY-MM-DDTHH:00Z`.
    Hour,
}

impl GroupBy {
    /// Parses one `--group-by` item.
    pub fn parse(s: &str) -> Result<GroupBy, String> {
        Ok(match s {
            "model" => GroupBy::Model,
            "region" => GroupBy::Region,
            "account" => GroupBy::Account,
            "principal" => GroupBy::Principal,
            "role" => GroupBy::Role,
            "operation" => GroupBy::Operation,
            "scope" => GroupBy::Scope,
            "service_tier" | "tier" => GroupBy::ServiceTier,
            "pricing_mode" => GroupBy::PricingMode,
            "cost_kind" => GroupBy::CostKind,
            "day" => GroupBy::Day,
            "month" => GroupBy::Month,
            "hour" => GroupBy::Hour,
            t if t.starts_with("tag:") && t.len() > 4 => GroupBy::Tag(t[4..].to_string()),
            other => {
                return Err(format!(
                    "unknown group-by field `{other}`: use model, region, account, principal, role, \
                     operation, scope, service_tier, pricing_mode, cost_kind, tag:KEY, day, month or hour"
                ));
            }
        })
    }

    /// Column name.
    pub fn name(&self) -> String {
        match self {
            GroupBy::Model => "model".into(),
            GroupBy::Region => "region".into(),
            GroupBy::Account => "account".into(),
            GroupBy::Principal => "principal".into(),
            GroupBy::Role => "role".into(),
            GroupBy::Operation => "operation".into(),
            GroupBy::Scope => "scope".into(),
            GroupBy::ServiceTier => "service_tier".into(),
            GroupBy::PricingMode => "pricing_mode".into(),
            GroupBy::CostKind => "cost_kind".into(),
            GroupBy::Tag(k) => format!("tag:{k}"),
            GroupBy::Day => "day".into(),
            GroupBy::Month => "month".into(),
            GroupBy::Hour => "hour".into(),
        }
    }

    fn value(&self, d: &Dims) -> String {
        let t = || DateTime::<Utc>::from_timestamp(d.hour, 0).unwrap_or_default();
        match self {
            GroupBy::Model => d.model.clone(),
            GroupBy::Region => d.region.clone(),
            GroupBy::Account => d.account.clone(),
            GroupBy::Principal => d.principal.clone(),
            GroupBy::Role => {
                let mut parts = d.principal.splitn(3, '/');
                match (parts.next(), parts.next()) {
                    (Some(k), Some(n)) => format!("{k}/{n}"),
                    (Some(k), None) => k.to_string(),
                    _ => String::new(),
                }
            }
            GroupBy::Operation => d.operation.clone(),
            GroupBy::Scope => d.scope.clone(),
            GroupBy::ServiceTier => d.service_tier.clone(),
            GroupBy::PricingMode | GroupBy::CostKind => d.pricing_mode.clone(),
            GroupBy::Tag(k) => serde_json::from_str::<BTreeMap<String, String>>(&d.tags)
                .ok()
                .and_then(|m| m.get(k).cloned())
                .unwrap_or_else(|| "(none)".to_string()),
            GroupBy::Day => t().format("%Y-%m-%d").to_string(),
            GroupBy::Month => t().format("%Y-%m").to_string(),
            GroupBy::Hour => t().format("%Y-%m-%dT%H:00Z").to_string(),
        }
    }
}

/// Sums for one group (or the totals).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Sums {
    /// Invocations.
    pub invocations: u64,
    /// Uncached input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Cache-read tokens.
    pub cache_read_tokens: u64,
    /// Cache-write tokens, 5-minute TTL.
    pub cache_write_5m_tokens: u64,
    /// Cache-write tokens, 1-hour TTL.
    pub cache_write_1h_tokens: u64,
    /// Images generated.
    pub images: u64,
    /// Exact cost of priced usage.
    #[serde(serialize_with = "ser_usd")]
    pub cost_usd: Usd,
    /// Tokens with no price (unknown model, region or meter). Not in `cost_usd`.
    pub unpriced_tokens: u64,
    /// Images with no price. Not in `cost_usd`.
    pub unpriced_images: u64,
    /// Tokens that were estimated with a tokenizer (a subset of the token columns).
    pub estimated_tokens: u64,
    /// Tokens sent to provisioned models (paid by the hour, not per token).
    pub provisioned_tokens: u64,
    /// The part of `cost_usd` that is provisioned-throughput model-unit hours.
    #[serde(serialize_with = "ser_usd")]
    pub provisioned_cost_usd: Usd,
    /// The part of `cost_usd` that is model customization (training and storage).
    #[serde(serialize_with = "ser_usd")]
    pub customization_cost_usd: Usd,
}

fn ser_usd<S: serde::Serializer>(v: &Usd, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_usd(*v))
}

impl Sums {
    fn add_cell(&mut self, d: &Dims, meter: &str, quantity: u64, cost: Option<Usd>) {
        let stream = STREAM_METERS.contains(&meter);
        let is_token = meter.ends_with("_tokens") && !INFO_METERS.contains(&meter) && !stream;
        match meter {
            "invocations" => self.invocations += quantity,
            "input_tokens" => self.input_tokens += quantity,
            "output_tokens" => self.output_tokens += quantity,
            "cache_read_tokens" => self.cache_read_tokens += quantity,
            "cache_write_5m_tokens" => self.cache_write_5m_tokens += quantity,
            "cache_write_1h_tokens" => self.cache_write_1h_tokens += quantity,
            "images" => self.images += quantity,
            "estimated_tokens" => self.estimated_tokens += quantity,
            _ => {}
        }
        if let Some(c) = cost {
            self.cost_usd += c;
            match d.pricing_mode.as_str() {
                "provisioned" => self.provisioned_cost_usd += c,
                "customization" => self.customization_cost_usd += c,
                _ => {}
            }
        } else if d.pricing_mode == "provisioned" {
            if is_token {
                self.provisioned_tokens += quantity;
            }
        } else if is_token {
            self.unpriced_tokens += quantity;
        } else if meter == "images" {
            self.unpriced_images += quantity;
        }
    }

    fn add(&mut self, o: &Sums) {
        self.invocations += o.invocations;
        self.input_tokens += o.input_tokens;
        self.output_tokens += o.output_tokens;
        self.cache_read_tokens += o.cache_read_tokens;
        self.cache_write_5m_tokens += o.cache_write_5m_tokens;
        self.cache_write_1h_tokens += o.cache_write_1h_tokens;
        self.images += o.images;
        self.cost_usd += o.cost_usd;
        self.unpriced_tokens += o.unpriced_tokens;
        self.unpriced_images += o.unpriced_images;
        self.estimated_tokens += o.estimated_tokens;
        self.provisioned_tokens += o.provisioned_tokens;
        self.provisioned_cost_usd += o.provisioned_cost_usd;
        self.customization_cost_usd += o.customization_cost_usd;
    }
}

/// One group row.
#[derive(Debug, Clone, Serialize)]
pub struct ReportRow {
    /// Group field → value.
    pub group: BTreeMap<String, String>,
    /// The sums.
    #[serde(flatten)]
    pub sums: Sums,
}

/// Usage with no price, by model, region and meter, so finance sees what the cost leaves out.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct UnpricedLine {
    /// Model label.
    pub model: String,
    /// Region.
    pub region: String,
    /// Meter.
    pub meter: String,
    /// Quantity without a price.
    pub quantity: u64,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Start (inclusive), RFC 3339.
    pub from: String,
    /// End (exclusive), RFC 3339.
    pub to: String,
    /// Group-by fields, in order.
    pub group_by: Vec<String>,
    /// Price-table versions that produced the costs in range.
    pub pricing_versions: Vec<String>,
    /// Rows, sorted by cost descending, then group values.
    pub rows: Vec<ReportRow>,
    /// Totals over all rows.
    pub totals: Sums,
    /// Unpriced usage.
    pub unpriced: Vec<UnpricedLine>,
}

/// Builds a report incrementally from stored cells.
pub struct ReportBuilder {
    group_by: Vec<GroupBy>,
    groups: BTreeMap<Vec<String>, Sums>,
    versions: std::collections::BTreeSet<String>,
    unpriced: BTreeMap<(String, String, String), u64>,
}

impl ReportBuilder {
    /// A builder for these group-by fields.
    pub fn new(group_by: Vec<GroupBy>) -> ReportBuilder {
        ReportBuilder {
            group_by,
            groups: BTreeMap::new(),
            versions: Default::default(),
            unpriced: BTreeMap::new(),
        }
    }

    /// Adds one stored cell.
    pub fn add(
        &mut self,
        d: &Dims,
        meter: &str,
        pricing_version: &str,
        quantity: u64,
        cost: Option<Usd>,
    ) {
        let key: Vec<String> = self.group_by.iter().map(|g| g.value(d)).collect();
        self.groups
            .entry(key)
            .or_default()
            .add_cell(d, meter, quantity, cost);
        if !pricing_version.is_empty() {
            self.versions.insert(pricing_version.to_string());
        }
        let stream = STREAM_METERS.contains(&meter);
        let priced_meter = meter == "images"
            || stream
            || (meter.ends_with("_tokens") && !INFO_METERS.contains(&meter));
        // Tokens sent to a provisioned model are not priced per token; its hours are.
        if cost.is_none() && priced_meter && (d.pricing_mode != "provisioned" || stream) {
            *self
                .unpriced
                .entry((d.model.clone(), d.region.clone(), meter.to_string()))
                .or_default() += quantity;
        }
    }

    /// Finishes the report.
    pub fn finish(self, from: DateTime<Utc>, to: DateTime<Utc>) -> Report {
        let names: Vec<String> = self.group_by.iter().map(|g| g.name()).collect();
        let mut totals = Sums::default();
        let mut rows: Vec<ReportRow> = self
            .groups
            .into_iter()
            .map(|(k, sums)| {
                totals.add(&sums);
                ReportRow {
                    group: names.iter().cloned().zip(k).collect(),
                    sums,
                }
            })
            .collect();
        rows.sort_by(|a, b| {
            b.sums
                .cost_usd
                .cmp(&a.sums.cost_usd)
                .then_with(|| a.group.cmp(&b.group))
        });
        Report {
            from: from.to_rfc3339(),
            to: to.to_rfc3339(),
            group_by: names,
            pricing_versions: self.versions.into_iter().collect(),
            rows,
            totals,
            unpriced: self
                .unpriced
                .into_iter()
                .map(|((model, region, meter), quantity)| UnpricedLine {
                    model,
                    region,
                    meter,
                    quantity,
                })
                .collect(),
        }
    }
}

const COLUMNS: [&str; 14] = [
    "invocations",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "images",
    "cost_usd",
    "unpriced_tokens",
    "unpriced_images",
    "estimated_tokens",
    "provisioned_tokens",
    "provisioned_cost_usd",
    "customization_cost_usd",
];

fn values(s: &Sums) -> [String; 14] {
    [
        s.invocations.to_string(),
        s.input_tokens.to_string(),
        s.output_tokens.to_string(),
        s.cache_read_tokens.to_string(),
        s.cache_write_5m_tokens.to_string(),
        s.cache_write_1h_tokens.to_string(),
        s.images.to_string(),
        format_usd(s.cost_usd),
        s.unpriced_tokens.to_string(),
        s.unpriced_images.to_string(),
        s.estimated_tokens.to_string(),
        s.provisioned_tokens.to_string(),
        format_usd(s.provisioned_cost_usd),
        format_usd(s.customization_cost_usd),
    ]
}

impl Report {
    /// CSV: one row per group and a final `TOTAL` row; money as exact decimal strings.
    pub fn to_csv(&self) -> Result<String, csv::Error> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let mut header: Vec<String> = self.group_by.clone();
        header.extend(COLUMNS.iter().map(|c| c.to_string()));
        w.write_record(&header)?;
        for r in &self.rows {
            let mut rec: Vec<String> = self
                .group_by
                .iter()
                .map(|g| r.group.get(g).cloned().unwrap_or_default())
                .collect();
            rec.extend(values(&r.sums));
            w.write_record(&rec)?;
        }
        let mut tot: Vec<String> = self.group_by.iter().map(|_| String::new()).collect();
        match tot.first_mut() {
            Some(first) => *first = "TOTAL".into(),
            None => tot.push("TOTAL".into()),
        }
        if self.group_by.is_empty() {
            // The header has no group column: keep columns aligned by dropping the label.
            tot.clear();
        }
        tot.extend(values(&self.totals));
        w.write_record(&tot)?;
        let bytes = w
            .into_inner()
            .map_err(|e| csv::Error::from(e.into_error()))?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Pretty JSON (field names documented in README).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// A terminal table: the main columns, a totals row, and the unpriced usage below.
    pub fn to_table(&self) -> String {
        use comfy_table::{CellAlignment, ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
        let mut t = Table::new();
        t.load_preset(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic);
        let mut shown = vec![
            "invocations",
            "input",
            "output",
            "cache read",
            "cache write 5m",
            "cache write 1h",
            "images",
            "cost USD",
            "unpriced tokens",
        ];
        // Cost-kind columns only when the range has such cost, so on-demand-only reports
        // keep their shape.
        let streams = !self.totals.provisioned_cost_usd.is_zero()
            || !self.totals.customization_cost_usd.is_zero();
        if streams {
            shown.extend(["provisioned USD", "customization USD"]);
        }
        let mut header: Vec<String> = self.group_by.clone();
        header.extend(shown.iter().map(|s| s.to_string()));
        t.set_header(header);
        let row = |s: &Sums| -> Vec<String> {
            let v = values(s);
            let mut r = vec![
                v[0].clone(),
                v[1].clone(),
                v[2].clone(),
                v[3].clone(),
                v[4].clone(),
                v[5].clone(),
                v[6].clone(),
                v[7].clone(),
                v[8].clone(),
            ];
            if streams {
                r.extend([v[12].clone(), v[13].clone()]);
            }
            r
        };
        for r in &self.rows {
            let mut cells: Vec<String> = self
                .group_by
                .iter()
                .map(|g| r.group.get(g).cloned().unwrap_or_default())
                .collect();
            cells.extend(row(&r.sums));
            t.add_row(cells);
        }
        let mut tot: Vec<String> = self.group_by.iter().map(|_| String::new()).collect();
        if let Some(f) = tot.first_mut() {
            *f = "TOTAL".into();
        }
        tot.extend(row(&self.totals));
        t.add_row(tot);
        for i in self.group_by.len()..self.group_by.len() + shown.len() {
            if let Some(c) = t.column_mut(i) {
                c.set_cell_alignment(CellAlignment::Right);
            }
        }
        let mut out = format!("Spend from {} to {}\n{t}\n", self.from, self.to);
        if !self.pricing_versions.is_empty() {
            out.push_str(&format!(
                "Priced with table version(s): {}\n",
                self.pricing_versions.join(", ")
            ));
        }
        if self.unpriced.is_empty() {
            out.push_str("All usage in range is priced.\n");
        } else {
            out.push_str("UNPRICED usage (not included in cost; add prices to the table and run `reprice`):\n");
            for u in &self.unpriced {
                out.push_str(&format!(
                    "  {} {} {}: {}\n",
                    u.model, u.region, u.meter, u.quantity
                ));
            }
        }
        out
    }
}
