//! A store's catalog draft: the items the clerk edits before publishing,
//! kept as CSV in the profile (`catalog.csv`) so it can be edited in a
//! spreadsheet too, imported and exported.
//!
//! Columns, with a header line: `item_id,title,description,price_yen,kind,file`.
//! `kind` is `mail-order`, `digital` or `service`; `file` is the path of a
//! digital item's content (empty otherwise). Fields are quoted the RFC 4180
//! way when they hold commas, quotes or line breaks. The format is small
//! enough that a reader of our own, with limits on every size, is simpler
//! than another dependency.

use std::path::{Path, PathBuf};

use denbun_protocol::limits::{CATALOG_ITEMS_MAX, ITEM_DESCRIPTION_BYTES_MAX, ITEM_TITLE_BYTES_MAX};
use denbun_protocol::wire::{Amount, group_thousands};

/// The draft's file name inside the profile.
pub const DRAFT_FILE_NAME: &str = "catalog.csv";
/// The header line.
pub const HEADER: &str = "item_id,title,description,price_yen,kind,file";
/// Largest CSV file read (a full catalog with long descriptions fits).
pub const CSV_BYTES_MAX: usize = 2 * 1024 * 1024;

/// The three kinds of goods, as the clerk picks them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DraftKind {
    /// Sent by post or carrier; gets a shipment notice.
    MailOrder,
    /// A file, sealed to the member and sent through the center.
    Digital,
    /// A real-time service.
    Service,
}

impl DraftKind {
    /// Every kind, in the order the editor cycles through them.
    pub const ALL: [DraftKind; 3] = [DraftKind::MailOrder, DraftKind::Digital, DraftKind::Service];

    /// The CSV word.
    pub fn word(self) -> &'static str {
        match self {
            DraftKind::MailOrder => "mail-order",
            DraftKind::Digital => "digital",
            DraftKind::Service => "service",
        }
    }

    /// The words on screen, in the order of [`DraftKind::ALL`]: the
    /// editor's choice, the store's lists (and the member's catalog) say these.
    pub const LABELS: [&'static str; 3] = ["mail order", "digital", "service"];

    /// The word on screen.
    pub fn label(self) -> &'static str {
        match self {
            DraftKind::MailOrder => Self::LABELS[0],
            DraftKind::Digital => Self::LABELS[1],
            DraftKind::Service => Self::LABELS[2],
        }
    }

    /// Reads the CSV word.
    pub fn from_word(word: &str) -> Option<DraftKind> {
        DraftKind::ALL.into_iter().find(|kind| kind.word() == word.trim())
    }
}

/// One item of the draft.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DraftItem {
    /// The store's id for the item.
    pub item_id: u32,
    /// Short title.
    pub title: String,
    /// Longer description.
    pub description: String,
    /// Price in yen (at least 1).
    pub price_yen: u64,
    /// Mail order, digital or service.
    pub kind: DraftKind,
    /// The content of a digital item.
    pub file: Option<PathBuf>,
}

impl DraftItem {
    /// Checks the item against the protocol's limits; the message names the field.
    pub fn check(&self) -> Result<(), String> {
        if self.title.trim().is_empty() {
            return Err(format!("item {}: the title is empty", self.item_id));
        }
        if self.title.len() > ITEM_TITLE_BYTES_MAX {
            return Err(format!("item {}: the title is longer than {ITEM_TITLE_BYTES_MAX} bytes", self.item_id));
        }
        if self.description.len() > ITEM_DESCRIPTION_BYTES_MAX {
            return Err(format!(
                "item {}: the description is longer than {ITEM_DESCRIPTION_BYTES_MAX} bytes",
                self.item_id
            ));
        }
        if Amount::new(self.price_yen).is_err() {
            return Err(format!("item {}: the price must be 1 yen or more", self.item_id));
        }
        if self.kind == DraftKind::Digital && self.file.is_none() {
            return Err(format!("item {}: a digital item needs its file", self.item_id));
        }
        Ok(())
    }

    /// The price as people read it.
    pub fn price_text(&self) -> String {
        format!("{} yen", group_thousands(self.price_yen))
    }
}

/// Why a CSV could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CsvError {
    /// Too big to be a catalog.
    #[error("the file is larger than {CSV_BYTES_MAX} bytes; a catalog is smaller")]
    TooLarge,
    /// Not text.
    #[error("the file is not text (UTF-8)")]
    NotText,
    /// The first line is not the expected header.
    #[error("the first line must be the header `{HEADER}`")]
    Header,
    /// A quoted field never ends.
    #[error("line {line}: a quoted field is not closed")]
    Unclosed {
        /// The line where the record starts.
        line: usize,
    },
    /// A record with the wrong number of fields or a bad value.
    #[error("line {line}: {detail}")]
    Record {
        /// The line where the record starts.
        line: usize,
        /// What is wrong.
        detail: String,
    },
    /// More items than a catalog holds.
    #[error("more than {CATALOG_ITEMS_MAX} items; a catalog holds at most that many")]
    TooManyItems,
    /// Two items with one id.
    #[error("item id {0} appears twice")]
    DuplicateId(u32),
}

/// Splits CSV text into records of fields, tracking the line each starts on.
fn records(text: &str) -> Result<Vec<(usize, Vec<String>)>, CsvError> {
    let mut records = Vec::new();
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut line = 1;
    let mut record_line = 1;
    let mut characters = text.chars().peekable();
    while let Some(character) = characters.next() {
        if quoted {
            match character {
                '"' if characters.peek() == Some(&'"') => {
                    characters.next();
                    field.push('"');
                }
                '"' => quoted = false,
                // Windows line ends inside a quoted field read as one line break.
                '\r' if characters.peek() == Some(&'\n') => {}
                '\n' => {
                    line += 1;
                    field.push('\n');
                }
                other => field.push(other),
            }
            continue;
        }
        match character {
            '"' if field.is_empty() => quoted = true,
            ',' => fields.push(std::mem::take(&mut field)),
            '\r' => {}
            '\n' => {
                fields.push(std::mem::take(&mut field));
                records.push((record_line, std::mem::take(&mut fields)));
                line += 1;
                record_line = line;
            }
            other => field.push(other),
        }
    }
    if quoted {
        return Err(CsvError::Unclosed { line: record_line });
    }
    if !field.is_empty() || !fields.is_empty() {
        fields.push(field);
        records.push((record_line, fields));
    }
    Ok(records)
}

/// Reads a draft from CSV text.
pub fn parse(text: &str) -> Result<Vec<DraftItem>, CsvError> {
    if text.len() > CSV_BYTES_MAX {
        return Err(CsvError::TooLarge);
    }
    let mut rows = records(text)?.into_iter().filter(|(_, fields)| !(fields.len() == 1 && fields[0].is_empty()));
    match rows.next() {
        Some((_, header)) if header.join(",").trim() == HEADER => {}
        _ => return Err(CsvError::Header),
    }
    let mut items: Vec<DraftItem> = Vec::new();
    for (line, fields) in rows {
        if items.len() >= CATALOG_ITEMS_MAX {
            return Err(CsvError::TooManyItems);
        }
        let record = |detail: String| CsvError::Record { line, detail };
        let [item_id, title, description, price, kind, file] =
            <[String; 6]>::try_from(fields).map_err(|fields| record(format!("{} fields, expected 6", fields.len())))?;
        let item_id: u32 =
            item_id.trim().parse().map_err(|_| record(format!("item_id `{item_id}` is not a number")))?;
        let price_yen: u64 = price
            .trim()
            .replace(',', "")
            .parse()
            .map_err(|_| record(format!("price_yen `{price}` is not a number of yen")))?;
        let kind = DraftKind::from_word(&kind)
            .ok_or_else(|| record(format!("kind `{kind}` is not mail-order, digital or service")))?;
        let file = (!file.trim().is_empty()).then(|| PathBuf::from(file.trim()));
        let item = DraftItem { item_id, title: title.trim().to_owned(), description, price_yen, kind, file };
        item.check().map_err(record)?;
        if items.iter().any(|known| known.item_id == item_id) {
            return Err(CsvError::DuplicateId(item_id));
        }
        items.push(item);
    }
    Ok(items)
}

fn quote(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) || field.starts_with(' ') || field.ends_with(' ') {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

/// Writes a draft as CSV text (header first).
pub fn to_csv(items: &[DraftItem]) -> String {
    let mut text = format!("{HEADER}\n");
    for item in items {
        let file = item.file.as_deref().map(Path::to_string_lossy).unwrap_or_default();
        let fields = [
            item.item_id.to_string(),
            quote(&item.title),
            quote(&item.description),
            item.price_yen.to_string(),
            item.kind.word().to_owned(),
            quote(&file),
        ];
        text.push_str(&fields.join(","));
        text.push('\n');
    }
    text
}

/// Reads a draft file; a missing file is an empty draft.
pub fn read(path: &Path) -> Result<Vec<DraftItem>, String> {
    use std::io::Read;
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(format!("Cannot read {}: {error}", path.display())),
    };
    let mut bytes = Vec::new();
    file.take(CSV_BYTES_MAX as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| format!("Cannot read {}: {error}", path.display()))?;
    if bytes.len() > CSV_BYTES_MAX {
        return Err(format!("{}: {}", path.display(), CsvError::TooLarge));
    }
    let text = String::from_utf8(bytes).map_err(|_| format!("{}: {}", path.display(), CsvError::NotText))?;
    parse(&text).map_err(|error| format!("{}: {error}", path.display()))
}

/// Writes a draft file (replacing it through a temporary file, so a crash
/// leaves the old or the new draft).
pub fn write(path: &Path, items: &[DraftItem]) -> Result<(), String> {
    let temporary = path.with_extension("csv.tmp");
    std::fs::write(&temporary, to_csv(items))
        .and_then(|()| std::fs::rename(&temporary, path))
        .map_err(|error| format!("Cannot write {}: {error}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(item_id: u32, kind: DraftKind) -> DraftItem {
        DraftItem {
            item_id,
            title: "Gyokuro, 100 g".to_owned(),
            description: "Shaded \"first flush\" tea,\nfrom Uji".to_owned(),
            price_yen: 1_200,
            kind,
            file: (kind == DraftKind::Digital).then(|| PathBuf::from("/goods/tea guide.pdf")),
        }
    }

    #[test]
    fn a_draft_survives_writing_and_reading() {
        let items = vec![item(1, DraftKind::MailOrder), item(2, DraftKind::Digital), item(3, DraftKind::Service)];
        let text = to_csv(&items);
        assert!(text.starts_with(HEADER), "{text}");
        assert_eq!(parse(&text).unwrap(), items);
        assert_eq!(parse(&text.replace('\n', "\r\n")).unwrap(), items, "Windows line ends");
    }

    #[test]
    fn bad_records_name_their_line() {
        let cases = [
            ("item_id,title\n", CsvError::Header),
            (
                &format!("{HEADER}\n1,a,b,100,mail-order\n") as &str,
                CsvError::Record { line: 2, detail: "5 fields, expected 6".to_owned() },
            ),
            (
                &format!("{HEADER}\nx,a,b,100,mail-order,\n"),
                CsvError::Record { line: 2, detail: "item_id `x` is not a number".to_owned() },
            ),
            (
                &format!("{HEADER}\n1,a,b,0,mail-order,\n"),
                CsvError::Record { line: 2, detail: "item 1: the price must be 1 yen or more".to_owned() },
            ),
            (
                &format!("{HEADER}\n1,a,b,5,box,\n"),
                CsvError::Record { line: 2, detail: "kind `box` is not mail-order, digital or service".to_owned() },
            ),
            (
                &format!("{HEADER}\n1,a,b,5,digital,\n"),
                CsvError::Record { line: 2, detail: "item 1: a digital item needs its file".to_owned() },
            ),
            (&format!("{HEADER}\n1,a,b,5,service,\n1,c,d,6,service,\n"), CsvError::DuplicateId(1)),
            (&format!("{HEADER}\n1,\"a,b,5,service,\n"), CsvError::Unclosed { line: 2 }),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(text), Err(expected), "{text}");
        }
        let prices = parse(&format!("{HEADER}\n1,a,,\"1,200\",service,\n\n")).unwrap();
        assert_eq!(prices[0].price_yen, 1_200, "grouped thousands are read");
    }

    #[test]
    fn files_round_trip_and_a_missing_draft_is_empty() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join(DRAFT_FILE_NAME);
        assert_eq!(read(&path).unwrap(), Vec::new());
        let items = vec![item(5, DraftKind::Digital)];
        write(&path, &items).unwrap();
        assert_eq!(read(&path).unwrap(), items);
    }
}
