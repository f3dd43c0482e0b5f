//! `bedrock-meter pricing check|show`: validating and inspecting the price table.
use crate::cli::{PricingCommand, UsageError, load_book, parse_time};
use crate::money::format_usd;
use crate::pricing::{PriceEntry, check_dir};
use anyhow::{Result, anyhow};

/// Runs a `pricing` subcommand; returns the exit code.
pub fn run(action: PricingCommand) -> Result<u8> {
    match action {
        PricingCommand::Check { dir } => match check_dir(dir.as_deref()) {
            Ok(report) => {
                print!("{report}");
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
