//! Time shifting for replay: every date-time in a replayed session moves by one offset,
//! the time between when its cassette was first recorded (`recorded.at`) and when the
//! replay started. A session that expired five minutes after it was recorded then
//! expires five minutes after the replay started, and a timeline keeps its intervals.
//!
//! A shifted date-time is written in the style it came in: the same number of
//! fractional-second digits and the same zone suffix (`Z`, `+02:00`, or none, which is
//! read as UTC and written back without a zone).

use std::borrow::Cow;

use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, UtcOffset};

use crate::vapi::DownloadSession;

/// An example of the style a date-time must have, for error messages.
const EXAMPLE: &str = "2026-11-02T10:05:00.000Z";

/// Whether `text` is a date-time dsvcr can shift; Err names what is wrong.
pub(crate) fn check(text: &str) -> Result<(), String> {
    // Date-times are ASCII; a pattern's digit class could match other scripts' digits.
    if !text.is_ascii() {
        return Err(format!(
            "{text:?} is not a date-time: it holds non-ASCII characters"
        ));
    }
    // What `shift` by nothing checks, without writing the result.
    shifted(text, Duration::ZERO).map(drop)
}

/// `text` as an RFC 3339 UTC time (`Z` zone, upper-case `T`), as cassettes write
/// `recorded.at`.
pub(crate) fn parse_utc(text: &str) -> Option<OffsetDateTime> {
    let utc_form = text.is_ascii() && text.ends_with('Z') && text.as_bytes().get(10) == Some(&b'T');
    if !utc_form {
        return None;
    }
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .filter(|time| time.offset().is_utc() && time.second() < 60)
}

/// The offset to add to a cassette's times: `replay_start - recorded_at`.
pub(crate) fn offset(recorded_at: &str, replay_start: OffsetDateTime) -> Result<Duration, String> {
    let recorded =
        DateTime::parse(recorded_at).map_err(|reason| format!("recorded.at: {reason}"))?;
    Ok(replay_start - recorded.instant)
}

/// `text` moved by `offset`, written in the same style it came in: same number of
/// fractional-second digits, and the same zone suffix (`Z`, `+02:00`, or none — a time
/// without a zone is taken as UTC and written back without one). Err with a reason
/// naming `text` if it is not such a date-time, or if the result is out of range.
pub(crate) fn shift(text: &str, offset: Duration) -> Result<String, String> {
    let (parsed, moved) = shifted(text, offset)?;
    Ok(parsed.write(moved))
}

/// `text` parsed, and its instant moved by `offset` into its own zone.
fn shifted(text: &str, offset: Duration) -> Result<(DateTime, OffsetDateTime), String> {
    let parsed = DateTime::parse(text)?;
    let moved = parsed
        .instant
        .checked_add(offset)
        .and_then(|moved| moved.checked_to_offset(parsed.zone.offset()))
        .filter(|moved| (0..=9999).contains(&moved.year()))
        .ok_or_else(|| format!("{text:?} shifted by {offset} is out of range"))?;
    Ok((parsed, moved))
}

/// Shifts every date-time field of the session model in place: `expiration_time`, and
/// the `dt` of each localization parameter in `error_message.params` (nested messages'
/// parameters included). On Err the session is left unchanged.
pub(crate) fn shift_session(session: &mut DownloadSession, offset: Duration) -> Result<(), String> {
    let mut shifted = session.clone();
    if let Some(expiration_time) = &mut shifted.expiration_time {
        *expiration_time = shift(expiration_time, offset)
            .map_err(|reason| format!("expiration_time: {reason}"))?;
    }
    let params = shifted
        .error_message
        .as_mut()
        .and_then(|message| message.params.as_mut());
    if let Some(params) = params {
        shift_params(params, offset, "error_message.params")?;
    }
    *session = shifted;
    Ok(())
}

/// Shifts the `dt` (date-time) of each `com.vmware.vapi.std.localization_param` in
/// `params`, and of the parameters of its `nested` message; `at` names `params` in
/// error messages.
fn shift_params(params: &mut Map<String, Value>, offset: Duration, at: &str) -> Result<(), String> {
    for (name, param) in params.iter_mut() {
        let at = format!("{at}.{name}");
        if let Some(Value::String(dt)) = param.get_mut("dt") {
            *dt = shift(dt, offset).map_err(|reason| format!("{at}.dt: {reason}"))?;
        }
        let nested = param
            .get_mut("nested")
            .and_then(|nested| nested.get_mut("params"));
        if let Some(Value::Object(nested)) = nested {
            shift_params(nested, offset, &format!("{at}.nested.params"))?;
        }
    }
    Ok(())
}

/// How a date-time's zone was written.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Zone {
    /// No zone: read as UTC, written back without one.
    None,
    /// `Z` or `z`, kept as written.
    Utc(char),
    /// A numeric offset such as `+02:00`, kept as written.
    Offset(UtcOffset, String),
}

impl Zone {
    fn offset(&self) -> UtcOffset {
        match self {
            Zone::None | Zone::Utc(_) => UtcOffset::UTC,
            Zone::Offset(offset, _) => *offset,
        }
    }
}

/// The text before the zone, and the zone: `Z`/`z`, a numeric `±hh:mm` offset, or none.
fn split_zone(text: &str) -> Option<(&str, Zone)> {
    if let Some(rest) = text.strip_suffix(['Z', 'z']) {
        let z = char::from(*text.as_bytes().last()?);
        return Some((rest, Zone::Utc(z)));
    }
    let (rest, offset) = text.split_at(text.len().checked_sub(6)?);
    let bytes = offset.as_bytes();
    let numeric = matches!(bytes[0], b'+' | b'-')
        && bytes[3] == b':'
        && [1, 2, 4, 5].iter().all(|&i| bytes[i].is_ascii_digit());
    if numeric && rest.len() >= 19 {
        let hours: i8 = offset[1..3].parse().ok()?;
        let minutes: i8 = offset[4..6].parse().ok()?;
        let sign = if bytes[0] == b'-' { -1 } else { 1 };
        let parsed = UtcOffset::from_hms(sign * hours, sign * minutes, 0).ok()?;
        return Some((rest, Zone::Offset(parsed, offset.to_owned())));
    }
    Some((text, Zone::None))
}

/// A parsed date-time and the style it was written in.
struct DateTime {
    instant: OffsetDateTime,
    separator: char,
    fraction_digits: usize,
    zone: Zone,
}

impl DateTime {
    /// Parses `text` with the `time` crate's RFC 3339 parser, after noting the style it
    /// is written in (separator, fraction digits, zone) and spelling a zone-less time as
    /// UTC.
    fn parse(text: &str) -> Result<Self, String> {
        let unlike =
            || format!("{text:?} is not a date-time like {EXAMPLE} or 2013-06-06T22:13:05");
        // Every accepted spelling is ASCII; anything else (e.g. other scripts' digits) is not
        // a date-time, and byte indexing below stays on character boundaries.
        if !text.is_ascii() || text.len() < 19 {
            return Err(unlike());
        }
        let separator = char::from(text.as_bytes()[10]);
        if !matches!(separator, 'T' | 't') {
            return Err(unlike());
        }
        let (rest, zone) = split_zone(text).ok_or_else(unlike)?;
        let fraction_digits = match rest.get(19..) {
            None | Some("") => 0,
            Some(fraction) => {
                let digits = fraction.strip_prefix('.').ok_or_else(unlike)?;
                if digits.is_empty() || digits.len() > 9 {
                    return Err(unlike());
                }
                digits.len()
            }
        };
        let zoned = match &zone {
            Zone::None => Cow::Owned(format!("{rest}Z")),
            Zone::Utc(_) | Zone::Offset(..) => Cow::Borrowed(text),
        };
        let instant = OffsetDateTime::parse(&zoned, &Rfc3339).map_err(|err| match err {
            time::error::Parse::TryFromParsed(range) => {
                format!("{text:?} is not a valid date-time: {range}")
            }
            _ => unlike(),
        })?;
        Ok(DateTime {
            instant,
            separator,
            fraction_digits,
            zone,
        })
    }

    /// `instant` (already in this date-time's offset) written in this style. Digits
    /// beyond the style's fraction are cut off.
    fn write(&self, instant: OffsetDateTime) -> String {
        let mut text = format!(
            "{:04}-{:02}-{:02}{}{:02}:{:02}:{:02}",
            instant.year(),
            u8::from(instant.month()),
            instant.day(),
            self.separator,
            instant.hour(),
            instant.minute(),
            instant.second(),
        );
        if self.fraction_digits > 0 {
            let nanos = format!("{:09}", instant.nanosecond());
            text.push('.');
            text.push_str(&nanos[..self.fraction_digits]);
        }
        match &self.zone {
            Zone::None => {}
            Zone::Utc(z) => text.push(*z),
            Zone::Offset(_, written) => text.push_str(written),
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vapi::model::SessionState;
    use time::format_description::well_known::Rfc3339;

    /// A replay start, e.g. `at("2031-07-15T08:30:12.345678901Z")`.
    fn at(rfc3339: &str) -> OffsetDateTime {
        OffsetDateTime::parse(rfc3339, &Rfc3339).unwrap()
    }

    fn session(expiration_time: Option<&str>) -> DownloadSession {
        DownloadSession {
            client_progress: Some(10),
            error_message: None,
            expiration_time: expiration_time.map(str::to_owned),
            id: Some("obj-105".to_owned()),
            library_item_content_version: Some("7".to_owned()),
            library_item_id: "3d1e5f7a-9b2c-4d6e-8f0a-1b3c5d7e9f2a".to_owned(),
            state: SessionState::Active,
        }
    }

    #[test]
    fn every_style_keeps_its_format() {
        let offset = Duration::days(1) + Duration::hours(2) + Duration::milliseconds(1500);
        for (before, after) in [
            // The reference page: no zone, read as UTC and written without one.
            ("2013-06-06T22:13:05", "2013-06-08T00:13:06"),
            // vCenter: milliseconds and Z.
            ("2026-11-02T10:05:00.000Z", "2026-11-03T12:05:01.500Z"),
            ("2026-11-02T10:05:00Z", "2026-11-03T12:05:01Z"),
            (
                "2026-11-02T10:05:00.123456+02:00",
                "2026-11-03T12:05:01.623456+02:00",
            ),
            (
                "2026-11-02T10:05:00.123456789-05:30",
                "2026-11-03T12:05:01.623456789-05:30",
            ),
        ] {
            assert_eq!(shift(before, offset).unwrap(), after, "{before}");
        }
        assert_eq!(
            shift("2026-12-31t23:59:59z", Duration::seconds(1)).unwrap(),
            "2027-01-01t00:00:00z",
            "lower-case separators are kept"
        );
    }

    #[test]
    fn a_zero_offset_changes_nothing_and_a_negative_one_moves_back() {
        for text in [
            "2013-06-06T22:13:05",
            "2026-11-02T10:05:00.000Z",
            "2026-11-02T10:05:00Z",
            "2026-11-02T10:05:00.123456+02:00",
        ] {
            assert_eq!(shift(text, Duration::ZERO).unwrap(), text);
        }
        assert_eq!(
            shift("2026-03-01T00:00:00.000Z", -Duration::milliseconds(1)).unwrap(),
            "2026-02-28T23:59:59.999Z"
        );
    }

    #[test]
    fn digits_beyond_the_style_are_cut_off() {
        let offset = Duration::nanoseconds(1_999_999);
        assert_eq!(
            shift("2026-11-02T10:05:00.000Z", offset).unwrap(),
            "2026-11-02T10:05:00.001Z"
        );
        assert_eq!(
            shift("2026-11-02T10:05:00Z", offset).unwrap(),
            "2026-11-02T10:05:00Z"
        );
    }

    #[test]
    fn an_expiration_five_minutes_after_recording_stays_five_minutes_after_the_replay_start() {
        let replay_start = at("2031-07-15T08:30:12.345678901Z");
        let by = offset("2026-11-02T10:00:00Z", replay_start).unwrap();
        let mut shifted = session(Some("2026-11-02T10:05:00.000Z"));
        shift_session(&mut shifted, by).unwrap();
        assert_eq!(
            shifted.expiration_time.as_deref(),
            Some("2031-07-15T08:35:12.345Z")
        );
        assert_eq!(
            shifted,
            DownloadSession {
                expiration_time: Some("2031-07-15T08:35:12.345Z".to_owned()),
                ..session(None)
            },
            "nothing else changes"
        );

        // The reference page's session, recorded 5 minutes before it expires.
        let by = offset("2013-06-06T22:08:05Z", replay_start).unwrap();
        assert_eq!(
            shift("2013-06-06T22:13:05", by).unwrap(),
            "2031-07-15T08:35:12"
        );
    }

    #[test]
    fn a_timeline_keeps_its_intervals() {
        let replay_start = at("2027-01-01T00:00:00Z");
        let offset = offset("2026-11-02T10:00:00Z", replay_start).unwrap();
        let mut timeline: Vec<DownloadSession> = [
            "2026-11-02T10:05:00.000Z",
            "2026-11-02T10:05:10.000Z",
            "2026-11-02T10:05:20.000Z",
        ]
        .into_iter()
        .map(|time| session(Some(time)))
        .collect();
        for session in &mut timeline {
            shift_session(session, offset).unwrap();
        }
        let times: Vec<_> = timeline
            .iter()
            .map(|session| session.expiration_time.as_deref().unwrap())
            .collect();
        assert_eq!(
            times,
            [
                "2027-01-01T00:05:00.000Z",
                "2027-01-01T00:05:10.000Z",
                "2027-01-01T00:05:20.000Z",
            ]
        );
    }

    #[test]
    fn date_time_localization_params_move_too() {
        let by = Duration::days(10);
        let mut shifted = session(Some("2026-11-02T10:05:00.000Z"));
        shifted.error_message = Some(
            serde_json::from_value(serde_json::json!({
                "args": ["a.ova"],
                "default_message": "a.ova could not be read at 11/2/26 10:01 AM.",
                "id": "com.vmware.vdcs.cls-main.file_read_error",
                "params": {
                    "file": { "s": "a.ova" },
                    "when": { "dt": "2026-11-02T10:01:00.000Z", "format": "SHORT_DATE_TIME" },
                    "cause": {
                        "nested": {
                            "id": "x.cause",
                            "params": { "since": { "dt": "2026-11-02T09:00:00Z" } }
                        }
                    }
                }
            }))
            .unwrap(),
        );
        shift_session(&mut shifted, by).unwrap();
        assert_eq!(
            shifted.expiration_time.as_deref(),
            Some("2026-11-12T10:05:00.000Z")
        );
        let message = serde_json::to_value(shifted.error_message.unwrap()).unwrap();
        assert_eq!(
            message["params"],
            serde_json::json!({
                "file": { "s": "a.ova" },
                "when": { "dt": "2026-11-12T10:01:00.000Z", "format": "SHORT_DATE_TIME" },
                "cause": {
                    "nested": {
                        "id": "x.cause",
                        "params": { "since": { "dt": "2026-11-12T09:00:00Z" } }
                    }
                }
            })
        );
        assert_eq!(
            message["default_message"], "a.ova could not be read at 11/2/26 10:01 AM.",
            "text is not rewritten"
        );

        let mut bad = session(Some("2026-11-02T10:05:00.000Z"));
        bad.error_message = Some(
            serde_json::from_value(serde_json::json!({
                "default_message": "m",
                "id": "i",
                "params": { "when": { "dt": "yesterday" } }
            }))
            .unwrap(),
        );
        let before = bad.clone();
        let err = shift_session(&mut bad, by).unwrap_err();
        assert!(
            err.starts_with("error_message.params.when.dt: \"yesterday\" is not a date-time"),
            "{err}"
        );
        assert_eq!(bad, before, "left unchanged, expiration_time included");
    }

    #[test]
    fn a_session_without_times_is_left_alone() {
        let mut unchanged = session(None);
        shift_session(&mut unchanged, Duration::days(400)).unwrap();
        assert_eq!(unchanged, session(None));
    }

    #[test]
    fn non_ascii_digits_are_not_a_date_time() {
        // U+0663 ARABIC-INDIC DIGIT THREE where a 3 belongs.
        let text = "2026-11-0\u{663}T10:05:00Z";
        let err = shift(text, Duration::ZERO).unwrap_err();
        assert_eq!(
            err,
            format!(
                "{text:?} is not a date-time like 2026-11-02T10:05:00.000Z or 2013-06-06T22:13:05"
            )
        );
    }

    #[test]
    fn garbage_is_refused_with_its_text() {
        for garbage in [
            "",
            "soon",
            "2026-11-02",
            "2026-11-02 10:05:00Z",
            "2026-11-02T10:05Z",
            "2026-11-02T10:05:00.Z",
            "2026-11-02T10:05:00.0000000000Z",
            "2026-11-02T10:05:00+0200",
            " 2026-11-02T10:05:00Z",
        ] {
            let err = shift(garbage, Duration::ZERO).unwrap_err();
            assert_eq!(
                err,
                format!("{garbage:?} is not a date-time like 2026-11-02T10:05:00.000Z or 2013-06-06T22:13:05")
            );
        }
        let err = shift("2026-02-30T10:05:00Z", Duration::ZERO).unwrap_err();
        assert!(
            err.starts_with("\"2026-02-30T10:05:00Z\" is not a valid date-time: "),
            "{err}"
        );
        let err = shift("2026-11-02T25:05:00Z", Duration::ZERO).unwrap_err();
        assert!(err.contains("\"2026-11-02T25:05:00Z\""), "{err}");
        let err = shift("9999-12-31T23:59:59Z", Duration::seconds(1)).unwrap_err();
        assert!(
            err.starts_with("\"9999-12-31T23:59:59Z\" shifted by"),
            "{err}"
        );
        assert!(err.ends_with("is out of range"), "{err}");

        let mut bad = session(Some("tomorrow"));
        let err = shift_session(&mut bad, Duration::ZERO).unwrap_err();
        assert!(err.starts_with("expiration_time: \"tomorrow\""), "{err}");
        assert_eq!(bad, session(Some("tomorrow")), "left unchanged");
    }

    #[test]
    fn a_bad_recorded_at_is_refused() {
        let err = offset("last year", OffsetDateTime::UNIX_EPOCH).unwrap_err();
        assert_eq!(
            err,
            "recorded.at: \"last year\" is not a date-time like 2026-11-02T10:05:00.000Z or 2013-06-06T22:13:05"
        );
        assert!(offset("2026-13-01T00:00:00Z", OffsetDateTime::UNIX_EPOCH).is_err());
        assert_eq!(
            offset("2026-11-02T10:00:00Z", at("2026-11-02T10:00:10Z")).unwrap(),
            Duration::seconds(10)
        );
        assert_eq!(
            offset("2026-11-02T12:00:00+02:00", at("2026-11-02T10:00:00Z")).unwrap(),
            Duration::ZERO,
            "a recorded.at with an offset is read in its offset"
        );
    }
}
