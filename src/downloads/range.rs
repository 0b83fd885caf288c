//! The `Range` header of a byte request (RFC 9110 §14): one byte range is served as a
//! part; several ranges, other units and malformed values are answered with the whole
//! body, which the RFC allows.

use http::header::RANGE;
use http::HeaderMap;

/// What part of a body of `total` bytes a request asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wanted {
    Whole,
    /// First and last byte, inclusive.
    Part {
        first: u64,
        last: u64,
    },
    Unsatisfiable,
}

pub(crate) fn wanted(headers: &HeaderMap, total: u64) -> Wanted {
    let Some(spec) = headers
        .get(RANGE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().strip_prefix("bytes="))
        .filter(|spec| !spec.contains(','))
    else {
        return Wanted::Whole;
    };
    let Some((first, last)) = spec.split_once('-') else {
        return Wanted::Whole;
    };
    match (first.trim(), last.trim()) {
        ("", suffix) => match suffix.parse::<u64>() {
            Ok(0) => Wanted::Unsatisfiable,
            Ok(_) if total == 0 => Wanted::Unsatisfiable,
            Ok(suffix) => Wanted::Part {
                first: total.saturating_sub(suffix),
                last: total - 1,
            },
            Err(_) => Wanted::Whole,
        },
        (first, last) => {
            let Ok(first) = first.parse::<u64>() else {
                return Wanted::Whole;
            };
            let last = match last {
                "" => u64::MAX,
                last => match last.parse::<u64>() {
                    Ok(last) if last >= first => last,
                    _ => return Wanted::Whole,
                },
            };
            if first >= total {
                return Wanted::Unsatisfiable;
            }
            Wanted::Part {
                first,
                last: last.min(total - 1),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(range: &str, total: u64) -> Wanted {
        let mut headers = HeaderMap::new();
        headers.insert(RANGE, range.parse().unwrap());
        wanted(&headers, total)
    }

    #[test]
    fn one_range_is_a_part() {
        assert_eq!(of("bytes=0-9", 100), Wanted::Part { first: 0, last: 9 });
        assert_eq!(
            of("bytes=90-", 100),
            Wanted::Part {
                first: 90,
                last: 99
            }
        );
        assert_eq!(
            of("bytes=90-500", 100),
            Wanted::Part {
                first: 90,
                last: 99
            }
        );
        assert_eq!(
            of("bytes=-10", 100),
            Wanted::Part {
                first: 90,
                last: 99
            }
        );
        assert_eq!(of("bytes=-500", 100), Wanted::Part { first: 0, last: 99 });
    }

    #[test]
    fn ranges_past_the_end_are_unsatisfiable() {
        assert_eq!(of("bytes=100-", 100), Wanted::Unsatisfiable);
        assert_eq!(of("bytes=-0", 100), Wanted::Unsatisfiable);
        assert_eq!(of("bytes=-5", 0), Wanted::Unsatisfiable);
    }

    #[test]
    fn everything_else_gets_the_whole_body() {
        assert_eq!(wanted(&HeaderMap::new(), 100), Wanted::Whole);
        for range in [
            "bytes=0-1,5-6",
            "items=0-1",
            "bytes=5-1",
            "bytes=x-",
            "bytes",
        ] {
            assert_eq!(of(range, 100), Wanted::Whole, "{range}");
        }
    }
}
