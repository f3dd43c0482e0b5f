//! Read-only spend summaries for the overview page (`GET /api/v1/overview`): exact cost per
//! model or principal over a range of hours, and total cost over a range. Owns only these
//! queries; must not write, price or decide what the page shows.
use super::{Store, StoreError, functions, sqlite_error};
use crate::money::Usd;

/// A dimension the overview groups spend by. Closed set, so a column name never comes from
/// outside the program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpendDimension {
    /// The `model` column.
    Model,
    /// The `principal` column.
    Principal,
    /// The `pricing_mode` column: the cost stream (`on_demand`, `provisioned`,
    /// `customization`).
    Stream,
}

impl SpendDimension {
    fn column(self) -> &'static str {
        match self {
            SpendDimension::Model => "model",
            SpendDimension::Principal => "principal",
            SpendDimension::Stream => "pricing_mode",
        }
    }
}

/// Exact spend of one value of a dimension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpendShare {
    /// The value as stored (model label or principal; may be empty).
    pub key: String,
    /// Exact cost of the priced usage.
    pub cost: Usd,
    /// Invocations counted.
    pub invocations: u64,
}

impl Store {
    /// Spend in the hours `[from_hour, to_hour)` grouped by `dim`, most expensive first (ties
    /// by key). Values with usage but no priced cost appear with a zero cost; unpriced usage
    /// is reported elsewhere, never as spend.
    pub fn spend_by(
        &self,
        dim: SpendDimension,
        from_hour: i64,
        to_hour: i64,
    ) -> Result<Vec<SpendShare>, StoreError> {
        let failed = |source| sqlite_error(&self.path, "summing spend for the overview", source);
        let col = dim.column();
        let sql = format!(
            "SELECT {col}, dec_sum(cost_usd), \
                 sum(CASE WHEN meter = 'invocations' THEN quantity ELSE 0 END) \
             FROM rollup_hourly WHERE hour >= ?1 AND hour < ?2 GROUP BY {col}"
        );
        let mut stmt = self.conn.prepare_cached(&sql).map_err(failed)?;
        let raws = stmt
            .query_map([from_hour, to_hour], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(failed)?;
        let mut out = raws
            .into_iter()
            .map(|(key, cost, invocations)| {
                let what = || format!("the overview spend of {col} {key:?}");
                let cost = match cost {
                    Some(c) => self.overview_usd(&c, what)?.normalize(),
                    None => Usd::ZERO,
                };
                let invocations = self.overview_u64(invocations, what)?;
                Ok(SpendShare {
                    key,
                    cost,
                    invocations,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        out.sort_by(|a, b| b.cost.cmp(&a.cost).then_with(|| a.key.cmp(&b.key)));
        Ok(out)
    }

    /// Exact cost of all priced usage in the hours `[from_hour, to_hour)`.
    pub fn cost_between(&self, from_hour: i64, to_hour: i64) -> Result<Usd, StoreError> {
        let failed = |source| sqlite_error(&self.path, "summing spend for the overview", source);
        let cost: Option<String> = self
            .conn
            .prepare_cached(
                "SELECT dec_sum(cost_usd) FROM rollup_hourly WHERE hour >= ?1 AND hour < ?2",
            )
            .and_then(|mut s| s.query_row([from_hour, to_hour], |r| r.get(0)))
            .map_err(failed)?;
        match cost {
            Some(c) => Ok(self
                .overview_usd(&c, || "the overview total".to_string())?
                .normalize()),
            None => Ok(Usd::ZERO),
        }
    }
}

impl Store {
    /// A stored cost that must be decimal text.
    fn overview_usd(&self, text: &str, what: impl FnOnce() -> String) -> Result<Usd, StoreError> {
        functions::parse(text).map_err(|e| StoreError::Corrupt {
            path: self.path.clone(),
            what: format!("{e} in {}", what()),
        })
    }

    /// A stored integer that must not be negative.
    fn overview_u64(&self, v: i64, what: impl FnOnce() -> String) -> Result<u64, StoreError> {
        u64::try_from(v).map_err(|_| StoreError::Corrupt {
            path: self.path.clone(),
            what: format!("negative quantity {v} in {}", what()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounting::{Amount, Batch, Dims, MeterKey};
    use std::str::FromStr;

    fn dims(hour: i64, model: &str, principal: &str) -> Dims {
        Dims {
            hour,
            account: "123456789012".into(),
            region: "us-east-1".into(),
            model: model.into(),
            scope: "in_region".into(),
            service_tier: "standard".into(),
            context_band: "standard".into(),
            operation: "Converse".into(),
            principal: principal.into(),
            tags: "{}".into(),
            pricing_mode: "on_demand".into(),
        }
    }

    fn add(batch: &mut Batch, d: Dims, meter: &'static str, q: u64, cost: Option<&str>) {
        let key = MeterKey {
            meter,
            detail: String::new(),
            price_entry: if cost.is_some() { "e1" } else { "" }.into(),
            pricing_version: if cost.is_some() { "v1" } else { "" }.into(),
        };
        batch.cells(d).entry(key).or_default().add(&Amount {
            quantity: q,
            cost: cost.map(|c| Usd::from_str(c).unwrap()),
        });
    }

    #[test]
    fn spend_is_summed_exactly_per_model_and_principal_within_the_hours_asked() {
        let mut store = Store::open_in_memory().unwrap();
        let mut b = Batch::default();
        add(
            &mut b,
            dims(3600, "m1", "role/A"),
            "input_tokens",
            10,
            Some("0.1"),
        );
        add(&mut b, dims(3600, "m1", "role/A"), "invocations", 2, None);
        add(
            &mut b,
            dims(7200, "m1", "role/B"),
            "output_tokens",
            5,
            Some("0.2"),
        );
        add(
            &mut b,
            dims(7200, "m2", "role/B"),
            "input_tokens",
            7,
            Some("0.05"),
        );
        add(&mut b, dims(7200, "m3", "role/B"), "input_tokens", 7, None);
        add(
            &mut b,
            dims(10800, "m2", "role/A"),
            "input_tokens",
            1,
            Some("9"),
        );
        store.commit(&b).unwrap();

        let by_model = store.spend_by(SpendDimension::Model, 0, 10800).unwrap();
        let got: Vec<(&str, String, u64)> = by_model
            .iter()
            .map(|s| (s.key.as_str(), s.cost.to_string(), s.invocations))
            .collect();
        assert_eq!(
            got,
            [
                ("m1", "0.3".to_string(), 2),
                ("m2", "0.05".to_string(), 0),
                ("m3", "0".to_string(), 0)
            ]
        );
        let by_principal = store.spend_by(SpendDimension::Principal, 0, 20000).unwrap();
        assert_eq!(by_principal[0].key, "role/A");
        assert_eq!(by_principal[0].cost.to_string(), "9.1");
        let by_stream = store.spend_by(SpendDimension::Stream, 0, 20000).unwrap();
        assert_eq!(by_stream.len(), 1);
        assert_eq!(by_stream[0].key, "on_demand");
        assert_eq!(by_stream[0].cost.to_string(), "9.35");
        assert_eq!(store.cost_between(7200, 10800).unwrap().to_string(), "0.25");
        assert_eq!(store.cost_between(0, 1).unwrap(), Usd::ZERO);
    }
}
