//! Every relative link of README.md and docs/*.md points at a file that exists, and every
//! `#anchor` into a Markdown file at one of its headings (GitHub's anchors).

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use crate::readme::{document, documents};

const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");

/// GitHub's anchor for a heading: lowercase, spaces to `-`, punctuation other than `-` and `_`
/// dropped.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            '-' | '_' => Some(c),
            c if c.is_alphanumeric() => Some(c),
            _ => None,
        })
        .collect()
}

/// The lines of `text` outside fenced blocks.
fn prose(text: &str) -> Vec<&str> {
    let mut fenced = false;
    text.lines()
        .filter(|line| {
            if line.starts_with("```") {
                fenced = !fenced;
                return false;
            }
            !fenced
        })
        .collect()
}

/// The anchors of `text`'s headings; a repeated heading gets `-1`, `-2`… as on GitHub.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for line in prose(text) {
        let Some(heading) = line.strip_prefix('#') else {
            continue;
        };
        let base = anchor(heading.trim_start_matches('#'));
        let mut name = base.clone();
        let mut n = 0;
        while !found.insert(name.clone()) {
            n += 1;
            name = format!("{base}-{n}");
        }
    }
    found
}

/// The targets of the inline links `[text](target)` in `text`'s prose, code spans aside.
fn links(text: &str) -> Vec<String> {
    let mut targets = Vec::new();
    for paragraph in prose(text).join("\n").split("\n\n") {
        let outside_code: String = paragraph.split('`').step_by(2).collect::<Vec<_>>().join("");
        let mut rest = outside_code.as_str();
        while let Some(at) = rest.find("](") {
            rest = &rest[at + 2..];
            let end = rest.find(')').expect("a link target ends with ')'");
            targets.push(rest[..end].trim().to_owned());
            rest = &rest[end..];
        }
    }
    targets
}

/// `path` with `.` and `..` resolved, lexically.
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// What is wrong with the relative links of `file` (relative to `root`), one line each.
fn broken_links(root: &Path, file: &str, text: &str) -> Vec<String> {
    let mut broken = Vec::new();
    for target in links(text) {
        if target.contains("://") || target.starts_with("mailto:") {
            continue;
        }
        let (path, fragment) = target.split_once('#').unwrap_or((&target, ""));
        if path.is_empty() {
            if !anchors(text).contains(fragment) {
                broken.push(format!("{file}: {target}: no heading #{fragment}"));
            }
            continue;
        }
        let resolved = normalise(&Path::new(file).parent().unwrap_or(Path::new("")).join(path));
        let on_disk = root.join(&resolved);
        if !on_disk.exists() {
            broken.push(format!("{file}: {target}: no file {}", resolved.display()));
            continue;
        }
        let is_markdown = resolved.extension().is_some_and(|ext| ext == "md");
        if fragment.is_empty() || !is_markdown {
            continue;
        }
        let target_text = std::fs::read_to_string(&on_disk).expect("a linked file reads");
        if !anchors(&target_text).contains(fragment) {
            broken.push(format!("{file}: {target}: no heading #{fragment}"));
        }
    }
    broken
}

#[test]
fn every_relative_link_in_the_docs_points_at_a_file_and_heading() {
    let root = Path::new(MANIFEST_DIR);
    let mut checked = 0;
    let mut broken = Vec::new();
    for file in documents() {
        let text = document(&file);
        checked += links(&text).len();
        broken.extend(broken_links(root, &file, &text));
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
    assert!(checked > 40, "the links were read: {checked}");
}

#[test]
fn anchors_are_made_as_github_makes_them() {
    assert_eq!(anchor(" The forms of `get`"), "the-forms-of-get");
    assert_eq!(
        anchor(" Everything else: the tape"),
        "everything-else-the-tape"
    );
    assert_eq!(
        anchor(" govc and pyvmomi (vim25 SOAP)"),
        "govc-and-pyvmomi-vim25-soap"
    );
    assert_eq!(anchor(" VMware's Python SDK"), "vmwares-python-sdk");
    let repeated = anchors("# A\n\n## A\n```sh\n# not a heading\n```\n");
    assert_eq!(repeated, BTreeSet::from(["a".to_owned(), "a-1".to_owned()]));
}

#[test]
fn broken_links_and_anchors_are_found() {
    let root = Path::new(MANIFEST_DIR);
    let text = "See [ok](recording.md#which-mode-to-use), [up](../README.md#install), \
                [here](#intro) and `[code](nowhere.md)`.\n\n# Intro\n\n\
                [gone](nowhere.md), [bad](recording.md#no-such-heading), [web](https://x.example/y).\n";
    assert_eq!(
        broken_links(root, "docs/example.md", text),
        [
            "docs/example.md: nowhere.md: no file docs/nowhere.md",
            "docs/example.md: recording.md#no-such-heading: no heading #no-such-heading",
        ]
    );
}
