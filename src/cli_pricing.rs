//! `bedrock-meter pricing check|show`: validating and inspecting the price table.
use crate::cli::{PricingCommand, UsageError, load_book, parse_time};
use crate::money::format_usd;
use crate::pricing::{PriceEntry, check_dir};
use anyhow::{Result, anyhow};

/// Runs a `pricing` subcommand; returns the exit code.
pub fn run(action: PricingCommand) -> Result<u8> {
    match action {
        PricingCommand::Check { dir, db } => match check_dir(dir.as_deref()) {
            Ok(report) => {
                print!("{report}");
                if let Some(db) = db {
                    let book = crate::cli::load_book(&crate::cli::PricingArgs {
                        pricing: dir.clone(),
                    })?;
                    let store = crate::store::Store::open_read_only(&db)
                        .map_err(|e| anyhow!(UsageError(format!("--db {}: {e}", db.display()))))?;
                    print!("{}", ledger_warnings(&store, &book)?);
                }
                Ok(0)
            }
            Err(e) => {
                let what =
                    dir.map_or_else(|| "embedded table".to_string(), |d| d.display().to_string());
                Err(anyhow!(UsageError(format!(
                    "price table {what} is invalid:\n{e}"
                ))))
            }
        },
        PricingCommand::Show {
            pricing,
            model,
            region,
            at,
        } => {
            let book = load_book(&pricing)?;
            let at = at
                .map(|a| {
                    parse_time(&a, false).map_err(|e| anyhow!(UsageError(format!("--at: {e}"))))
                })
                .transpose()?;
            let entries = book.entries_matching(&model, region.as_deref(), at);
            if entries.is_empty() {
                let mut known: Vec<&str> = book
                    .models()
                    .into_iter()
                    .filter(|m| m.contains(model.as_str()))
                    .collect();
                known.truncate(20);
                let hint = if known.is_empty() {
                    String::new()
                } else {
                    format!("\nModels containing `{model}`: {}", known.join(", "))
                };
                eprintln!(
                    "No price entry for `{model}`{}{} in table {}.{hint}",
                    region.map(|r| format!(" in {r}")).unwrap_or_default(),
                    at.map(|t| format!(" at {}", t.format("%Y-%m-%d")))
                        .unwrap_or_default(),
                    book.version()
                );
                return Ok(crate::cli::EXIT_FAILURE);
            }
            println!(
                "Price table {} — {} entr{}:",
                book.version(),
                entries.len(),
                if entries.len() == 1 { "y" } else { "ies" }
            );
            for e in entries {
                print!("{}", describe(e));
            }
            Ok(0)
        }
    }
}

/// A human description of one entry: key, dates, every price, and where it came from.
pub fn describe(e: &PriceEntry) -> String {
    let mut s = format!("\n{}\n", e.id());
    s.push_str(&format!("  models:    {}\n", e.models().join(", ")));
    s.push_str(&format!("  regions:   {}\n", e.regions().join(", ")));
    let scopes: Vec<&str> = e.scopes().iter().map(|x| x.as_str()).collect();
    s.push_str(&format!(
        "  scope:     {}   tier: {}   context: {}",
        scopes.join(", "),
        e.tier().as_str(),
        e.context_band().as_str()
    ));
    if let Some(t) = e.long_context_threshold() {
        s.push_str(&format!(" (> {t} input tokens)"));
    }
    s.push('\n');
    s.push_str(&format!(
        "  effective: {} → {}\n",
        e.effective_from(),
        e.effective_to()
            .map_or_else(|| "open".to_string(), |d| d.to_string())
    ));
    for (m, price) in e.meters() {
        s.push_str(&format!("  {:<38} {}\n", m.key(), format_usd(price)));
    }
    for b in e.image_bands() {
        s.push_str(&format!(
            "  image {:<32} {} per image\n",
            b.label(),
            format_usd(b.usd_per_image())
        ));
    }
    for (term, price) in e.provisioned_terms() {
        s.push_str(&format!(
            "  provisioned {:<26} {} per model-unit hour\n",
            term.as_str(),
            format_usd(price)
        ));
    }
    s.push_str(&format!(
        "  source:    {} (retrieved {}, confidence {})\n",
        e.source(),
        e.retrieved(),
        e.confidence().as_str()
    ));
    if let Some(n) = e.note() {
        s.push_str(&format!("  note:      {n}\n"));
    }
    s
}

/// `pricing check --db`: usage in the ledger that was booked without a price, by model and
/// region, and models with usage that the control plane lists as LEGACY (from the list the
/// daemon keeps in the ledger's `meta` table), with their extended-access and end-of-life
/// dates where known.
pub fn ledger_warnings(
    store: &crate::store::Store,
    book: &crate::pricing::PriceBook,
) -> Result<String> {
    use crate::sources::control_plane::{FOUNDATION_MODELS_META_KEY, foundation_models_from_json};
    use std::collections::{BTreeMap, BTreeSet};
    let mut unpriced: BTreeMap<(String, String), BTreeMap<String, u64>> = BTreeMap::new();
    let mut used: BTreeSet<(String, String)> = BTreeSet::new();
    store.for_each_rollup_row(i64::MIN, i64::MAX, |row| {
        if row.amount.quantity == 0 {
            return Ok::<_, crate::store::StoreError>(());
        }
        let key = (row.dims.model.clone(), row.dims.region.clone());
        used.insert(key.clone());
        if row.price_entry.is_empty()
            && row.dims.pricing_mode == "on_demand"
            && !crate::accounting::INFO_METERS.contains(&row.meter.as_str())
        {
            *unpriced
                .entry(key)
                .or_default()
                .entry(row.meter)
                .or_default() += row.amount.quantity;
        }
        Ok(())
    })?;
    let models: BTreeMap<(String, String), crate::inventory::FoundationModel> = store
        .meta_get(FOUNDATION_MODELS_META_KEY)?
        .map(|j| foundation_models_from_json(&j))
        .unwrap_or_default()
        .into_iter()
        .map(|m| ((m.model_id.clone(), m.region.clone()), m))
        .collect();
    let lifecycle = |model: &str, region: &str| -> Option<String> {
        let m = models.get(&(model.to_string(), region.to_string()))?;
        let mut s = m.lifecycle.clone();
        if let Some(t) = m.extended_access_at {
            s.push_str(&format!(", extended access from {}", t.format("%Y-%m-%d")));
        }
        if let Some(t) = m.end_of_life_at {
            s.push_str(&format!(", end of life {}", t.format("%Y-%m-%d")));
        }
        Some(s)
    };
    let mut out = String::new();
    if models.is_empty() {
        out.push_str(
            "\nNo foundation-model list in the ledger yet (the daemon stores it after its first \
             control-plane refresh); lifecycles are not shown.\n",
        );
    }
    if unpriced.is_empty() {
        out.push_str("\nEvery on-demand usage in the ledger has a price.\n");
    } else {
        let known = book.models();
        out.push_str("\nwarning: usage in the ledger with no price (counted, not in spend):\n");
        for ((model, region), meters) in &unpriced {
            let qty: Vec<String> = meters.iter().map(|(m, q)| format!("{q} {m}")).collect();
            out.push_str(&format!("  {model} in {region}: {}", qty.join(", ")));
            if let Some(l) = lifecycle(model, region) {
                out.push_str(&format!(" [{l}]"));
            }
            if known.contains(&model.as_str()) {
                out.push_str(" (this table prices the model now: run `bedrock-meter reprice`)");
            }
            out.push('\n');
        }
    }
    let legacy: Vec<String> = used
        .iter()
        .filter_map(|(model, region)| {
            let l = lifecycle(model, region)?;
            l.starts_with("LEGACY")
                .then(|| format!("  {model} in {region} [{l}]\n"))
        })
        .collect();
    if !legacy.is_empty() {
        out.push_str(
            "\nwarning: models with usage that the control plane lists as LEGACY (prices may \
             rise with extended access; plan a migration):\n",
        );
        out.extend(legacy);
    }
    Ok(out)
}
