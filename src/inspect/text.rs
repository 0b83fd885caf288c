//! `inspect`'s text listing: a summary line, then one block per kind of cassette, the
//! blobs and the problems, one line each, columns aligned within a block.

use std::fmt::Write;

use super::{Inspection, JournalView, OperationView, SessionView};

pub(super) fn render(inspection: &Inspection) -> String {
    let mut out = String::new();
    let blobs = &inspection.blobs;
    let _ = writeln!(
        out,
        "{}: {}, {}, {}, {} ({}), {}",
        inspection.folder.display(),
        count(inspection.sessions.len(), "session"),
        count(inspection.calls.len(), "call cassette"),
        count(inspection.tapes.len(), "tape"),
        count(blobs.count, "blob"),
        count(usize::try_from(blobs.bytes).unwrap_or(usize::MAX), "byte"),
        count(inspection.problems.len(), "problem"),
    );
    out.push_str("\nsessions\n");
    if inspection.sessions.is_empty() {
        out.push_str("  none\n");
    }
    for session in &inspection.sessions {
        session_block(&mut out, session);
    }
    out.push_str("\ncalls\n");
    let rows: Vec<[String; 4]> = inspection
        .calls
        .iter()
        .map(|call| {
            [
                format!("{} {}", call.operation, call.key),
                count(
                    usize::try_from(call.answers).unwrap_or(usize::MAX),
                    "answer",
                ),
                joined(&call.statuses),
                file_and_journal(&call.file, call.journal.as_ref()),
            ]
        })
        .collect();
    table(&mut out, "  ", &rows);
    out.push_str("\ntape\n");
    let rows: Vec<[String; 4]> = inspection
        .tapes
        .iter()
        .map(|tape| {
            [
                format!("{} {}", tape.method, tape.path),
                count(
                    usize::try_from(tape.answers).unwrap_or(usize::MAX),
                    "answer",
                ),
                joined(&tape.statuses),
                file_and_journal(&tape.file, tape.journal.as_ref()),
            ]
        })
        .collect();
    table(&mut out, "  ", &rows);
    let orphans = if blobs.orphans.is_empty() {
        "none".to_owned()
    } else {
        blobs.orphans.join(", ")
    };
    let _ = writeln!(
        out,
        "\nblobs\n  {}, {}, orphans: {orphans}",
        count(blobs.count, "blob"),
        count(usize::try_from(blobs.bytes).unwrap_or(usize::MAX), "byte"),
    );
    out.push_str("\nproblems\n");
    if inspection.problems.is_empty() {
        out.push_str("  none\n");
    }
    for problem in &inspection.problems {
        let _ = writeln!(out, "  {problem}");
    }
    out
}

fn session_block(out: &mut String, session: &SessionView) {
    let item = session.library_item.as_deref().unwrap_or("unknown");
    let _ = writeln!(
        out,
        "  {}  library item {item}  recorded {}  ({})",
        session.id,
        session.recorded_at,
        file_and_journal(&session.file, session.journal.as_ref())
    );
    let rows: Vec<[String; 4]> = session
        .operations
        .iter()
        .map(|operation| {
            [
                operation_name(operation),
                count(
                    usize::try_from(operation.answers).unwrap_or(usize::MAX),
                    "answer",
                ),
                joined(&operation.statuses),
                String::new(),
            ]
        })
        .collect();
    table(out, "    ", &rows);
    for file in &session.files {
        let blob = if file.blob_present {
            "blob present"
        } else {
            "blob MISSING"
        };
        let _ = writeln!(
            out,
            "    file {:?}: {}, {blob} ({})",
            file.name,
            count(usize::try_from(file.size).unwrap_or(usize::MAX), "byte"),
            file.sha256
        );
    }
}

fn operation_name(operation: &OperationView) -> String {
    match &operation.file {
        Some(file) => format!("{} {file:?}", operation.operation),
        None => operation.operation.to_owned(),
    }
}

/// Rows with their columns padded to the widest cell; trailing blanks trimmed.
fn table(out: &mut String, indent: &str, rows: &[[String; 4]]) {
    if rows.is_empty() {
        let _ = writeln!(out, "{indent}none");
        return;
    }
    let mut widths = [0; 4];
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    for row in rows {
        let mut line = indent.to_owned();
        for (cell, width) in row.iter().zip(widths) {
            let _ = write!(line, "{cell:width$}  ");
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
}

/// `1 answer`, `3 answers`.
fn count(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

fn joined(statuses: &[u16]) -> String {
    statuses
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A cassette's file, and its journal when one adds answers to it.
fn file_and_journal(file: &std::path::Path, journal: Option<&JournalView>) -> String {
    match journal {
        None => file.display().to_string(),
        Some(journal) => format!(
            "{} + {}: {}",
            file.display(),
            journal.file.display(),
            count(journal.answers, "answer")
        ),
    }
}
