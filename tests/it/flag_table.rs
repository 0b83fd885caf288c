//! The flag table of docs/command-line.md against `dsvcr <command> --help`, both ways: every flag, its value
//! name, the commands it belongs to and its default.

use std::collections::BTreeMap;

use crate::process::*;

const TABLE_FILE: &str = "docs/command-line.md";
const DOC: &str = include_str!("../../docs/command-line.md");
const COMMANDS: [&str; 6] = ["replay", "record", "check", "inspect", "completions", "man"];

/// (command, flag or positional) → (value name, default). A required flag's default is
/// `(required)`, as the table writes it; no default is the empty string.
type Flags = BTreeMap<(String, String), (String, String)>;

fn documented_flags() -> Flags {
    let table = DOC
        .split_once("\n| flag | commands | default | meaning |\n|---|---|---|---|\n")
        .unwrap_or_else(|| panic!("{TABLE_FILE} has no flag table"))
        .1;
    let mut flags = Flags::new();
    for row in table.lines().take_while(|line| line.starts_with('|')) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let default = cells[3].trim_matches('`');
        for spelled in cells[1].split(", ") {
            let spelled = spelled.trim_matches('`');
            let (name, value) = spelled.split_once(' ').unwrap_or((spelled, ""));
            for command in cells[2].split(", ") {
                let key = (command.to_owned(), name.to_owned());
                let entry = (value.to_owned(), default.to_owned());
                assert!(flags.insert(key, entry).is_none(), "{spelled} twice");
            }
        }
    }
    flags
}

fn help_flags() -> Flags {
    let mut flags = Flags::new();
    for command in COMMANDS {
        let (code, help, stderr) = run_to_exit(&[command, "--help"]);
        assert_eq!(code, 0, "{stderr}");
        flags.extend(parse_help(command, &help));
    }
    flags
}

/// The options and arguments of one command's long help, less clap's own `--help`.
fn parse_help(command: &str, help: &str) -> Flags {
    let usage = help
        .lines()
        .find_map(|line| line.strip_prefix("Usage: "))
        .unwrap();
    let mut flags = Flags::new();
    let mut current: Option<(String, String)> = None;
    for line in help.lines() {
        if let Some((name, value)) = item(line) {
            let key = (command.to_owned(), name.clone());
            let required = name.starts_with("--") && usage.contains(&format!(" {name} "));
            let default = if required { "(required)" } else { "" };
            flags.insert(key, (value, default.to_owned()));
            current = Some((command.to_owned(), name));
        } else if let (Some(default), Some(key)) = (default_in(line), current.as_ref()) {
            flags.get_mut(key).unwrap().1 = default.to_owned();
        }
    }
    flags.remove(&(command.to_owned(), "--help".to_owned()));
    flags
}

/// `      --listen <ADDR>` → (`--listen`, `ADDR`); `  [DIR]` → (`DIR`, ``).
fn item(line: &str) -> Option<(String, String)> {
    let indent = line.len() - line.trim_start().len();
    if !(2..=6).contains(&indent) {
        return None;
    }
    let text = line.trim_start();
    let text = text.strip_prefix("-h, ").unwrap_or(text);
    if text.starts_with("--") {
        let (name, value) = text.split_once(' ').unwrap_or((text, ""));
        let value = value.trim_start_matches('<').trim_end_matches('>');
        return Some((name.to_owned(), value.to_owned()));
    }
    let positional = text
        .trim_start_matches(['[', '<'])
        .trim_end_matches([']', '>']);
    (positional.len() + 2 == text.len()).then(|| (positional.to_owned(), String::new()))
}

fn default_in(line: &str) -> Option<&str> {
    line.trim().strip_prefix("[default: ")?.strip_suffix(']')
}

#[test]
fn the_flag_table_is_what_help_says() {
    let documented = documented_flags();
    let help = help_flags();
    let only_in = |a: &Flags, b: &Flags| -> Vec<String> {
        a.iter()
            .filter(|(key, value)| b.get(*key) != Some(*value))
            .map(|((command, name), (value, default))| {
                format!("{command} {name} {value} (default {default:?})")
            })
            .collect()
    };
    assert_eq!(
        (only_in(&documented, &help), only_in(&help, &documented)),
        (Vec::new(), Vec::new()),
        "(in {TABLE_FILE}'s flag table but not in --help, in --help but not in the table)"
    );
    assert!(documented.len() > 30, "the table was read: {documented:?}");
}

#[test]
fn help_is_read_as_written() {
    let flags = parse_help(
        "record",
        "Usage: dsvcr record [OPTIONS] --upstream <URL>\n\nOptions:\n      --upstream <URL>\n          The lab\n\n      --cassettes <DIR>\n          Folder\n          \n          [default: cassettes]\n\n      --insecure\n          Off\n\n  -h, --help\n          Print help\n",
    );
    let expected: Flags = [
        ("--upstream", "URL", "(required)"),
        ("--cassettes", "DIR", "cassettes"),
        ("--insecure", "", ""),
    ]
    .into_iter()
    .map(|(name, value, default)| {
        (
            ("record".to_owned(), name.to_owned()),
            (value.to_owned(), default.to_owned()),
        )
    })
    .collect();
    assert_eq!(flags, expected);
}
