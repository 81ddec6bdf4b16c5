//! Frames of the native protocol: a 4-byte big-endian length, then that many bytes of UTF-8
//! JSON.
//!
//! ```text
//! +----------------+---------------------------+
//! | length: u32 BE | body: `length` bytes JSON |
//! +----------------+---------------------------+
//! ```
//!
//! A length of zero or above the limit is a protocol error: the connection cannot find the
//! next frame boundary with confidence, so it answers and closes.

use std::time::{Duration, Instant};

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// What reading a frame can end in besides a frame.
#[derive(Debug, PartialEq, Eq)]
pub enum FrameEnd {
    /// The peer closed the connection between frames.
    Closed,
    /// The peer closed the connection inside a frame.
    Truncated,
    /// The length prefix is zero.
    Empty,
    /// The length prefix is above the limit.
    TooLarge {
        /// The announced length.
        length: u32,
        /// The limit.
        limit: u32,
    },
    /// The body is not UTF-8.
    NotUtf8,
}

/// Reads one frame's body into `buf` (reused between frames).
pub async fn read_frame<R: AsyncRead + Unpin>(
    r: &mut R,
    buf: &mut Vec<u8>,
    limit: u32,
) -> std::io::Result<Result<(), FrameEnd>> {
    let mut len = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        let n = r.read(&mut len[got..]).await?;
        if n == 0 {
            return Ok(Err(if got == 0 { FrameEnd::Closed } else { FrameEnd::Truncated }));
        }
        got += n;
    }
    let length = u32::from_be_bytes(len);
    if length == 0 {
        return Ok(Err(FrameEnd::Empty));
    }
    if length > limit {
        return Ok(Err(FrameEnd::TooLarge { length, limit }));
    }
    buf.clear();
    buf.resize(length as usize, 0);
    let mut filled = 0;
    while filled < buf.len() {
        let n = r.read(&mut buf[filled..]).await?;
        if n == 0 {
            return Ok(Err(FrameEnd::Truncated));
        }
        filled += n;
    }
    if std::str::from_utf8(buf).is_err() {
        return Ok(Err(FrameEnd::NotUtf8));
    }
    Ok(Ok(()))
}

/// Writes one frame, without flushing: the caller flushes (a buffered writer then sends the
/// length and the body, and answers to pipelined requests, in one write).
pub async fn write_frame<W: AsyncWrite + Unpin>(w: &mut W, body: &[u8]) -> std::io::Result<()> {
    let len = u32::try_from(body.len()).map_err(|_| std::io::Error::other("frame larger than 4 GiB"))?;
    w.write_all(&len.to_be_bytes()).await?;
    w.write_all(body).await
}

/// Polls `r` for its next bytes without sleeping, for at most `spin`: true as soon as it has
/// some (or has ended: then its buffer is empty), false when `spin` passed first.
///
/// A thread asleep in the kernel while its peer answers must be woken when the answer comes,
/// and on a virtual machine that takes tens of microseconds (an interrupt to a halted virtual
/// CPU): more than a small query takes. A side that expects an answer (or the next request)
/// within microseconds polls a little first. Between polls the task yields, so the thread's
/// other tasks run first; the wall clock bounds the polling (std's: a paused test clock must
/// not make it endless).
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use std::time::Duration;
/// let mut ready = tokio::io::BufReader::new(&b"\x00\x00\x00\x02{}"[..]);
/// assert!(quiver_server::frame::poll_for_bytes(&mut ready, Duration::ZERO).await.unwrap());
/// let (silent, _peer) = tokio::io::duplex(64);
/// let mut silent = tokio::io::BufReader::new(silent);
/// assert!(!quiver_server::frame::poll_for_bytes(&mut silent, Duration::from_micros(50)).await.unwrap());
/// # });
/// ```
pub async fn poll_for_bytes<R: AsyncBufRead + Unpin>(r: &mut R, spin: Duration) -> std::io::Result<bool> {
    let until = Instant::now() + spin;
    loop {
        tokio::select! {
            biased;
            got = r.fill_buf() => {
                got?;
                return Ok(true);
            }
            () = tokio::task::yield_now() => {}
        }
        if Instant::now() >= until {
            return Ok(false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().build().unwrap_or_else(|e| panic!("{e}")).block_on(f)
    }

    #[test]
    fn polling_sees_bytes_that_arrive_meanwhile_and_the_end_and_gives_up_in_time() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let (near, mut far) = tokio::io::duplex(64);
            let mut near = tokio::io::BufReader::new(near);
            let started = std::time::Instant::now();
            assert!(!poll_for_bytes(&mut near, Duration::from_millis(20)).await.unwrap());
            assert!(started.elapsed() >= Duration::from_millis(20));
            // Bytes written by another task while polling are seen, and left in the buffer.
            let writer = tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(10)).await;
                far.write_all(b"ab").await.unwrap();
                far
            });
            assert!(poll_for_bytes(&mut near, Duration::from_secs(10)).await.unwrap());
            assert_eq!(near.buffer(), b"ab");
            near.consume(2);
            // The peer's end counts as something to read (an empty buffer).
            drop(writer.await.unwrap());
            assert!(poll_for_bytes(&mut near, Duration::from_secs(10)).await.unwrap());
            assert!(near.buffer().is_empty());
        });
    }

    #[test]
    fn frames_round_trip_and_bad_ones_are_named() {
        block(async {
            let mut wire = Vec::new();
            write_frame(&mut wire, br#"{"a":1}"#).await.unwrap();
            assert_eq!(wire, b"\x00\x00\x00\x07{\"a\":1}");
            let mut buf = Vec::new();
            let mut r = &wire[..];
            assert_eq!(read_frame(&mut r, &mut buf, 100).await.unwrap(), Ok(()));
            assert_eq!(buf, br#"{"a":1}"#);
            assert_eq!(read_frame(&mut r, &mut buf, 100).await.unwrap(), Err(FrameEnd::Closed));
            let cases: [(&[u8], FrameEnd); 5] = [
                (b"\x00\x00", FrameEnd::Truncated),
                (b"\x00\x00\x00\x05ab", FrameEnd::Truncated),
                (b"\x00\x00\x00\x00", FrameEnd::Empty),
                (b"\xff\xff\xff\xff", FrameEnd::TooLarge { length: u32::MAX, limit: 100 }),
                (b"\x00\x00\x00\x02\xc3\x28", FrameEnd::NotUtf8),
            ];
            for (bytes, want) in cases {
                let mut r = bytes;
                assert_eq!(read_frame(&mut r, &mut buf, 100).await.unwrap(), Err(want));
            }
        });
    }
}
