//! The encodings a CSV input's text may come in, read as the UTF-8 that the CSV reader takes.
//!
//! A byte-order mark at the start of the text says which Unicode form it is and wins over
//! `--encoding` (as browsers read a page): UTF-16, which Windows tools write with such a mark
//! (Excel's "Unicode Text", PowerShell 5's redirection), is recognised by it, or without one by
//! the zero bytes of its first two characters (a header row starts with no NUL, and ASCII in
//! UTF-16 has one in every other byte). Otherwise the text is read as `--encoding` says:
//! UTF-8, or Windows-1252, the code page a spreadsheet on Windows in Western Europe or the
//! Americas saves plain "CSV" in.

use std::io::{self, Cursor, Read};

/// How the bytes of a CSV input are read as text when no byte-order mark says (`--encoding`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Serialize)]
pub enum Encoding {
    /// UTF-8
    #[default]
    #[value(name = "utf-8", alias = "utf8")]
    #[serde(rename = "utf-8")]
    Utf8,
    /// Windows-1252, the Windows code page of Western Europe and the Americas (latin1 and
    /// iso-8859-1 name it too: files so labelled are written in it)
    #[value(name = "windows-1252", aliases = ["cp1252", "latin1", "iso-8859-1"])]
    #[serde(rename = "windows-1252")]
    Windows1252,
}

impl Encoding {
    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf-8",
            Encoding::Windows1252 => "windows-1252",
        }
    }
}

/// How a text is decoded, as its first bytes and the encoding asked for say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// UTF-8 already: passed through as it is (a UTF-8 mark included, which the CSV reader
    /// skips).
    Utf8,
    Windows1252,
    Utf16 {
        big_endian: bool,
    },
}

/// Bytes of a text's start that say its form.
const FORM_BYTES: usize = 4;

/// The form of a text starting with `start` (its first [`FORM_BYTES`] bytes, or all of a
/// shorter text) when `encoding` is asked for, and the bytes of its byte-order mark to skip.
fn form(start: &[u8], encoding: Encoding) -> (Form, usize) {
    match start {
        [0xFF, 0xFE, ..] => (Form::Utf16 { big_endian: false }, 2),
        [0xFE, 0xFF, ..] => (Form::Utf16 { big_endian: true }, 2),
        [0xEF, 0xBB, 0xBF, ..] => (Form::Utf8, 0),
        // Two characters of UTF-16 below U+0100, without a mark.
        [a, 0, b, 0] if *a != 0 && *b != 0 => (Form::Utf16 { big_endian: false }, 0),
        [0, a, 0, b] if *a != 0 && *b != 0 => (Form::Utf16 { big_endian: true }, 0),
        _ => match encoding {
            Encoding::Utf8 => (Form::Utf8, 0),
            Encoding::Windows1252 => (Form::Windows1252, 0),
        },
    }
}

/// `text` read as UTF-8: as it is when it is UTF-8 already, else through a decoder.
///
/// # Errors
/// When its first bytes cannot be read.
pub(super) fn decoded(
    mut text: Box<dyn Read + Send>,
    encoding: Encoding,
) -> io::Result<Box<dyn Read + Send>> {
    let mut start = Vec::with_capacity(FORM_BYTES);
    Read::by_ref(&mut text)
        .take(FORM_BYTES as u64)
        .read_to_end(&mut start)?;
    let (form, mark) = form(&start, encoding);
    let text = Cursor::new(start.split_off(mark)).chain(text);
    Ok(match form {
        Form::Utf8 => Box::new(text),
        form => Box::new(Decoder::new(text, form)),
    })
}

/// The first bytes of a text, `raw`, as UTF-8 (a character cut at its end read as U+FFFD).
pub(super) fn decoded_bytes(raw: Vec<u8>, encoding: Encoding) -> Vec<u8> {
    if form(&raw[..raw.len().min(FORM_BYTES)], encoding).0 == Form::Utf8 {
        return raw;
    }
    let mut text = Vec::with_capacity(raw.len() + raw.len() / 2);
    decoded(Box::new(Cursor::new(raw)), encoding)
        .and_then(|mut d| d.read_to_end(&mut text))
        .expect("reading from memory does not fail");
    text
}

/// Windows-1252's characters for the bytes 0x80 to 0x9F; the rest are Latin-1's (the byte's
/// own code point). The five bytes it leaves undefined are read as the C1 controls of their
/// code points, as browsers read them.
const WINDOWS_1252_HIGH: [char; 32] = [
    '\u{20AC}', '\u{0081}', '\u{201A}', '\u{0192}', '\u{201E}', '\u{2026}', '\u{2020}', '\u{2021}',
    '\u{02C6}', '\u{2030}', '\u{0160}', '\u{2039}', '\u{0152}', '\u{008D}', '\u{017D}', '\u{008F}',
    '\u{0090}', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}', '\u{2022}', '\u{2013}', '\u{2014}',
    '\u{02DC}', '\u{2122}', '\u{0161}', '\u{203A}', '\u{0153}', '\u{009D}', '\u{017E}', '\u{0178}',
];

/// The character of the Windows-1252 byte `byte`.
fn windows_1252(byte: u8) -> char {
    match byte {
        0x80..=0x9F => WINDOWS_1252_HIGH[usize::from(byte - 0x80)],
        _ => char::from(byte),
    }
}

/// Raw bytes read at a time.
const CHUNK: usize = 256 * 1024;

/// Pushes `c` onto `out` as UTF-8.
fn push_char(out: &mut Vec<u8>, c: char) {
    let mut buf = [0; 4];
    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
}

/// A text in a form other than UTF-8, read as UTF-8, a chunk at a time.
struct Decoder<R> {
    raw: R,
    form: Form,
    /// Raw bytes read and not decoded yet: the end of a chunk that cuts a character.
    pending: Vec<u8>,
    /// Decoded text, given out from `at`.
    text: Vec<u8>,
    at: usize,
    ended: bool,
}

impl<R: Read> Decoder<R> {
    fn new(raw: R, form: Form) -> Decoder<R> {
        Decoder {
            raw,
            form,
            pending: Vec::new(),
            text: Vec::new(),
            at: 0,
            ended: false,
        }
    }

    /// Reads the next chunk and decodes it into `text`; at the end, what is left of a
    /// character cut short is U+FFFD.
    fn refill(&mut self) -> io::Result<()> {
        self.text.clear();
        self.at = 0;
        let have = self.pending.len();
        self.pending.reserve(CHUNK);
        Read::by_ref(&mut self.raw)
            .take(CHUNK as u64)
            .read_to_end(&mut self.pending)?;
        self.ended = self.pending.len() - have < CHUNK;
        let used = match self.form {
            Form::Utf8 => unreachable!("UTF-8 is passed through"),
            Form::Windows1252 => {
                windows_1252_text(&self.pending, &mut self.text);
                self.pending.len()
            }
            Form::Utf16 { big_endian } => {
                utf16_text(&self.pending, big_endian, self.ended, &mut self.text)
            }
        };
        self.pending.drain(..used);
        if self.ended && !self.pending.is_empty() {
            push_char(&mut self.text, char::REPLACEMENT_CHARACTER);
            self.pending.clear();
        }
        Ok(())
    }
}

/// Appends the Windows-1252 bytes `raw` to `text` as UTF-8.
fn windows_1252_text(raw: &[u8], text: &mut Vec<u8>) {
    for run in raw.split_inclusive(|b| !b.is_ascii()) {
        match run.split_last() {
            Some((&last, ascii)) if !last.is_ascii() => {
                text.extend_from_slice(ascii);
                push_char(text, windows_1252(last));
            }
            _ => text.extend_from_slice(run),
        }
    }
}

/// Appends the UTF-16 code units of `raw` to `text` as UTF-8, but for a character its end cuts
/// (an odd byte, or the first half of a surrogate pair) unless the text has `ended` there: the
/// bytes used. A surrogate without its other half is U+FFFD.
fn utf16_text(raw: &[u8], big_endian: bool, ended: bool, text: &mut Vec<u8>) -> usize {
    let unit = |pair: &[u8]| {
        let bytes = [pair[0], pair[1]];
        if big_endian {
            u16::from_be_bytes(bytes)
        } else {
            u16::from_le_bytes(bytes)
        }
    };
    let mut units = raw.len() / 2;
    if !ended && units > 0 && (0xD800..0xDC00).contains(&unit(&raw[2 * units - 2..])) {
        units -= 1;
    }
    for c in char::decode_utf16(raw[..2 * units].chunks_exact(2).map(unit)) {
        match c {
            Ok(c) if c.is_ascii() => text.push(c as u8),
            Ok(c) => push_char(text, c),
            Err(_) => push_char(text, char::REPLACEMENT_CHARACTER),
        }
    }
    2 * units
}

impl<R: Read> Read for Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.text.len() {
            if self.ended {
                return Ok(0);
            }
            self.refill()?;
        }
        let n = buf.len().min(self.text.len() - self.at);
        buf[..n].copy_from_slice(&self.text[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `raw` decoded as `encoding`, from a source that gives at most `give` bytes per read.
    fn decode(raw: &[u8], encoding: Encoding, give: usize) -> String {
        /// A reader that gives few bytes per read, as a pipe does.
        struct Trickle(Vec<u8>, usize, usize);
        impl Read for Trickle {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = buf.len().min(self.2).min(self.0.len() - self.1);
                buf[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
                self.1 += n;
                Ok(n)
            }
        }
        let mut text = Vec::new();
        decoded(Box::new(Trickle(raw.to_vec(), 0, give)), encoding)
            .unwrap()
            .read_to_end(&mut text)
            .unwrap();
        String::from_utf8(text).expect("decoded text is UTF-8")
    }

    #[test]
    fn windows_1252_reads_every_byte() {
        // Python's cp1252 codec wrote these: every byte from 0x20 but the five it leaves
        // undefined, and their text.
        let raw = include_bytes!("../../tests/fixtures/formats/windows1252_bytes.bin");
        let expected = include_str!("../../tests/fixtures/formats/windows1252_bytes.txt");
        assert_eq!(raw.len(), 224 - 5);
        assert_eq!(decode(raw, Encoding::Windows1252, usize::MAX), expected);
        // The undefined five are the C1 controls of their code points.
        assert_eq!(
            decode(&[0x81, 0x8D, 0x8F, 0x90, 0x9D], Encoding::Windows1252, 1),
            "\u{81}\u{8D}\u{8F}\u{90}\u{9D}"
        );
        // UTF-8 is passed through as it is, invalid bytes included (the reader tells them).
        let raw = b"id,name\n1,Ren\xe9e\n";
        let mut text = Vec::new();
        decoded(Box::new(&raw[..]), Encoding::Utf8)
            .unwrap()
            .read_to_end(&mut text)
            .unwrap();
        assert_eq!(text, raw);
    }

    #[test]
    fn a_byte_order_mark_says_the_form() {
        let text = "id,name\r\n1,Zoë 😀\r\n2,€\r\n";
        let le: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        let be: Vec<u8> = [0xFE, 0xFF]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_be_bytes))
            .collect();
        for give in [1, 3, 4, 7, usize::MAX] {
            for encoding in [Encoding::Utf8, Encoding::Windows1252] {
                assert_eq!(decode(&le, encoding, give), text, "{give}");
                assert_eq!(decode(&be, encoding, give), text, "{give}");
            }
        }
        // Without a mark, as some tools write it, UTF-16 is told by its zero bytes.
        for (unmarked, marked) in [(&le[2..], &le), (&be[2..], &be)] {
            for give in [1, 3, 4, usize::MAX] {
                assert_eq!(decode(unmarked, Encoding::Utf8, give), text, "{give}");
            }
            assert_eq!(
                decoded_bytes(marked[..12].to_vec(), Encoding::Utf8),
                b"id,na"
            );
            assert_eq!(
                decoded_bytes(unmarked[..10].to_vec(), Encoding::Utf8),
                b"id,na"
            );
        }
        // A zero byte that is not every other one is no UTF-16 (nor is a text cut short).
        for raw in [&b"a\0\0b"[..], b"\0\0a\0", b"ab\0c", b"a\0"] {
            assert_eq!(decode(raw, Encoding::Utf8, 1).as_bytes(), raw);
        }
        // A UTF-8 mark wins over Windows-1252: the text is passed through, mark and all.
        let marked = format!("\u{FEFF}{text}");
        assert_eq!(decode(marked.as_bytes(), Encoding::Windows1252, 2), marked);
        // A text shorter than a mark, and an empty one.
        assert_eq!(decode(b"a", Encoding::Windows1252, 1), "a");
        assert_eq!(decode(b"", Encoding::Windows1252, 1), "");
    }

    #[test]
    fn a_character_cut_short_or_unpaired_is_a_replacement() {
        let mut raw = vec![0xFF, 0xFE, b'a', 0];
        // Half a code unit at the end.
        raw.push(b'b');
        assert_eq!(decode(&raw, Encoding::Utf8, 2), "a\u{FFFD}");
        // The first half of a surrogate pair at the end, and a second half alone.
        let raw = [0xFF, 0xFE, b'a', 0, 0x3D, 0xD8];
        assert_eq!(decode(&raw, Encoding::Utf8, 1), "a\u{FFFD}");
        let raw = [0xFF, 0xFE, 0x00, 0xDE, b'a', 0];
        assert_eq!(decode(&raw, Encoding::Utf8, 1), "\u{FFFD}a");
        // A head cut in the middle of a pair: the first half alone, then half a unit.
        let head = decoded_bytes(vec![0xFF, 0xFE, b'a', 0, 0x3D, 0xD8, 0x00], Encoding::Utf8);
        assert_eq!(head, "a\u{FFFD}\u{FFFD}".as_bytes());
    }

    #[test]
    fn a_pair_across_chunks_is_kept_whole() {
        // A surrogate pair whose halves fall on either side of a chunk's end.
        let mut text = "x".repeat(CHUNK / 2 - 1);
        text.push('😀');
        text.push_str("yz");
        let raw: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert_eq!(decode(&raw, Encoding::Utf8, usize::MAX), text);
        // Windows-1252 across chunks.
        let raw: Vec<u8> = std::iter::repeat_n(0xE9, CHUNK + 5).collect();
        assert_eq!(
            decode(&raw, Encoding::Windows1252, usize::MAX),
            "é".repeat(CHUNK + 5)
        );
    }
}
