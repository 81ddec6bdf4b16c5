//! The rows of an edge file (two cells each), read straight from its bytes.
//!
//! An edge file is almost always two plain columns of keys or uids: no quotes, one row per
//! line. Such lines are split here in one scan of their bytes and handed out as slices of the
//! file, which is several times faster than a general CSV reader (at scale 20, 16 M rows: the reader was
//! the slower half of the import). The first line holding a quote or a lone carriage return
//! hands the rest of the file to the `csv` crate, so every file reads as that reader would
//! read it: `\n`, `\r\n` and `\r` end rows, empty lines are skipped, quoted cells may hold
//! commas and line ends. Lines are the file's lines (counted at `\n`), also where the `csv`
//! crate's own positions would count from before the empty lines it skipped.
//!
//! The file is not checked to be UTF-8 as a whole first (a pass over all of it, 0.13 s at
//! scale 20): cells are bytes, and whoever reads a cell as text checks that cell (the `csv`
//! crate checks the lines it reads).

/// One row: its line (1-based, as the `csv` crate counts) and its two cells.
#[derive(Debug, PartialEq)]
pub(super) struct Row<'r> {
    pub(super) line: usize,
    pub(super) source: &'r [u8],
    pub(super) target: &'r [u8],
}

/// Why a row could not be read.
#[derive(Debug, PartialEq)]
pub(super) enum RowError {
    /// A row without exactly two cells.
    Fields { line: usize, found: usize },
    /// Malformed CSV, as the `csv` crate reports it (the line is the file's).
    Csv { line: usize, message: String },
}

/// A line as the fast path scanned it.
struct Line {
    start: usize,
    /// Without its line end.
    len: usize,
    /// The first comma, from `start`.
    comma: Option<usize>,
    commas: usize,
    /// No quote and no carriage return but the one ending it.
    plain: bool,
}

/// What a byte is to the line scan.
const PLAIN: u8 = 0;
const END: u8 = 1;
const COMMA: u8 = 2;
const ODD: u8 = 3;
static CLASS: [u8; 256] = {
    let mut class = [PLAIN; 256];
    class[b'\n' as usize] = END;
    class[b',' as usize] = COMMA;
    class[b'"' as usize] = ODD;
    class[b'\r' as usize] = ODD;
    class
};

/// Reads the rows after the header, one at a time.
pub(super) struct PairRows<'a> {
    text: &'a [u8],
    /// Where the next line begins (fast path).
    at: usize,
    /// The line number of the line at `at`.
    line: usize,
    /// Once a line needs a real CSV reader: that reader, over the rest of the text.
    slow: Option<Slow<'a>>,
}

struct Slow<'a> {
    /// The text the reader reads.
    text: &'a [u8],
    reader: csv::Reader<&'a [u8]>,
    record: csv::StringRecord,
    /// The line at byte `counted` of `text` (records come in order: counting resumes there).
    line: usize,
    counted: usize,
}

impl Slow<'_> {
    /// The line of the record (or error) the reader placed at `byte`: the reader's position
    /// is where it began reading it, before the empty lines it skipped.
    fn line_at(&mut self, byte: u64) -> usize {
        let mut at = (byte as usize).clamp(self.counted, self.text.len());
        while at < self.text.len() && matches!(self.text[at], b'\r' | b'\n') {
            at += 1;
        }
        self.line += memchr::memchr_iter(b'\n', &self.text[self.counted..at]).count();
        self.counted = at;
        self.line
    }
}

impl<'a> PairRows<'a> {
    /// The rows of `text` after its header (its first non-empty line).
    pub(super) fn new(text: &'a [u8]) -> PairRows<'a> {
        let mut rows = PairRows { text, at: 0, line: 1, slow: None };
        // Skip the header as the csv reader would: the first non-empty line (one with a quote
        // may span lines: then the csv reader reads the file from its start).
        while let Some(line) = rows.next_line() {
            if line.len == 0 {
                continue;
            }
            if !line.plain {
                rows.go_slow(line.start, true);
            }
            break;
        }
        rows
    }

    /// The next line of the fast path, scanned; `None` at the end of the text.
    fn next_line(&mut self) -> Option<Line> {
        let bytes = self.text;
        let start = self.at;
        if start >= bytes.len() {
            return None;
        }
        // One pass over the line's bytes, stopping only at the few that matter (short lines
        // are most of an edge file: a memchr call per byte class cost more than the scan).
        let (mut i, mut comma, mut commas, mut odd) = (start, None, 0usize, 0usize);
        loop {
            while i < bytes.len() && CLASS[bytes[i] as usize] == PLAIN {
                i += 1;
            }
            match bytes.get(i).map(|&b| CLASS[b as usize]) {
                None | Some(END) => break,
                Some(COMMA) => {
                    comma = comma.or(Some(i - start));
                    commas += 1;
                }
                _ => odd += 1,
            }
            i += 1;
        }
        self.at = i + 1;
        self.line += 1;
        let mut len = i - start;
        // A carriage return ending the line belongs to its line end.
        if len > 0 && bytes[i - 1] == b'\r' {
            len -= 1;
            odd -= 1;
        }
        Some(Line { start, len, comma, commas, plain: odd == 0 })
    }

    /// Hands the text from `start` (the line before `self.line`) to a csv reader.
    fn go_slow(&mut self, start: usize, header: bool) {
        let text = &self.text[start..];
        let reader = csv::ReaderBuilder::new().has_headers(header).flexible(true).from_reader(text);
        self.slow =
            Some(Slow { text, reader, record: csv::StringRecord::new(), line: self.line - 1, counted: 0 });
    }

    /// The next row, `None` after the last.
    pub(super) fn next_row(&mut self) -> Result<Option<Row<'_>>, RowError> {
        if self.slow.is_none() {
            while let Some(line) = self.next_line() {
                if line.len == 0 {
                    continue;
                }
                let number = self.line - 1;
                if !line.plain {
                    self.go_slow(line.start, false);
                    break;
                }
                let comma = match (line.comma, line.commas) {
                    (Some(comma), 1) => comma,
                    (_, commas) => return Err(RowError::Fields { line: number, found: commas + 1 }),
                };
                let cell = |from: usize, to: usize| &self.text[line.start + from..line.start + to];
                return Ok(Some(Row {
                    line: number,
                    source: cell(0, comma),
                    target: cell(comma + 1, line.len),
                }));
            }
        }
        let Some(slow) = &mut self.slow else { return Ok(None) };
        match slow.reader.read_record(&mut slow.record) {
            Ok(false) => Ok(None),
            Ok(true) => {
                let line = slow.line_at(slow.record.position().map_or(0, |p| p.byte()));
                match (slow.record.get(0), slow.record.get(1), slow.record.len()) {
                    (Some(source), Some(target), 2) => {
                        Ok(Some(Row { line, source: source.as_bytes(), target: target.as_bytes() }))
                    }
                    (.., found) => Err(RowError::Fields { line, found }),
                }
            }
            Err(e) => {
                let line = slow.line_at(e.position().map_or(0, |p| p.byte()));
                // (Not the error's own text: its record, line and byte count from where this
                // reader began, not from the start of the file.)
                let message = match e.kind() {
                    csv::ErrorKind::Utf8 { err, .. } => format!("invalid UTF-8 in cell {}", err.field() + 1),
                    csv::ErrorKind::Io(io) => io.to_string(),
                    _ => "malformed CSV".to_string(),
                };
                Err(RowError::Csv { line, message })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{PairRows, Row, RowError};

    /// Every row as (line, source, target), or the error that stopped the reading.
    fn rows(text: &str) -> Result<Vec<(usize, String, String)>, RowError> {
        let mut rows = PairRows::new(text.as_bytes());
        let mut out = Vec::new();
        while let Some(Row { line, source, target }) = rows.next_row()? {
            let text = |cell: &[u8]| String::from_utf8(cell.to_vec()).unwrap();
            out.push((line, text(source), text(target)));
        }
        Ok(out)
    }

    fn row(line: usize, s: &str, t: &str) -> (usize, String, String) {
        (line, s.into(), t.into())
    }

    /// The cells the csv crate reads (the reference the fast path must agree with), rows
    /// checked for two cells the same way; lines are compared by the tests that name them.
    fn csv_cells(text: &str) -> Result<Vec<(String, String)>, Option<usize>> {
        let mut reader =
            csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(text.as_bytes());
        let mut out = Vec::new();
        for r in reader.records() {
            let r = r.map_err(|_| None)?;
            if r.len() != 2 {
                return Err(Some(r.len()));
            }
            out.push((r[0].to_string(), r[1].to_string()));
        }
        Ok(out)
    }

    fn cells(text: &str) -> Result<Vec<(String, String)>, Option<usize>> {
        match rows(text) {
            Ok(rows) => Ok(rows.into_iter().map(|(_, s, t)| (s, t)).collect()),
            Err(RowError::Fields { found, .. }) => Err(Some(found)),
            Err(RowError::Csv { .. }) => Err(None),
        }
    }

    #[test]
    fn plain_lines_are_split_at_the_comma() {
        assert_eq!(rows("a,b\n1,2\n3,4\n").unwrap(), [row(2, "1", "2"), row(3, "3", "4")]);
        assert_eq!(rows("a,b\n1,2").unwrap(), [row(2, "1", "2")], "no line end at the end");
        assert_eq!(rows("a,b\r\n1,2\r\n\r\n\n5,\r\n").unwrap(), [row(2, "1", "2"), row(5, "5", "")]);
        assert_eq!(rows("\n\na,b\n\n1,2\n").unwrap(), [row(5, "1", "2")], "empty lines before the header");
        assert_eq!(rows("a,b\n").unwrap(), []);
        assert_eq!(rows("").unwrap(), []);
        assert_eq!(rows("a,b\n é , ü\n").unwrap(), [row(2, " é ", " ü")], "cells are kept as written");
        // Bytes that are not UTF-8 are a cell's business (its reader checks it).
        let mut bad = PairRows::new(b"a,b\n1,\xff\n");
        assert_eq!(bad.next_row().unwrap(), Some(Row { line: 2, source: b"1", target: b"\xff" }));
    }

    #[test]
    fn a_row_without_two_cells_is_an_error_naming_its_line() {
        assert_eq!(rows("a,b\n1,2\n1,2,3\n"), Err(RowError::Fields { line: 3, found: 3 }));
        assert_eq!(rows("a,b\n1,2\n\n7\n"), Err(RowError::Fields { line: 4, found: 1 }));
        assert_eq!(rows("a,b\n\"1\",2,3\n"), Err(RowError::Fields { line: 2, found: 3 }), "read slowly");
    }

    /// Quotes and lone carriage returns are read by the csv crate from that line on, with the
    /// file's line numbers.
    #[test]
    fn quoted_cells_and_lone_carriage_returns_read_as_the_csv_crate_reads_them() {
        let texts = [
            "a,b\n1,2\n\"x,y\",\"two\nlines\"\n5,6\n",
            "a,b\n1,2\n\"say \"\"hi\"\"\",3\n\n4,5\n",
            "a,b\n1,2\r3,4\r\n5,6\n",
            "\"a\",\"b\"\n1,2\n3,4\n",
            "\"a\nb\",c\n1,2\n",
        ];
        for text in texts {
            assert_eq!(cells(text), csv_cells(text), "{text:?}");
        }
        assert_eq!(rows(texts[0]).unwrap()[1..], [row(3, "x,y", "two\nlines"), row(5, "5", "6")]);
        assert_eq!(
            rows(texts[1]).unwrap()[1..],
            [row(3, "say \"hi\"", "3"), row(5, "4", "5")],
            "after an empty line"
        );
        assert_eq!(
            rows(texts[2]).unwrap(),
            [row(2, "1", "2"), row(2, "3", "4"), row(3, "5", "6")],
            "lines end at \\n"
        );
        assert_eq!(rows("a,b\n\"1\"\r\n\r\n\n2,3\n").unwrap_err(), RowError::Fields { line: 2, found: 1 });
        assert_eq!(rows("a,b\n\"1\",2\r\n\r\n\n7\n").unwrap_err(), RowError::Fields { line: 5, found: 1 });
    }

    proptest::proptest! {
        /// Any text made of cells, commas, quotes and line ends reads as the csv crate reads it.
        #[test]
        fn any_text_reads_as_the_csv_crate_reads_it(parts in proptest::collection::vec(
            proptest::prop_oneof!["[0-9a-z]{0,3}", proptest::strategy::Just(",".to_string()),
                proptest::strategy::Just("\n".to_string()), proptest::strategy::Just("\r\n".to_string()),
                proptest::strategy::Just("\"".to_string()), proptest::strategy::Just("\r".to_string())],
            0..40,
        )) {
            let text = format!("a,b\n{}", parts.concat());
            proptest::prop_assert_eq!(cells(&text), csv_cells(&text), "{:?}", text);
        }
    }
}
