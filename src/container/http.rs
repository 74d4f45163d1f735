//! A small synchronous HTTP/1.1 client for a local Unix socket.
//!
//! It sends one `GET` per connection (with `Connection: close`) and reads
//! the reply: status line, headers, and a body framed by chunked transfer
//! coding, `Content-Length`, or the end of the connection (RFC 9112
//! section 6.3, in that order of precedence). That is all the container
//! engines' APIs need; it deliberately has no keep-alive, redirects, TLS or
//! request bodies. The reply parser works on any `BufRead`, so tests feed it
//! text directly.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

/// The largest body accepted. Engine replies are a few KiB per container;
/// the cap only keeps a misbehaving peer from exhausting memory.
const MAX_BODY: usize = 64 << 20;

/// The longest status or header line accepted, in bytes.
const MAX_LINE: usize = 64 << 10;

/// The most header lines (headers and trailers each) accepted.
const MAX_HEADERS: usize = 256;

/// Why a request failed, before the caller adds which socket it was.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// Connecting, writing or reading failed, including timeouts.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The peer's reply broke HTTP/1.1 framing.
    #[error("malformed HTTP reply: {0}")]
    Malformed(String),
}

fn malformed(what: impl Into<String>) -> HttpError {
    HttpError::Malformed(what.into())
}

/// A parsed reply; header names keep their case as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The three-digit status code, 100..=999.
    pub status: u16,
    /// The reason phrase, possibly empty.
    pub reason: String,
    /// Header fields in the order received, values trimmed.
    pub headers: Vec<(String, String)>,
    /// The decoded body (chunked coding removed).
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of header `name`, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Sends `GET path` to the server on `socket` and reads the whole reply.
///
/// `timeout` bounds each read and write, not the whole exchange: a server
/// that keeps trickling bytes is allowed to, as long as it makes progress.
pub fn get(
    socket: &Path,
    path: &str,
    timeout: Duration,
) -> Result<Response, HttpError> {
    let mut stream = UnixStream::connect(socket)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let request = format!(
        "GET {path} HTTP/1.1\r\n\
         Host: localhost\r\n\
         User-Agent: memscan/{}\r\n\
         Accept: application/json\r\n\
         Connection: close\r\n\r\n",
        env!("CARGO_PKG_VERSION")
    );
    stream.write_all(request.as_bytes())?;
    stream.flush()?;
    read_response(&mut BufReader::new(stream))
}

/// Reads one reply to a `GET` from `r`, skipping interim 1xx replies.
pub fn read_response<R: BufRead>(r: &mut R) -> Result<Response, HttpError> {
    loop {
        let (status, reason) = read_status_line(r)?;
        let headers = read_fields(r)?;
        // A 1xx reply is interim and has no body; the real one follows.
        // 101 would switch protocols, which a GET never asks for.
        if (100..200).contains(&status) && status != 101 {
            continue;
        }
        let body = read_body(r, status, &headers)?;
        return Ok(Response { status, reason, headers, body });
    }
}

/// Reads one CRLF- (or bare LF-) terminated line without its terminator.
/// `None` means the stream ended before any byte of the line.
fn read_line<R: BufRead>(r: &mut R) -> Result<Option<String>, HttpError> {
    let mut line = Vec::new();
    loop {
        let buf = match r.fill_buf() {
            Ok(buf) => buf,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        if buf.is_empty() {
            if line.is_empty() {
                return Ok(None);
            }
            return Err(malformed("connection closed inside a line"));
        }
        let (used, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => {
                line.extend_from_slice(&buf[..i]);
                (i + 1, true)
            }
            None => {
                line.extend_from_slice(buf);
                (buf.len(), false)
            }
        };
        r.consume(used);
        if line.len() > MAX_LINE {
            return Err(malformed(format!(
                "line longer than {MAX_LINE} bytes"
            )));
        }
        if done {
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            return String::from_utf8(line)
                .map(Some)
                .map_err(|_| malformed("line is not UTF-8"));
        }
    }
}

fn read_status_line<R: BufRead>(
    r: &mut R,
) -> Result<(u16, String), HttpError> {
    let line = read_line(r)?
        .ok_or_else(|| malformed("connection closed before a status line"))?;
    let mut parts = line.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    let code = parts.next().unwrap_or("");
    let reason = parts.next().unwrap_or("").trim().to_string();
    if !version.starts_with("HTTP/1.") {
        return Err(malformed(format!("bad status line {line:?}")));
    }
    let status = match code.parse::<u16>() {
        Ok(s) if code.len() == 3 && (100..=999).contains(&s) => s,
        _ => return Err(malformed(format!("bad status code in {line:?}"))),
    };
    Ok((status, reason))
}

/// Reads header (or trailer) fields up to and including the empty line.
fn read_fields<R: BufRead>(
    r: &mut R,
) -> Result<Vec<(String, String)>, HttpError> {
    let mut fields = Vec::new();
    loop {
        let line = read_line(r)?.ok_or_else(|| {
            malformed("connection closed inside the headers")
        })?;
        if line.is_empty() {
            return Ok(fields);
        }
        if fields.len() >= MAX_HEADERS {
            return Err(malformed(format!("more than {MAX_HEADERS} headers")));
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(malformed(format!(
                "header without a colon: {line:?}"
            )));
        };
        if name.is_empty() || name.contains(|c: char| c.is_whitespace()) {
            return Err(malformed(format!("bad header name in {line:?}")));
        }
        fields.push((name.to_string(), value.trim().to_string()));
    }
}

/// How the body of a reply is delimited.
#[derive(Debug, PartialEq, Eq)]
enum Framing {
    None,
    Chunked,
    Length(usize),
    UntilClose,
}

fn framing(
    status: u16,
    headers: &[(String, String)],
) -> Result<Framing, HttpError> {
    if status == 204 || status == 304 {
        return Ok(Framing::None);
    }
    let codings: Vec<&str> = headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("transfer-encoding"))
        .flat_map(|(_, v)| v.split(','))
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    if !codings.is_empty() {
        // We never ask for compressed codings, so chunked is the only one
        // a well-behaved engine sends; decoding anything else would hand
        // the caller compressed bytes as if they were JSON.
        if let [only] = codings.as_slice() {
            if only.eq_ignore_ascii_case("chunked") {
                return Ok(Framing::Chunked);
            }
        }
        return Err(malformed(format!(
            "unsupported transfer coding {:?}",
            codings.join(", ")
        )));
    }
    let mut length = None;
    for (_, v) in headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("content-length"))
    {
        // A list of identical values is allowed; differing ones are not.
        for item in v.split(',').map(str::trim) {
            let n = parse_decimal(item).ok_or_else(|| {
                malformed(format!("bad Content-Length {v:?}"))
            })?;
            if length.is_some_and(|old| old != n) {
                return Err(malformed("conflicting Content-Length values"));
            }
            length = Some(n);
        }
    }
    Ok(match length {
        Some(n) => Framing::Length(n),
        None => Framing::UntilClose,
    })
}

fn parse_decimal(s: &str) -> Option<usize> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn read_body<R: BufRead>(
    r: &mut R,
    status: u16,
    headers: &[(String, String)],
) -> Result<Vec<u8>, HttpError> {
    match framing(status, headers)? {
        Framing::None => Ok(Vec::new()),
        Framing::Length(n) => {
            if n > MAX_BODY {
                return Err(malformed(format!(
                    "body of {n} bytes is too big"
                )));
            }
            let mut body = vec![0; n];
            read_exact(r, &mut body)?;
            Ok(body)
        }
        Framing::UntilClose => {
            let mut body = Vec::new();
            r.take(MAX_BODY as u64 + 1).read_to_end(&mut body)?;
            if body.len() > MAX_BODY {
                return Err(malformed("body is too big"));
            }
            Ok(body)
        }
        Framing::Chunked => read_chunked(r),
    }
}

fn read_exact<R: Read>(r: &mut R, buf: &mut [u8]) -> Result<(), HttpError> {
    r.read_exact(buf).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            malformed("connection closed inside the body")
        } else {
            HttpError::Io(e)
        }
    })
}

/// Decodes a chunked body (RFC 9112 section 7.1): hex size lines, each
/// optionally followed by `;extensions` that we ignore, then the data and
/// CRLF; a zero-size chunk ends it, followed by optional trailer fields.
fn read_chunked<R: BufRead>(r: &mut R) -> Result<Vec<u8>, HttpError> {
    let mut body = Vec::new();
    loop {
        let line = read_line(r)?
            .ok_or_else(|| malformed("connection closed before a chunk"))?;
        let size_text = line.split(';').next().unwrap_or("").trim();
        if size_text.is_empty()
            || size_text.len() > 16
            || !size_text.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Err(malformed(format!("bad chunk size line {line:?}")));
        }
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| malformed(format!("bad chunk size {size_text:?}")))?;
        if size == 0 {
            // Trailers end with an empty line; their content is unused.
            read_fields(r)?;
            return Ok(body);
        }
        if size > MAX_BODY.saturating_sub(body.len()) {
            return Err(malformed("chunked body is too big"));
        }
        let start = body.len();
        body.resize(start + size, 0);
        read_exact(r, &mut body[start..])?;
        match read_line(r)? {
            Some(rest) if rest.is_empty() => {}
            _ => return Err(malformed("chunk data not followed by CRLF")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out at most `step` bytes per call, so that
    /// lines, chunk sizes and chunk data straddle reads.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    fn parse_with_step(
        text: &[u8],
        step: usize,
    ) -> Result<Response, HttpError> {
        let trickle = Trickle { data: text, step };
        // A tiny buffer makes BufRead refill in the middle of everything.
        read_response(&mut BufReader::with_capacity(3, trickle))
    }

    fn parse(text: &[u8]) -> Result<Response, HttpError> {
        parse_with_step(text, usize::MAX)
    }

    #[test]
    fn content_length_body_read_exactly() {
        let reply = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                      Content-Length: 2\r\n\r\n{}trailing garbage";
        let r = parse(reply).unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.reason, "OK");
        assert_eq!(r.body, b"{}");
        assert_eq!(r.header("content-type"), Some("application/json"));
    }

    #[test]
    fn short_content_length_body_is_malformed() {
        let reply = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}";
        assert!(matches!(parse(reply), Err(HttpError::Malformed(_))));
    }

    #[test]
    fn conflicting_content_lengths_are_malformed() {
        let reply = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\
                      Content-Length: 3\r\n\r\n{}x";
        assert!(matches!(parse(reply), Err(HttpError::Malformed(_))));
    }

    #[test]
    fn close_delimited_body_runs_to_end_of_stream() {
        let reply = b"HTTP/1.0 200 OK\r\nServer: test\r\n\r\n[1,2,3]\n";
        let r = parse_with_step(reply, 2).unwrap();
        assert_eq!(r.body, b"[1,2,3]\n");
    }

    #[test]
    fn chunked_body_decoded() {
        let reply = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                      4\r\n[{\"a\r\n6\r\n\":1}]\n\r\n0\r\n\r\n";
        let r = parse(reply).unwrap();
        assert_eq!(r.body, b"[{\"a\":1}]\n");
    }

    #[test]
    fn chunked_body_with_extensions_and_trailers_decoded() {
        let reply = b"HTTP/1.1 200 OK\r\ntransfer-encoding: Chunked\r\n\r\n\
                      5;name=value;other\r\nhello\r\n\
                      1 ; ext=\"quoted;semi\"\r\n!\r\n\
                      0;last\r\nX-Trailer: yes\r\n\r\n";
        let r = parse(reply).unwrap();
        assert_eq!(r.body, b"hello!");
    }

    #[test]
    fn chunked_body_split_across_reads_decoded() {
        let reply = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                      a\r\n0123456789\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n\
                      0\r\n\r\n";
        for step in 1..8 {
            let r = parse_with_step(reply, step).unwrap();
            assert_eq!(
                r.body,
                b"0123456789abcdefghijklmnopqrstuvwxyz".as_slice(),
                "step {step}"
            );
        }
    }

    #[test]
    fn chunk_without_crlf_after_data_is_malformed() {
        let reply = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                      2\r\nabc\r\n0\r\n\r\n";
        assert!(matches!(parse(reply), Err(HttpError::Malformed(_))));
    }

    #[test]
    fn chunk_size_not_hex_is_malformed() {
        for size in ["zz", "", "-1", "+1", "11111111111111111"] {
            let reply = format!(
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                 {size}\r\nab\r\n0\r\n\r\n"
            );
            let result = parse(reply.as_bytes());
            assert!(matches!(result, Err(HttpError::Malformed(_))), "{size}");
        }
    }

    #[test]
    fn truncated_chunked_body_is_malformed() {
        let reply = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                      10\r\nshort";
        assert!(matches!(parse(reply), Err(HttpError::Malformed(_))));
    }

    #[test]
    fn huge_chunk_rejected_without_allocating() {
        let reply = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                      ffffffffffffffff\r\n";
        assert!(matches!(parse(reply), Err(HttpError::Malformed(_))));
    }

    #[test]
    fn compressed_transfer_coding_rejected() {
        let reply =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n\
                      0\r\n\r\n";
        assert!(matches!(parse(reply), Err(HttpError::Malformed(_))));
    }

    #[test]
    fn not_found_reply_keeps_json_message() {
        let reply = b"HTTP/1.1 404 Not Found\r\n\
                      Api-Version: 1.41\r\n\
                      Content-Type: application/json\r\n\
                      Date: Thu, 04 Dec 2025 15:00:00 GMT\r\n\
                      Content-Length: 44\r\n\r\n\
                      {\"message\":\"No such container: nonexistent\"}";
        let r = parse(reply).unwrap();
        assert_eq!(r.status, 404);
        assert_eq!(r.reason, "Not Found");
        assert_eq!(r.body.len(), 44);
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["message"], "No such container: nonexistent");
    }

    #[test]
    fn ping_reply_gives_api_version_header() {
        let reply = b"HTTP/1.1 200 OK\r\n\
                      Api-Version: 1.41\r\n\
                      Cache-Control: no-cache, no-store, must-revalidate\r\n\
                      Docker-Experimental: false\r\n\
                      Ostype: linux\r\n\
                      Pragma: no-cache\r\n\
                      Server: Docker/20.10.24+dfsg1 (linux)\r\n\
                      Content-Length: 2\r\n\
                      Content-Type: text/plain; charset=utf-8\r\n\r\nOK";
        let r = parse_with_step(reply, 5).unwrap();
        assert_eq!(r.header("API-VERSION"), Some("1.41"));
        assert_eq!(r.header("Libpod-Api-Version"), None);
        assert_eq!(r.body, b"OK");
    }

    #[test]
    fn interim_continue_reply_skipped() {
        let reply = b"HTTP/1.1 100 Continue\r\n\r\n\
                      HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n";
        let r = parse(reply).unwrap();
        assert_eq!(r.status, 204);
        assert!(r.body.is_empty());
    }

    #[test]
    fn bare_lf_line_endings_accepted() {
        let r = parse(b"HTTP/1.1 200 OK\nContent-Length: 1\n\nx").unwrap();
        assert_eq!(r.body, b"x");
    }

    #[test]
    fn random_replies_never_panic() {
        // A fixed xorshift sequence: replies built from HTTP-ish pieces and
        // random bytes, fed at random read sizes. Only errors may come out.
        let pieces: [&[u8]; 12] = [
            b"HTTP/1.1 200 OK\r\n",
            b"HTTP/1.1 100 Continue\r\n\r\n",
            b"Transfer-Encoding: chunked\r\n",
            b"Content-Length: 5\r\n",
            b"Content-Length: 99999999999999999999\r\n",
            b"\r\n",
            b"5;x\r\nhello\r\n",
            b"0\r\n\r\n",
            b"ffffffff\r\n",
            b":\r\n",
            b"\xff\x00\n",
            b"{}",
        ];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..2000 {
            let mut reply = Vec::new();
            for _ in 0..next() % 8 {
                let r = next();
                if r % 4 == 0 {
                    reply.push((r >> 8) as u8);
                } else {
                    reply.extend_from_slice(pieces[(r >> 8) as usize % 12]);
                }
            }
            let step = 1 + (next() % 7) as usize;
            let _ = parse_with_step(&reply, step);
        }
    }

    #[test]
    fn garbage_status_lines_are_malformed() {
        for reply in [
            &b""[..],
            b"SSH-2.0-OpenSSH_9.2\r\n",
            b"HTTP/1.1 20 OK\r\n\r\n",
            b"HTTP/1.1 abc OK\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 2",
            b"\xff\xfe\r\n",
        ] {
            let result = parse(reply);
            assert!(
                matches!(result, Err(HttpError::Malformed(_))),
                "{:?}: {result:?}",
                String::from_utf8_lossy(reply)
            );
        }
    }
}
