//! File descriptors: the connections and blob files the limits allow must fit under the
//! process's open-file limit with some kept for the listener (accepting a connection,
//! writing a cassette, logging), or a flood of downloads makes `accept` fail and every
//! other client waits.

use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};

use super::limits::DownloadLimits;

/// Descriptors kept for the listener and dsvcr's own files, whatever the budgets say.
pub(crate) const RESERVED_FDS: u64 = 64;

/// What one connection and one download hold: a client socket, and in record an upstream
/// socket per connection and per download.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Usage {
    pub(crate) per_connection: u64,
    pub(crate) per_download: u64,
}

impl Usage {
    pub(crate) const REPLAY: Usage = Usage {
        per_connection: 1,
        per_download: 0,
    };
    pub(crate) const RECORD: Usage = Usage {
        per_connection: 2,
        per_download: 1,
    };
}

/// The connection limit and download budgets a run can honour: the open-file limit is
/// raised (up to the hard limit) to hold them and [`RESERVED_FDS`]; what still does not fit
/// is cut, with a warning that says what and why.
pub(crate) fn fit(
    max_connections: usize,
    downloads: DownloadLimits,
    usage: Usage,
) -> (usize, DownloadLimits) {
    let limit = getrlimit(Resource::Nofile);
    let soft = limit.current.unwrap_or(u64::MAX);
    let needed = needed(max_connections, downloads, usage);
    let mut available = soft;
    if needed > soft {
        let raised = limit.maximum.unwrap_or(u64::MAX).min(needed);
        let wanted = Rlimit {
            current: Some(raised),
            maximum: limit.maximum,
        };
        if setrlimit(Resource::Nofile, wanted).is_ok() {
            available = raised;
        }
    }
    let (connections, fitted) = plan(available, max_connections, downloads, usage);
    if (connections, fitted) != (max_connections, downloads) {
        tracing::warn!(
            "the open-file limit ({available}) cannot hold --max-connections {max_connections}, --max-downloads {} and --max-open-blobs {} with {RESERVED_FDS} descriptors kept for the listener: serving at most {connections} connections, {} downloads and {} open blobs; raise the limit (ulimit -n) for more",
            downloads.max_downloads,
            downloads.max_open_blobs,
            fitted.max_downloads,
            fitted.max_open_blobs
        );
    }
    (connections, fitted)
}

fn needed(max_connections: usize, downloads: DownloadLimits, usage: Usage) -> u64 {
    RESERVED_FDS
        .saturating_add(usage.per_connection.saturating_mul(max_connections as u64))
        .saturating_add(downloads.max_open_blobs as u64)
        .saturating_add(
            usage
                .per_download
                .saturating_mul(downloads.max_downloads as u64),
        )
}

/// The limits cut to fit `available` descriptors: blob files take at most a quarter of
/// what is left after the reserve, connections the rest; each keeps at least 1.
fn plan(
    available: u64,
    max_connections: usize,
    downloads: DownloadLimits,
    usage: Usage,
) -> (usize, DownloadLimits) {
    if needed(max_connections, downloads, usage) <= available {
        return (max_connections, downloads);
    }
    let left = available.saturating_sub(RESERVED_FDS);
    let blobs = (downloads.max_open_blobs as u64).min(left / 4).max(1);
    let fetching = (downloads.max_downloads as u64).min(blobs);
    let for_connections = left.saturating_sub(blobs + usage.per_download * fetching);
    let connections = (for_connections / usage.per_connection)
        .min(max_connections as u64)
        .max(1);
    let fitted = DownloadLimits {
        max_downloads: fetching as usize,
        max_open_blobs: blobs as usize,
        buffer_bytes: downloads.buffer_bytes,
    };
    (connections as usize, fitted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_that_fit_are_kept() {
        let downloads = DownloadLimits::default();
        assert_eq!(
            plan(1 << 20, 1024, downloads, Usage::RECORD),
            (1024, downloads)
        );
        assert_eq!(needed(1024, downloads, Usage::REPLAY), 64 + 1024 + 128);
    }

    /// Found by a hostile review: under the common limit of 1024, 1024 connections and
    /// one open blob per download left no descriptor to accept with.
    #[test]
    fn under_1024_descriptors_the_listener_keeps_its_reserve() {
        let downloads = DownloadLimits::default();
        let (connections, fitted) = plan(1024, 1024, downloads, Usage::REPLAY);
        assert_eq!(fitted.max_open_blobs, 128);
        assert_eq!(fitted.max_downloads, 64);
        assert_eq!(connections, 1024 - 64 - 128);
        assert_eq!(needed(connections, fitted, Usage::REPLAY), 1024);
        let (connections, fitted) = plan(1024, 1024, downloads, Usage::RECORD);
        assert_eq!(needed(connections, fitted, Usage::RECORD), 1024);
        assert_eq!(connections, (1024 - 64 - 128 - 64) / 2);
        let (connections, fitted) = plan(100, 1024, downloads, Usage::REPLAY);
        assert_eq!((connections, fitted.max_open_blobs), (27, 9));
        assert_eq!(fitted.max_downloads, 9);
    }
}
