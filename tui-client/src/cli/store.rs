//! `denbun store`: the full-screen store terminal, or, headless, the
//! catalog draft (`store catalog import FILE.csv`, `export FILE.csv`,
//! `publish`). The draft is `DIR/catalog.csv` (see
//! [`crate::catalog_file`]), the same file the full-screen terminal edits.

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use denbun_protocol::header::{PartyKind, StoreNumber};
use tokio::runtime::Runtime;

use super::money::{failed, open};
use super::{CliError, Context};
use crate::catalog_file::{self, DRAFT_FILE_NAME, DraftItem, DraftKind};
use crate::money;

/// `denbun store`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct StoreArgs {
    /// What to do headless; without it, the full-screen store terminal opens.
    #[command(subcommand)]
    pub action: Option<StoreAction>,
}

/// The headless store verbs.
#[derive(Debug, Subcommand)]
pub enum StoreAction {
    /// The catalog draft: import, export, publish.
    #[command(subcommand)]
    Catalog(CatalogAction),
}

/// What to do with the catalog draft.
#[derive(Debug, Subcommand)]
pub enum CatalogAction {
    /// Replace the draft with a CSV file (columns item_id,title,description,price_yen,kind,file).
    Import {
        /// The CSV file; a digital item's file path may be relative to it.
        #[arg(value_name = "FILE.csv")]
        file: PathBuf,
    },
    /// Write the draft to a CSV file, to edit it in a spreadsheet.
    Export {
        /// Where to write.
        #[arg(value_name = "FILE.csv")]
        file: PathBuf,
    },
    /// Publish the draft as the store's next catalog version.
    Publish,
}

/// Runs a headless store verb.
pub(super) fn run(context: &Context, runtime: &Runtime, action: &StoreAction) -> Result<(), CliError> {
    match action {
        StoreAction::Catalog(CatalogAction::Import { file }) => import(context, file),
        StoreAction::Catalog(CatalogAction::Export { file }) => export(context, file),
        StoreAction::Catalog(CatalogAction::Publish) => publish(context, runtime),
    }
}

fn draft_path(context: &Context) -> PathBuf {
    context.profile.join(DRAFT_FILE_NAME)
}

/// Reads `file`, resolving digital items' relative paths against its
/// directory and checking that each of those files is there.
pub fn read_import(file: &Path) -> Result<Vec<DraftItem>, CliError> {
    if !file.is_file() {
        return Err(CliError::Failed(format!("There is no file {}; nothing was imported.", file.display())));
    }
    let mut items =
        catalog_file::read(file).map_err(|error| CliError::Failed(format!("{error}. Nothing was imported.")))?;
    let base = file.parent().map(Path::to_owned).unwrap_or_default();
    let base = std::path::absolute(&base).unwrap_or(base);
    let mut missing = Vec::new();
    for item in &mut items {
        if let Some(path) = &item.file {
            let resolved = if path.is_absolute() { path.clone() } else { base.join(path) };
            if item.kind == DraftKind::Digital && !resolved.is_file() {
                missing.push(format!("item {}: {}", item.item_id, resolved.display()));
            }
            item.file = Some(resolved);
        }
    }
    if !missing.is_empty() {
        return Err(CliError::Failed(format!(
            "These digital items' files are missing: {}. Nothing was imported.",
            missing.join(", ")
        )));
    }
    Ok(items)
}

fn import(context: &Context, file: &Path) -> Result<(), CliError> {
    let items = read_import(file)?;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(&context.profile).map_err(|error| {
        CliError::Failed(format!("Cannot create the directory {}: {error}", context.profile.display()))
    })?;
    let draft = draft_path(context);
    catalog_file::write(&draft, &items).map_err(CliError::Failed)?;
    println!(
        "Imported {} item(s) into the catalog draft ({}). `denbun store catalog publish` publishes it.",
        items.len(),
        draft.display()
    );
    Ok(())
}

fn read_draft(context: &Context) -> Result<Vec<DraftItem>, CliError> {
    let draft = draft_path(context);
    if !draft.exists() {
        return Err(CliError::Failed(format!(
            "There is no catalog draft at {}; import one first with `denbun store catalog import FILE.csv`.",
            draft.display()
        )));
    }
    catalog_file::read(&draft).map_err(CliError::Failed)
}

fn export(context: &Context, file: &Path) -> Result<(), CliError> {
    let items = read_draft(context)?;
    catalog_file::write(file, &items).map_err(CliError::Failed)?;
    println!("Wrote the catalog draft's {} item(s) to {}.", items.len(), file.display());
    Ok(())
}

fn publish(context: &Context, runtime: &Runtime) -> Result<(), CliError> {
    let items = read_draft(context)?;
    if items.is_empty() {
        return Err(CliError::Failed(
            "The catalog draft is empty; import the items first (`denbun store catalog import FILE.csv`).".to_owned(),
        ));
    }
    eprintln!("Reading the size and SHA-256 of the digital items' files...");
    let catalog = crate::terminal::backend::catalog_items(&items)
        .map_err(|error| CliError::Failed(format!("{error}. Nothing was published.")))?;
    let mut signed = open(context, runtime, Some(PartyKind::Store))?;
    let store = StoreNumber::try_from(signed.vault.profile().party).expect("open checked it is a store");
    let current = runtime
        .block_on(money::catalog_page(&mut signed.vault, &signed.session, &signed.key, store, "", 0))
        .map_err(|error| failed(error, "reading your current catalog"))?
        .catalog_version;
    let version = current + 1;
    let count = catalog.len();
    let answer = runtime
        .block_on(money::publish(&mut signed.vault, &signed.session, &signed.key, version, catalog, |part, parts| {
            if part < parts {
                eprintln!("Publishing catalog version {version}: part {} of {parts}...", part + 1);
            }
        }))
        .map_err(|error| failed(error, "the catalog"))?;
    if !answer.published {
        return Err(CliError::Failed(format!(
            "The center holds {} of {} parts of catalog version {version}; run the command again to send the rest.",
            answer.parts_received, answer.part_count
        )));
    }
    println!("Catalog version {version} is published: {count} item(s). Members see it now.");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Verb};
    use clap::Parser;

    #[test]
    fn store_alone_opens_the_terminal_and_catalog_verbs_parse() {
        let cli = Cli::try_parse_from(["denbun", "store"]).unwrap();
        assert!(matches!(cli.verb, Verb::Store(StoreArgs { action: None })));
        let cli = Cli::try_parse_from(["denbun", "store", "catalog", "import", "items.csv"]).unwrap();
        let Verb::Store(StoreArgs { action: Some(StoreAction::Catalog(CatalogAction::Import { file })) }) = cli.verb
        else {
            panic!("import")
        };
        assert_eq!(file, PathBuf::from("items.csv"));
        let cli = Cli::try_parse_from(["denbun", "store", "catalog", "publish"]).unwrap();
        assert!(matches!(
            cli.verb,
            Verb::Store(StoreArgs { action: Some(StoreAction::Catalog(CatalogAction::Publish)) })
        ));
        assert!(Cli::try_parse_from(["denbun", "store", "catalog"]).is_err());
    }

    #[test]
    fn imported_files_are_found_beside_the_csv() {
        let directory = tempfile::tempdir().unwrap();
        let csv = directory.path().join("items.csv");
        std::fs::write(directory.path().join("guide.pdf"), b"%PDF").unwrap();
        std::fs::write(
            &csv,
            format!("{}\n1,Guide,,500,digital,guide.pdf\n2,Tea,,1200,mail-order,\n", catalog_file::HEADER),
        )
        .unwrap();
        let items = read_import(&csv).unwrap();
        assert_eq!(items[0].file.as_deref(), Some(directory.path().join("guide.pdf").as_path()));
        assert_eq!(items[1].file, None);
        std::fs::write(&csv, format!("{}\n1,Guide,,500,digital,missing.pdf\n", catalog_file::HEADER)).unwrap();
        let error = read_import(&csv).unwrap_err();
        assert!(error.message().contains("missing.pdf") && error.message().contains("Nothing was imported"));
        let error = read_import(&directory.path().join("nothing.csv")).unwrap_err();
        assert!(error.message().contains("There is no file"), "{error}");
    }
}
