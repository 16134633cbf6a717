//! The Zengin (全銀) comprehensive transfer file (総合振込): fixed-length
//! records of 120 bytes, one header (data kind 1), one data record per
//! transfer (2), one trailer with the record count and total (8) and one end
//! record (9). Numbers are right-justified and zero-filled, text
//! left-justified and space-filled, in the Zengin single-byte character set
//! (JIS X 0201: digits, upper-case letters, half-width katakana, space and
//! `( ) - . , /`). Records follow each other with no line separator, so the
//! file is a multiple of 120 bytes. docs/payouts.md shows an example.

use denbun_protocol::wire::Date;

/// Bytes in every record.
pub const RECORD_BYTES: usize = 120;
/// 種別コード: comprehensive transfer.
const KIND_COMPREHENSIVE_TRANSFER: &str = "21";
/// コード区分: JIS (not EBCDIC).
const CODE_SET_JIS: &str = "0";
/// 振込指定区分: telegraphic transfer.
const TRANSFER_TELEGRAPHIC: &str = "7";
/// The largest amount one data record holds (10 digits).
pub const TRANSFER_YEN_MAX: u64 = 9_999_999_999;
/// The largest total the trailer holds (12 digits).
pub const TOTAL_YEN_MAX: u64 = 999_999_999_999;
/// The most data records the trailer counts (6 digits).
pub const TRANSFERS_MAX: usize = 999_999;

/// Why a transfer file cannot be written.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ZenginError {
    /// Text with a character the Zengin set has no place for.
    #[error("{field} `{text}`: the character `{character}` cannot be written in a Zengin file")]
    Character {
        /// Which field.
        field: &'static str,
        /// The text.
        text: String,
        /// The first character that does not convert.
        character: char,
    },
    /// A number with more digits than its field, or a code that is not digits.
    #[error("{field} `{value}` does not fit {width} digits")]
    Number {
        /// Which field.
        field: &'static str,
        /// The value.
        value: String,
        /// The field's width.
        width: usize,
    },
}

/// `text` in the Zengin single-byte set: lower-case letters become upper
/// case, full-width letters, digits and katakana become half-width, hiragana
/// become katakana, small kana become full-size (the set has none), voiced
/// kana become a kana and its mark. Returns the first character with no
/// place in the set.
pub fn zengin_text(text: &str) -> Result<Vec<u8>, char> {
    let mut bytes = Vec::with_capacity(text.len());
    for character in text.chars() {
        convert(character, &mut bytes).ok_or(character)?;
    }
    Ok(bytes)
}

/// Half-width voiced mark ﾞ and semi-voiced mark ﾟ.
const VOICED: u8 = 0xDE;
const SEMI_VOICED: u8 = 0xDF;

/// Full-width katakana U+30A1 (ァ) to U+30F6 (ヶ): the half-width kana byte
/// and the mark after it (0: none). Small kana map to their full size.
#[rustfmt::skip]
const KATAKANA: [(u8, u8); 86] = [
    (0xB1, 0), (0xB1, 0), (0xB2, 0), (0xB2, 0), (0xB3, 0), (0xB3, 0), (0xB4, 0), (0xB4, 0), (0xB5, 0), (0xB5, 0), // ァ-オ
    (0xB6, 0), (0xB6, VOICED), (0xB7, 0), (0xB7, VOICED), (0xB8, 0), (0xB8, VOICED), // カ-グ
    (0xB9, 0), (0xB9, VOICED), (0xBA, 0), (0xBA, VOICED), // ケ-ゴ
    (0xBB, 0), (0xBB, VOICED), (0xBC, 0), (0xBC, VOICED), (0xBD, 0), (0xBD, VOICED), // サ-ズ
    (0xBE, 0), (0xBE, VOICED), (0xBF, 0), (0xBF, VOICED), // セ-ゾ
    (0xC0, 0), (0xC0, VOICED), (0xC1, 0), (0xC1, VOICED), (0xC2, 0), (0xC2, 0), (0xC2, VOICED), // タ-ヅ
    (0xC3, 0), (0xC3, VOICED), (0xC4, 0), (0xC4, VOICED), // テ-ド
    (0xC5, 0), (0xC6, 0), (0xC7, 0), (0xC8, 0), (0xC9, 0), // ナ-ノ
    (0xCA, 0), (0xCA, VOICED), (0xCA, SEMI_VOICED), (0xCB, 0), (0xCB, VOICED), (0xCB, SEMI_VOICED), // ハ-ピ
    (0xCC, 0), (0xCC, VOICED), (0xCC, SEMI_VOICED), (0xCD, 0), (0xCD, VOICED), (0xCD, SEMI_VOICED), // フ-ペ
    (0xCE, 0), (0xCE, VOICED), (0xCE, SEMI_VOICED), // ホ-ポ
    (0xCF, 0), (0xD0, 0), (0xD1, 0), (0xD2, 0), (0xD3, 0), // マ-モ
    (0xD4, 0), (0xD4, 0), (0xD5, 0), (0xD5, 0), (0xD6, 0), (0xD6, 0), // ャ-ヨ
    (0xD7, 0), (0xD8, 0), (0xD9, 0), (0xDA, 0), (0xDB, 0), // ラ-ロ
    (0xDC, 0), (0xDC, 0), (0xB2, 0), (0xB4, 0), (0xA6, 0), (0xDD, 0), // ヮ ワ ヰ ヱ ヲ ン
    (0xB3, VOICED), (0xB6, 0), (0xB9, 0), // ヴ ヵ ヶ
];

fn convert(character: char, bytes: &mut Vec<u8>) -> Option<()> {
    let code = u32::from(character);
    match character {
        'A'..='Z' | '0'..='9' | ' ' | '(' | ')' | '-' | '.' | ',' | '/' => bytes.push(code as u8),
        'a'..='z' => bytes.push(character.to_ascii_uppercase() as u8),
        // Full-width ASCII forms and the ideographic space.
        '\u{FF01}'..='\u{FF5E}' => return convert(char::from_u32(code - 0xFEE0)?, bytes),
        '\u{3000}' => bytes.push(b' '),
        // Hiragana: the katakana 0x60 above.
        '\u{3041}'..='\u{3096}' => return convert(char::from_u32(code + 0x60)?, bytes),
        '\u{30A1}'..='\u{30F6}' => {
            let (kana, mark) = KATAKANA[(code - 0x30A1) as usize];
            bytes.push(kana);
            if mark != 0 {
                bytes.push(mark);
            }
        }
        // Long vowel marks and middle dots: the set writes them as - and .
        '\u{30FC}' | '\u{FF70}' => bytes.push(b'-'),
        '\u{30FB}' | '\u{FF65}' | '\u{FF61}' => bytes.push(b'.'),
        '\u{FF64}' | '\u{3001}' => bytes.push(b','),
        '\u{3002}' => bytes.push(b'.'),
        '\u{FF62}' | '\u{300C}' => bytes.push(b'('),
        '\u{FF63}' | '\u{300D}' => bytes.push(b')'),
        '\u{309B}' | '\u{FF9E}' => bytes.push(VOICED),
        '\u{309C}' | '\u{FF9F}' => bytes.push(SEMI_VOICED),
        // Half-width small kana ｧ-ｯ become full size.
        '\u{FF67}'..='\u{FF6B}' => bytes.push(0xB1 + (code - 0xFF67) as u8),
        '\u{FF6C}'..='\u{FF6E}' => bytes.push(0xD4 + (code - 0xFF6C) as u8),
        '\u{FF6F}' => bytes.push(0xC2),
        // Half-width ｦ and ｱ-ﾝ: JIS X 0201 is U+FF61.. shifted to 0xA1..
        '\u{FF66}' | '\u{FF71}'..='\u{FF9D}' => bytes.push((code - 0xFF61 + 0xA1) as u8),
        _ => return None,
    }
    Some(())
}

/// One record being filled left to right.
struct Record(Vec<u8>);

impl Record {
    fn new(kind: u8) -> Self {
        let mut bytes = Vec::with_capacity(RECORD_BYTES);
        bytes.push(kind);
        Record(bytes)
    }

    /// Digits, right-justified and zero-filled.
    fn number(&mut self, field: &'static str, value: u64, width: usize) -> Result<&mut Self, ZenginError> {
        let digits = value.to_string();
        if digits.len() > width {
            return Err(ZenginError::Number { field, value: digits, width });
        }
        self.0.extend(std::iter::repeat_n(b'0', width - digits.len()));
        self.0.extend_from_slice(digits.as_bytes());
        Ok(self)
    }

    /// A code that must be exactly `width` digits (bank, branch, account).
    fn code(&mut self, field: &'static str, code: &str, width: usize) -> Result<&mut Self, ZenginError> {
        if code.len() != width || !code.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(ZenginError::Number { field, value: code.to_owned(), width });
        }
        self.0.extend_from_slice(code.as_bytes());
        Ok(self)
    }

    /// Text in the Zengin set, left-justified and space-filled; longer text
    /// is cut to the field (banks match names on the width they keep).
    fn text(&mut self, field: &'static str, text: &str, width: usize) -> Result<&mut Self, ZenginError> {
        let converted = zengin_text(text).map_err(|character| ZenginError::Character {
            field,
            text: text.to_owned(),
            character,
        })?;
        self.0.extend(converted.iter().copied().chain(std::iter::repeat(b' ')).take(width));
        Ok(self)
    }

    /// Literal field content (fixed codes).
    fn literal(&mut self, value: &str) -> &mut Self {
        self.0.extend_from_slice(value.as_bytes());
        self
    }

    fn blank(&mut self, width: usize) -> &mut Self {
        self.0.extend(std::iter::repeat_n(b' ', width));
        self
    }

    fn finish(&mut self) -> Vec<u8> {
        // Our own layout: every record's fields add up to 120 bytes.
        assert_eq!(self.0.len(), RECORD_BYTES, "a Zengin record is 120 bytes");
        std::mem::take(&mut self.0)
    }
}

/// The center's side of the file (the header record).
pub struct Requester<'a> {
    /// 依頼人コード, 10 digits.
    pub code: &'a str,
    /// 依頼人名.
    pub name: &'a str,
    /// 取組日: the day the transfers are to be made.
    pub transfer_date: Date,
    /// 仕向銀行番号, 4 digits, and name.
    pub bank_code: &'a str,
    /// 仕向銀行名.
    pub bank_name: &'a str,
    /// 仕向支店番号, 3 digits.
    pub branch_code: &'a str,
    /// 仕向支店名.
    pub branch_name: &'a str,
    /// 預金種目: 1 ordinary, 2 current.
    pub account_type: u8,
    /// 口座番号, 7 digits.
    pub account_number: &'a str,
}

/// One transfer (a data record).
pub struct Transfer<'a> {
    /// 被仕向銀行番号, 4 digits.
    pub bank_code: &'a str,
    /// 被仕向支店番号, 3 digits.
    pub branch_code: &'a str,
    /// 預金種目: 1 ordinary, 2 current, 4 savings.
    pub account_type: u8,
    /// 口座番号, 7 digits.
    pub account_number: &'a str,
    /// 受取人名 (30 bytes kept).
    pub holder_name: &'a str,
    /// 振込金額.
    pub amount_yen: u64,
    /// 顧客コード1: the center's payout number.
    pub customer_code_1: u64,
    /// 顧客コード2: the store's number.
    pub customer_code_2: u64,
}

/// The whole file: header, one data record per transfer, trailer, end.
pub fn transfer_file(requester: &Requester<'_>, transfers: &[Transfer<'_>]) -> Result<Vec<u8>, ZenginError> {
    if transfers.len() > TRANSFERS_MAX {
        return Err(ZenginError::Number { field: "record count", value: transfers.len().to_string(), width: 6 });
    }
    let mut file = Vec::with_capacity((transfers.len() + 3) * RECORD_BYTES);
    let (_, month, day) = requester.transfer_date.parts();
    file.extend(
        Record::new(b'1')
            .literal(KIND_COMPREHENSIVE_TRANSFER)
            .literal(CODE_SET_JIS)
            .code("requester code", requester.code, 10)?
            .text("requester name", requester.name, 40)?
            .number("transfer date month", u64::from(month), 2)?
            .number("transfer date day", u64::from(day), 2)?
            .code("requester bank code", requester.bank_code, 4)?
            .text("requester bank name", requester.bank_name, 15)?
            .code("requester branch code", requester.branch_code, 3)?
            .text("requester branch name", requester.branch_name, 15)?
            .number("requester account type", u64::from(requester.account_type), 1)?
            .code("requester account number", requester.account_number, 7)?
            .blank(17)
            .finish(),
    );
    let mut total_yen: u64 = 0;
    for transfer in transfers {
        if transfer.amount_yen > TRANSFER_YEN_MAX {
            return Err(ZenginError::Number {
                field: "transfer amount",
                value: transfer.amount_yen.to_string(),
                width: 10,
            });
        }
        total_yen = total_yen.checked_add(transfer.amount_yen).expect("limited amounts, limited count");
        file.extend(
            Record::new(b'2')
                .code("bank code", transfer.bank_code, 4)?
                .blank(15)
                .code("branch code", transfer.branch_code, 3)?
                .blank(15)
                .blank(4)
                .number("account type", u64::from(transfer.account_type), 1)?
                .code("account number", transfer.account_number, 7)?
                .text("account holder name", transfer.holder_name, 30)?
                .number("transfer amount", transfer.amount_yen, 10)?
                .literal("0")
                .number("customer code 1", transfer.customer_code_1, 10)?
                .number("customer code 2", transfer.customer_code_2, 10)?
                .literal(TRANSFER_TELEGRAPHIC)
                .blank(1)
                .blank(7)
                .finish(),
        );
    }
    file.extend(
        Record::new(b'8')
            .number("record count", transfers.len() as u64, 6)?
            .number("total amount", total_yen, 12)?
            .blank(101)
            .finish(),
    );
    file.extend(Record::new(b'9').blank(119).finish());
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn requester() -> Requester<'static> {
        Requester {
            code: "1234567890",
            name: "DENBUN SETTLEMENT CENTER",
            transfer_date: Date::new(2025, 3, 7).unwrap(),
            bank_code: "0001",
            bank_name: "DENBUN BANK",
            branch_code: "001",
            branch_name: "HEAD OFFICE",
            account_type: 1,
            account_number: "1234567",
        }
    }

    #[test]
    fn text_converts_to_the_single_byte_set() {
        assert_eq!(zengin_text("abc 123").unwrap(), b"ABC 123");
        assert_eq!(zengin_text("ヤマダ").unwrap(), [0xD4, 0xCF, 0xC0, 0xDE]);
        assert_eq!(zengin_text("やまだ").unwrap(), [0xD4, 0xCF, 0xC0, 0xDE]);
        assert_eq!(zengin_text("ｶﾞｯｺｳ").unwrap(), [0xB6, 0xDE, 0xC2, 0xBA, 0xB3]);
        assert_eq!(zengin_text("パン").unwrap(), [0xCA, 0xDF, 0xDD]);
        assert_eq!(zengin_text("ヴ").unwrap(), [0xB3, 0xDE]);
        assert_eq!(zengin_text("ショップ").unwrap(), [0xBC, 0xD6, 0xC2, 0xCC, 0xDF]);
        assert_eq!(zengin_text("ジ").unwrap(), [0xBC, 0xDE]);
        assert_eq!(zengin_text("ＡＢＣ").unwrap(), b"ABC");
        assert_eq!(zengin_text("ヲン").unwrap(), [0xA6, 0xDD]);
        assert_eq!(zengin_text("山田"), Err('山'));
        assert_eq!(zengin_text("a&b"), Err('&'));
    }

    #[test]
    fn every_full_width_katakana_has_a_place() {
        for code in 0x30A1..=0x30F6u32 {
            let character = char::from_u32(code).unwrap();
            let bytes = zengin_text(&character.to_string()).unwrap();
            assert!((1..=2).contains(&bytes.len()));
            assert!(bytes.iter().all(|byte| (0xA6..=0xDF).contains(byte)), "{character}");
        }
    }

    #[test]
    fn the_file_is_header_data_trailer_end_of_120_bytes_each() {
        let transfers = [
            Transfer {
                bank_code: "0005",
                branch_code: "123",
                account_type: 1,
                account_number: "7654321",
                holder_name: "ﾔﾏﾀﾞ ｼｮｳﾃﾝ",
                amount_yen: 12_345,
                customer_code_1: 1,
                customer_code_2: 7,
            },
            Transfer {
                bank_code: "0009",
                branch_code: "001",
                account_type: 2,
                account_number: "0000001",
                holder_name: "kawa books",
                amount_yen: 1_000_000,
                customer_code_1: 2,
                customer_code_2: 12,
            },
        ];
        let file = transfer_file(&requester(), &transfers).unwrap();
        assert_eq!(file.len(), 5 * RECORD_BYTES);
        let records: Vec<&[u8]> = file.chunks(RECORD_BYTES).collect();

        let header = records[0];
        assert_eq!(&header[0..1], b"1");
        assert_eq!(&header[1..3], b"21");
        assert_eq!(&header[3..4], b"0");
        assert_eq!(&header[4..14], b"1234567890");
        assert_eq!(&header[14..54], b"DENBUN SETTLEMENT CENTER                ");
        assert_eq!(&header[54..58], b"0307");
        assert_eq!(&header[58..62], b"0001");
        assert_eq!(&header[62..77], b"DENBUN BANK    ");
        assert_eq!(&header[77..80], b"001");
        assert_eq!(&header[80..95], b"HEAD OFFICE    ");
        assert_eq!(&header[95..96], b"1");
        assert_eq!(&header[96..103], b"1234567");
        assert_eq!(&header[103..120], [b' '; 17]);

        let data = records[1];
        assert_eq!(&data[0..1], b"2");
        assert_eq!(&data[1..5], b"0005");
        assert_eq!(&data[5..20], [b' '; 15]);
        assert_eq!(&data[20..23], b"123");
        assert_eq!(&data[23..38], [b' '; 15]);
        assert_eq!(&data[38..42], [b' '; 4]);
        assert_eq!(&data[42..43], b"1");
        assert_eq!(&data[43..50], b"7654321");
        let mut holder = zengin_text("ﾔﾏﾀﾞ ｼｮｳﾃﾝ").unwrap();
        holder.resize(30, b' ');
        assert_eq!(&data[50..80], holder.as_slice());
        assert_eq!(&data[80..90], b"0000012345");
        assert_eq!(&data[90..91], b"0");
        assert_eq!(&data[91..101], b"0000000001");
        assert_eq!(&data[101..111], b"0000000007");
        assert_eq!(&data[111..112], b"7");
        assert_eq!(&data[112..120], [b' '; 8]);
        assert_eq!(&records[2][50..80], b"KAWA BOOKS                    ");
        assert_eq!(&records[2][80..90], b"0001000000");

        let trailer = records[3];
        assert_eq!(&trailer[0..1], b"8");
        assert_eq!(&trailer[1..7], b"000002");
        assert_eq!(&trailer[7..19], b"000001012345");
        assert_eq!(&trailer[19..120], [b' '; 101]);
        let end = records[4];
        assert_eq!(&end[0..1], b"9");
        assert_eq!(&end[1..120], [b' '; 119]);
    }

    #[test]
    fn fields_that_do_not_fit_are_errors_naming_them() {
        let transfer = |amount_yen, holder_name| Transfer {
            bank_code: "0005",
            branch_code: "123",
            account_type: 1,
            account_number: "7654321",
            holder_name,
            amount_yen,
            customer_code_1: 1,
            customer_code_2: 1,
        };
        assert!(matches!(
            transfer_file(&requester(), &[transfer(TRANSFER_YEN_MAX + 1, "A")]),
            Err(ZenginError::Number { field: "transfer amount", .. })
        ));
        assert!(matches!(
            transfer_file(&requester(), &[transfer(1, "山田商店")]),
            Err(ZenginError::Character { field: "account holder name", character: '山', .. })
        ));
        let long = "A".repeat(40);
        let file = transfer_file(&requester(), &[transfer(1, &long)]).unwrap();
        assert_eq!(&file[RECORD_BYTES + 50..RECORD_BYTES + 80], [b'A'; 30]);
    }
}
