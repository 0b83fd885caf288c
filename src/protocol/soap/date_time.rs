//! vim25's `dateTime`s as vCenter writes them: RFC 3339 in UTC, the fraction of a second
//! without its trailing zeros (what `time`'s `Rfc3339` writes), written straight into an
//! answer (a login writes two; through `time`'s formatter they cost a tenth of its
//! instructions).

use time::OffsetDateTime;

/// Appends `at`, in UTC, to `out`: `2026-12-07T03:51:20.123456789Z`.
pub(crate) fn push_date_time(out: &mut String, at: OffsetDateTime) {
    let at = if at.offset().is_utc() {
        at
    } else {
        at.to_offset(time::UtcOffset::UTC)
    };
    let mut text = *b"0000-00-00T00:00:00.000000000Z";
    // A year beyond 9999 has no RFC 3339 form; the clock never reads one.
    put_digits(
        &mut text[0..4],
        u32::try_from(at.year()).unwrap_or(0).min(9999),
    );
    put_digits(&mut text[5..7], u32::from(u8::from(at.month())));
    put_digits(&mut text[8..10], u32::from(at.day()));
    put_digits(&mut text[11..13], u32::from(at.hour()));
    put_digits(&mut text[14..16], u32::from(at.minute()));
    put_digits(&mut text[17..19], u32::from(at.second()));
    let mut end = 19;
    let mut nanos = at.nanosecond();
    if nanos != 0 {
        let mut width = 9;
        while nanos % 10 == 0 {
            nanos /= 10;
            width -= 1;
        }
        put_digits(&mut text[20..20 + width], nanos);
        end = 20 + width;
    }
    text[end] = b'Z';
    out.push_str(std::str::from_utf8(&text[..=end]).expect("ASCII"));
}

/// `value`'s last `slot.len()` decimal digits, zero-padded, into `slot`.
fn put_digits(slot: &mut [u8], value: u32) {
    let mut rest = value;
    for digit in slot.iter_mut().rev() {
        *digit = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::format_description::well_known::Rfc3339;

    fn written(at: OffsetDateTime) -> String {
        let mut out = String::new();
        push_date_time(&mut out, at);
        out
    }

    #[test]
    fn writes_what_rfc3339_formatting_writes() {
        let base = OffsetDateTime::from_unix_timestamp(1_796_269_880).unwrap();
        let mut nanos: u32 = 0;
        for step in 0..2000u32 {
            // Every width of fraction, trailing zeros included, and whole seconds.
            nanos = nanos.wrapping_mul(7919).wrapping_add(step * 104_729) % 1_000_000_000;
            let trimmed = nanos - nanos % 10u32.pow(step % 10);
            let at = (base + time::Duration::seconds(i64::from(step) * 86_337))
                .replace_nanosecond(trimmed)
                .unwrap();
            assert_eq!(written(at), at.format(&Rfc3339).unwrap(), "{at:?}");
        }
    }

    #[test]
    fn writes_in_utc_whatever_the_offset() {
        let at = OffsetDateTime::from_unix_timestamp(0)
            .unwrap()
            .to_offset(time::UtcOffset::from_hms(5, 30, 0).unwrap());
        assert_eq!(written(at), "1970-01-01T00:00:00Z");
    }
}
