//! `dsvcr completions SHELL` and `dsvcr man`: the shell completion scripts and the man
//! page, generated from the command line's own definition so they never drift from it.

use std::io::{self, Write};

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;

/// Writes the completion script for `shell` to `out`.
pub(crate) fn completions(shell: Shell, out: &mut impl Write) -> io::Result<()> {
    // Made in memory first: clap_complete panics when its writer fails (`| head`).
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "dsvcr", &mut script);
    out.write_all(&script)
}

/// Writes the man page (roff): the synopsis, the description with the exit codes, and
/// each subcommand with its flags, in one page.
pub(crate) fn man(out: &mut impl Write) -> io::Result<()> {
    let command = Cli::command();
    let man = clap_mangen::Man::new(command.clone());
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    man.render_subcommands_section(out)?;
    for sub in command.get_subcommands().filter(|sub| !sub.is_hide_set()) {
        let name = format!("dsvcr {}", sub.get_name());
        writeln!(out, ".SH \\fB{}\\fR", name.to_uppercase())?;
        let page = clap_mangen::Man::new(sub.clone().bin_name(name.clone()).display_name(name));
        let mut section = Vec::new();
        page.render_synopsis_section(&mut section)?;
        page.render_description_section(&mut section)?;
        page.render_options_section(&mut section)?;
        out.write_all(&as_subsections(&section))?;
    }
    man.render_version_section(out)
}

/// A subcommand's sections as subsections (`.SS`) of its own section in the one page.
fn as_subsections(roff: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(roff);
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        match line.strip_prefix(".SH ") {
            Some(heading) => out.push_str(&format!(".SS {heading}\n")),
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out.into_bytes()
}
