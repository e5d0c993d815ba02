//! Text outputs (CSV tables, charts), compressed as their names say, and CSV tables written a
//! few batches at a time on every thread.
//!
//! A `.gz` output is one gzip member, read by every gzip reader: its text is cut into pieces,
//! each piece deflated on its own thread and ended on a sync flush (a byte boundary), and the
//! pieces appended in order after one header, with one final block and the checksum of the whole
//! text combined from the pieces' (as pigz does). A `.zst` output is one zstd frame, compressed
//! by zstd's own workers; the bytes are the same for any number of workers. Either way the text
//! is what a plain `.csv` output holds.

use crate::data::read::Compression;
use arrow_array::RecordBatch;
use rayon::prelude::*;
use std::fs::File;
use std::io::{BufWriter, Write};

/// gzip's level for outputs: its fastest. Numbers in text compress nearly as well at level 1 as
/// at the usual 6, at several times the speed (BENCHMARKS.md, compressed CSV).
const GZIP_LEVEL: u32 = 1;

/// zstd's level for outputs: its usual default.
const ZSTD_LEVEL: i32 = 3;

/// Rows of a table turned into text (and, for gzip, compressed) as one piece, by one thread.
const PIECE_ROWS: usize = 65_536;

/// A text output: written as is, or compressed.
pub(super) enum TextOut {
    Plain(BufWriter<File>),
    /// One member whose header is written; the checksum and length of the text so far.
    Gzip {
        file: BufWriter<File>,
        crc: flate2::Crc,
    },
    Zstd(zstd::stream::write::Encoder<'static, BufWriter<File>>),
}

/// A piece of text made ready for [`TextOut::append`] on any thread: for gzip, deflated, with
/// the checksum of its text; else the text.
pub(super) struct Piece {
    bytes: Vec<u8>,
    crc: Option<flate2::Crc>,
}

/// gzip's member header: no name, no time (the same bytes on every run), "fastest" level, and
/// an unknown system, as flate2 writes it.
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 4, 255];

/// `text` deflated as raw blocks ending on `flush`: a sync flush, so that pieces deflated apart
/// follow one another in one stream, or (for the empty final block [`TextOut::finish`] writes)
/// the end of the stream.
fn deflate_piece(text: &[u8], flush: flate2::FlushCompress) -> std::io::Result<Vec<u8>> {
    let mut deflate = flate2::Compress::new(flate2::Compression::new(GZIP_LEVEL), false);
    let mut out = Vec::with_capacity(text.len() / 2 + 64);
    loop {
        if out.capacity() - out.len() < 64 {
            out.reserve(out.capacity().max(4096));
        }
        let done = deflate.total_in() as usize;
        deflate
            .compress_vec(&text[done..], &mut out, flush)
            .map_err(std::io::Error::other)?;
        // All the text taken, and room left over: the flush is complete.
        if deflate.total_in() as usize == text.len() && out.len() < out.capacity() {
            return Ok(out);
        }
    }
}

impl Piece {
    /// `text` made ready for an output compressed with `compression`.
    pub(super) fn new(compression: Compression, text: Vec<u8>) -> std::io::Result<Piece> {
        Ok(match compression {
            Compression::Gzip => {
                let mut crc = flate2::Crc::new();
                crc.update(&text);
                Piece {
                    bytes: deflate_piece(&text, flate2::FlushCompress::Sync)?,
                    crc: Some(crc),
                }
            }
            Compression::None | Compression::Zstd => Piece {
                bytes: text,
                crc: None,
            },
        })
    }
}

impl TextOut {
    /// A text output into `file`, compressed with `compression`; zstd's on `threads` workers.
    pub(super) fn new(
        compression: Compression,
        mut file: BufWriter<File>,
        threads: usize,
    ) -> std::io::Result<TextOut> {
        Ok(match compression {
            Compression::None => TextOut::Plain(file),
            Compression::Gzip => {
                file.write_all(&GZIP_HEADER)?;
                TextOut::Gzip {
                    file,
                    crc: flate2::Crc::new(),
                }
            }
            Compression::Zstd => {
                let mut zstd = zstd::stream::write::Encoder::new(file, ZSTD_LEVEL)?;
                // A checksum of the text, as gzip's trailer holds one.
                zstd.include_checksum(true)?;
                // Never 0 workers (compression on the caller's thread), whose frame differs
                // from the workers' one.
                zstd.multithread(threads.clamp(1, 200) as u32)?;
                TextOut::Zstd(zstd)
            }
        })
    }

    /// The compression of this output.
    pub(super) fn compression(&self) -> Compression {
        match self {
            TextOut::Plain(_) => Compression::None,
            TextOut::Gzip { .. } => Compression::Gzip,
            TextOut::Zstd(_) => Compression::Zstd,
        }
    }

    /// Appends the next piece of text, made by [`Piece::new`] with this output's compression.
    pub(super) fn append(&mut self, piece: Piece) -> std::io::Result<()> {
        match self {
            TextOut::Plain(file) => file.write_all(&piece.bytes),
            TextOut::Gzip { file, crc } => {
                crc.combine(&piece.crc.expect("a gzip piece has its checksum"));
                file.write_all(&piece.bytes)
            }
            TextOut::Zstd(zstd) => zstd.write_all(&piece.bytes),
        }
    }

    /// Appends `text`, compressed on this thread.
    pub(super) fn append_text(&mut self, text: &[u8]) -> std::io::Result<()> {
        let piece = Piece::new(self.compression(), text.to_vec())?;
        self.append(piece)
    }

    /// Ends the output (gzip's final block and trailer, zstd's frame) and returns the file,
    /// not yet flushed.
    pub(super) fn finish(self) -> std::io::Result<BufWriter<File>> {
        match self {
            TextOut::Plain(file) => Ok(file),
            TextOut::Gzip { mut file, crc } => {
                file.write_all(&deflate_piece(&[], flate2::FlushCompress::Finish)?)?;
                file.write_all(&crc.sum().to_le_bytes())?;
                // The length of the text modulo 2^32, as gzip's trailer holds it.
                file.write_all(&crc.amount().to_le_bytes())?;
                Ok(file)
            }
            TextOut::Zstd(zstd) => zstd.finish(),
        }
    }
}

/// A CSV table with a header row, written a few batches at a time: the pieces of
/// `PIECE_ROWS` rows are turned into text (and deflated, for gzip) side by side and appended in
/// order, so the text is the same as one writer's.
pub(super) struct CsvOut {
    out: TextOut,
    /// `,`, or a tab for a `.tsv` output.
    delimiter: u8,
    /// Whether the header row is still to be written (before the first rows).
    header: bool,
    pending: Vec<RecordBatch>,
}

type ArrowResult<T> = std::result::Result<T, arrow_schema::ArrowError>;

impl CsvOut {
    pub(super) fn new(out: TextOut, delimiter: u8) -> CsvOut {
        CsvOut {
            out,
            delimiter,
            header: true,
            pending: Vec::new(),
        }
    }

    /// Pieces made ready side by side: one per worker thread, twice over.
    fn pieces_at_once() -> usize {
        2 * rayon::current_num_threads().max(1)
    }

    pub(super) fn write(&mut self, batch: &RecordBatch) -> ArrowResult<()> {
        // A batch without rows still starts the table with its header, as a single writer does.
        if batch.num_rows() == 0 && self.header && self.pending.is_empty() {
            self.pending.push(batch.clone());
        }
        let mut at = 0;
        while at < batch.num_rows() {
            let take = PIECE_ROWS.min(batch.num_rows() - at);
            self.pending.push(batch.slice(at, take));
            at += take;
            if self.pending.len() >= Self::pieces_at_once() {
                self.flush()?;
            }
        }
        Ok(())
    }

    /// Makes the pending pieces ready in parallel and appends them in order.
    fn flush(&mut self) -> ArrowResult<()> {
        let compression = self.out.compression();
        let (header, delimiter) = (self.header, self.delimiter);
        let pieces = std::mem::take(&mut self.pending)
            .into_par_iter()
            .enumerate()
            .map(|(i, batch)| {
                let mut text = Vec::new();
                arrow_csv::WriterBuilder::new()
                    .with_header(header && i == 0)
                    .with_delimiter(delimiter)
                    .build(&mut text)
                    .write(&batch)?;
                Ok(Piece::new(compression, text)?)
            })
            .collect::<ArrowResult<Vec<_>>>()?;
        self.header &= pieces.is_empty();
        for piece in pieces {
            self.out.append(piece)?;
        }
        Ok(())
    }

    /// Writes what is pending and ends the output; the file is not flushed yet.
    pub(super) fn finish(mut self) -> ArrowResult<BufWriter<File>> {
        self.flush()?;
        Ok(self.out.finish()?)
    }
}
