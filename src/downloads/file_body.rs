//! A response body streamed from a slice of a file: read in fixed pieces on the blocking
//! pool, one piece ahead of the client, so memory per download stays at two pieces
//! whatever the file's size.

use std::fs::File;
use std::future::Future as _;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use tokio::task::JoinHandle;

/// The size of one read unless told otherwise.
const PIECE: u64 = 512 * 1024;

type Reading = JoinHandle<(File, io::Result<Bytes>)>;

pub(crate) struct FileBody {
    file: Option<File>,
    /// Bytes not yet asked of the file.
    unread: u64,
    /// Bytes not yet handed to the client.
    unsent: u64,
    reading: Option<Reading>,
    /// The size of one read.
    piece: u64,
}

impl FileBody {
    /// The `len` bytes of `path` from `first` on.
    #[cfg(test)]
    pub(crate) async fn open(path: &Path, first: u64, len: u64) -> io::Result<Self> {
        Self::open_checked(path, None, first, len).await
    }

    /// Opens `path` (a regular file, never through a link, never waiting on a FIFO),
    /// checks that the opened file holds `size` bytes when one is given, and seeks to
    /// `first`.
    async fn open_checked(
        path: &Path,
        size: Option<u64>,
        first: u64,
        len: u64,
    ) -> io::Result<Self> {
        let path = path.to_owned();
        let file = tokio::task::spawn_blocking(move || {
            let mut file = crate::cassette::blob_file::open_regular(&path)?;
            if let Some(size) = size {
                let held = file.metadata()?.len();
                if held != size {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("it holds {held} bytes, the cassette recorded {size}"),
                    ));
                }
            }
            file.seek(SeekFrom::Start(first))?;
            Ok::<_, io::Error>(file)
        })
        .await
        .expect("the open task does not panic")?;
        Ok(FileBody {
            file: Some(file),
            unread: len,
            unsent: len,
            reading: None,
            piece: PIECE,
        })
    }

    /// Reads in pieces of `piece` bytes (at least 1) instead.
    pub(crate) fn in_pieces_of(mut self, piece: u64) -> Self {
        self.piece = piece.max(1);
        self
    }

    /// As [`Self::open`], checking that the opened file holds `size` bytes.
    pub(crate) async fn open_sized(
        path: &Path,
        size: u64,
        first: u64,
        len: u64,
    ) -> io::Result<Self> {
        Self::open_checked(path, Some(size), first, len).await
    }

    fn read_ahead(&mut self) {
        if self.unread == 0 || self.reading.is_some() {
            return;
        }
        let Some(mut file) = self.file.take() else {
            return;
        };
        let piece = self.unread.min(self.piece);
        self.unread -= piece;
        self.reading = Some(tokio::task::spawn_blocking(move || {
            let mut buffer = vec![0; piece as usize];
            let read = file.read_exact(&mut buffer).map(|()| Bytes::from(buffer));
            (file, read)
        }));
    }
}

impl HttpBody for FileBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        this.read_ahead();
        let Some(reading) = this.reading.as_mut() else {
            return Poll::Ready(None);
        };
        let (file, read) = ready!(Pin::new(reading).poll(cx)).expect("reads do not panic");
        this.reading = None;
        this.file = Some(file);
        match read {
            Ok(piece) => {
                this.unsent -= piece.len() as u64;
                this.read_ahead();
                Poll::Ready(Some(Ok(Frame::data(piece))))
            }
            Err(err) => {
                this.unread = 0;
                Poll::Ready(Some(Err(err.into())))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.unsent == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.unsent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn a_slice_streams_in_pieces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blob");
        let bytes: Vec<u8> = (0..(PIECE * 2 + 10)).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        let body = FileBody::open(&path, 5, PIECE + 100).await.unwrap();
        assert_eq!(body.size_hint().exact(), Some(PIECE + 100));
        let got = body.collect().await.unwrap().to_bytes();
        assert_eq!(&got[..], &bytes[5..5 + (PIECE + 100) as usize]);
    }

    #[tokio::test]
    async fn a_file_shorter_than_promised_fails_the_body() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blob");
        std::fs::write(&path, b"short").unwrap();
        let body = FileBody::open(&path, 0, 10).await.unwrap();
        assert!(body.collect().await.is_err());
    }
}
