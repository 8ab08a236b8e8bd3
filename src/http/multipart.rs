//! A streaming `multipart/form-data` reader that does not copy part bodies.
//!
//! multer (still used by the dashboard's forms) copies every incoming chunk
//! into its own buffer and searches that for the boundary; for a 100 KB
//! upload that was about half of the request's user-space instructions
//! (docs/performance.md, "Session 14"). Here a part's data is handed out as
//! slices of the chunks the connection read (`Bytes::slice`, no copy), and
//! the delimiter is found with `memchr` on its first byte: a boundary never
//! contains CR (RFC 2046's boundary characters; checked in [`Multipart::new`]),
//! so the delimiter `CRLF--boundary` has one CR, at its start, and a chunk
//! without a CR is data whole. Only a delimiter split between two chunks
//! and the part headers are copied (a few dozen bytes each).

use bytes::{Buf, Bytes};
use futures_util::{Stream, StreamExt};

/// Most bytes of one part's headers.
const MAX_HEADERS: usize = 16 << 10;

/// Why a multipart body could not be read.
#[derive(Debug, PartialEq, Eq)]
pub enum Error {
    /// Past the body limit (or a text part past its allowance).
    TooLarge,
    /// Not a well-formed multipart body, or the stream failed.
    Malformed,
}

/// A part's name and, for a file, its file name (`Content-Disposition`).
pub struct Part {
    pub name: Option<String>,
    pub file_name: Option<String>,
}

enum State {
    /// Inside the preamble or a part's data.
    Body,
    /// Just past a delimiter: `--` ends the body, CRLF starts headers.
    AfterDelimiter,
    End,
}

/// Reads the parts of one body in order; [`Multipart::chunk`] reads the
/// data of the part [`Multipart::next_part`] returned last.
pub struct Multipart<S> {
    stream: S,
    /// Read but not handed out yet.
    pending: Bytes,
    /// `\r\n--` + boundary.
    delimiter: Box<[u8]>,
    limit: u64,
    read: u64,
    state: State,
}

impl<S, E> Multipart<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    /// A reader of `stream` with parts separated by `boundary`, refusing
    /// bodies longer than `limit`. `None` for a boundary RFC 2046 does not
    /// allow (empty, longer than 70, or with CR or LF).
    pub fn new(stream: S, boundary: &str, limit: u64) -> Option<Self> {
        let b = boundary.as_bytes();
        if b.is_empty() || b.len() > 70 || b.iter().any(|&c| c == b'\r' || c == b'\n') {
            return None;
        }
        let delimiter = [b"\r\n--", b].concat().into_boxed_slice();
        Some(Self {
            stream,
            // The first delimiter has no CRLF before it: reading the
            // preamble as if it followed one finds it at the very start.
            pending: Bytes::from_static(b"\r\n"),
            delimiter,
            limit,
            read: 0,
            state: State::Body,
        })
    }

    /// The next chunk of the stream (never empty), `None` at its end.
    async fn more(&mut self) -> Result<Option<Bytes>, Error> {
        loop {
            match self.stream.next().await {
                None => return Ok(None),
                Some(Err(_)) => return Err(Error::Malformed),
                Some(Ok(c)) if c.is_empty() => continue,
                Some(Ok(c)) => {
                    self.read += c.len() as u64;
                    if self.read > self.limit {
                        return Err(Error::TooLarge);
                    }
                    return Ok(Some(c));
                }
            }
        }
    }

    /// The next slice of the current part's data; `None` once its
    /// delimiter has been read.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, Error> {
        if !matches!(self.state, State::Body) {
            return Ok(None);
        }
        let d = self.delimiter.len();
        loop {
            let (found, keep) = scan(&self.pending, &self.delimiter);
            if let Some(i) = found {
                if i > 0 {
                    return Ok(Some(self.pending.split_to(i)));
                }
                self.pending.advance(d);
                self.state = State::AfterDelimiter;
                return Ok(None);
            }
            if keep > 0 {
                return Ok(Some(self.pending.split_to(keep)));
            }
            // `pending` is empty or a proper prefix of the delimiter.
            let Some(next) = self.more().await? else {
                return Err(Error::Malformed);
            };
            let p = self.pending.len();
            if p == 0 {
                self.pending = next;
            } else if next.len() < d - p {
                // Too short to decide: join the two (fewer than `d` bytes).
                self.pending = [&self.pending[..], &next[..]].concat().into();
            } else if next[..d - p] == self.delimiter[p..] {
                self.pending = next.slice(d - p..);
                self.state = State::AfterDelimiter;
                return Ok(None);
            } else {
                // Data after all (its CR is the delimiter's only CR, so no
                // delimiter starts later in it).
                let data = std::mem::replace(&mut self.pending, next);
                return Ok(Some(data));
            }
        }
    }

    /// Skips what is left of the current part and reads the next part's
    /// headers; `None` after the closing delimiter.
    pub async fn next_part(&mut self) -> Result<Option<Part>, Error> {
        while self.chunk().await?.is_some() {}
        if matches!(self.state, State::End) {
            return Ok(None);
        }
        // The headers are parsed where they lie in the chunk; only headers
        // split between chunks are joined (copied) first.
        loop {
            match head(&self.pending)? {
                Some(Head::Closing) => {
                    self.state = State::End;
                    return Ok(None);
                }
                Some(Head::Part { from, end }) => {
                    let part = part(&self.pending[from..end]);
                    self.pending.advance(end + 4);
                    self.state = State::Body;
                    return Ok(Some(part));
                }
                None if self.pending.len() > MAX_HEADERS => return Err(Error::Malformed),
                None => {
                    let Some(next) = self.more().await? else {
                        return Err(Error::Malformed);
                    };
                    self.pending = match self.pending.is_empty() {
                        true => next,
                        false => [&self.pending[..], &next[..]].concat().into(),
                    };
                }
            }
        }
    }

    /// The rest of the current part as text (UTF-8, invalid sequences
    /// replaced, a byte-order mark dropped), at most `max` bytes.
    pub async fn text(&mut self, max: usize) -> Result<String, Error> {
        let mut out: Vec<u8> = Vec::new();
        while let Some(c) = self.chunk().await? {
            if out.len() + c.len() > max {
                return Err(Error::TooLarge);
            }
            out.extend_from_slice(&c);
        }
        let body = out.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&out);
        Ok(String::from_utf8_lossy(body).into_owned())
    }
}

/// What follows a delimiter.
enum Head {
    /// `--`: the body's last part has ended.
    Closing,
    /// A part's headers are `data[from..end]`, its data starts at `end + 4`.
    Part { from: usize, end: usize },
}

/// Reads what follows a delimiter: `--`, or optional white space, CRLF,
/// header lines and an empty line. `None` while more bytes are needed.
fn head(data: &[u8]) -> Result<Option<Head>, Error> {
    if data.starts_with(b"--") {
        return Ok(Some(Head::Closing));
    }
    let from = data
        .iter()
        .position(|&c| c != b' ' && c != b'\t')
        .unwrap_or(data.len());
    match data.get(from..from + 2) {
        None => Ok(None),
        Some(b"\r\n") => Ok(find(&data[from..], b"\r\n\r\n").map(|i| Head::Part {
            from,
            end: from + i,
        })),
        Some(_) => Err(Error::Malformed),
    }
}

/// Where the delimiter starts in `data`, or else how much of `data` is
/// certainly data (all of it but a tail that may begin the delimiter).
fn scan(data: &[u8], delimiter: &[u8]) -> (Option<usize>, usize) {
    if let Some(i) = find(data, delimiter) {
        return (Some(i), i);
    }
    // Only the last CR of the final `d - 1` bytes can begin a delimiter
    // that continues in the next chunk.
    let from = data.len().saturating_sub(delimiter.len() - 1);
    match memchr::memrchr(b'\r', &data[from..]) {
        Some(j) if delimiter.starts_with(&data[from + j..]) => (None, from + j),
        _ => (None, data.len()),
    }
}

/// The first place `needle` (which starts with CR) occurs in `data`.
fn find(data: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memchr_iter(needle[0], data).find(|&i| data[i..].starts_with(needle))
}

/// The name and file name in a part's headers.
fn part(headers: &[u8]) -> Part {
    let disposition = headers
        .split(|&c| c == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .find_map(|line| {
            let colon = memchr::memchr(b':', line)?;
            let (name, value) = line.split_at(colon);
            name.trim_ascii()
                .eq_ignore_ascii_case(b"content-disposition")
                .then(|| &value[1..])
        });
    Part {
        name: disposition.and_then(|d| attribute(d, b"name")),
        file_name: disposition.and_then(|d| attribute(d, b"filename")),
    }
}

/// The value of `key` in a `Content-Disposition` value, quoted (with `\"`
/// escapes) or not, as multer reads it.
fn attribute(mut header: &[u8], key: &[u8]) -> Option<String> {
    while let Some(i) = memchr::memmem::find(header, key) {
        let suffix = &header[i + key.len()..];
        if i > 0 && !(header[i - 1].is_ascii_whitespace() || header[i - 1] == b';') {
            header = suffix;
            continue;
        }
        let rest = suffix.trim_ascii_start().strip_prefix(b"=")?;
        let rest = rest.trim_ascii_start();
        let (value, escaped) = if let Some(q) = rest.strip_prefix(b"\"") {
            let mut k = memchr::memchr(b'"', q)?;
            let mut escaped = false;
            while k > 0 && q[k - 1] == b'\\' {
                escaped = true;
                k = k + 1 + memchr::memchr(b'"', &q[k + 1..])?;
            }
            (&q[..k], escaped)
        } else {
            let j = memchr::memchr2(b';', b' ', rest).unwrap_or(rest.len());
            (&rest[..j], false)
        };
        let value = std::str::from_utf8(value).ok()?;
        return Some(match escaped {
            true => value.replace("\\\"", "\""),
            false => value.to_owned(),
        });
    }
    None
}

#[cfg(test)]
#[path = "multipart_tests.rs"]
mod tests;
