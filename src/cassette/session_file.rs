//! Session cassettes: loading, validating and writing one download session's file.

use super::*;

/// Download-session cassettes live in this subfolder of the cassette folder.
pub(crate) const SUBFOLDER: &str = "download-session";

impl Cassette {
    /// A new cassette with no timeline yet.
    pub(crate) fn new(id: SessionId, recorded: Recorded) -> Self {
        Cassette {
            id,
            recorded,
            create: None,
            timelines: Vec::new(),
            downloads: Vec::new(),
        }
    }

    /// The timeline of `op` (for `file`), if recorded.
    pub(crate) fn track(&self, op: Op, file: Option<&str>) -> Option<&Track> {
        self.timelines
            .iter()
            .find(|track| track.op == op && track.file_name.as_deref() == file)
    }

    /// Appends `answer` to the timeline of `op` (for `file`), raising the last entry's
    /// repeat count when it is the same answer again.
    pub(crate) fn append(&mut self, op: Op, file: Option<&str>, answer: Answer) {
        let position = self
            .timelines
            .iter()
            .position(|track| track.op == op && track.file_name.as_deref() == file);
        let track = match position {
            Some(index) => &mut self.timelines[index],
            None => {
                self.timelines.push(Track {
                    op,
                    file_name: file.map(str::to_owned),
                    responses: Vec::new(),
                });
                self.timelines.sort_by(|a, b| {
                    (a.op, a.file_name.as_deref()).cmp(&(b.op, b.file_name.as_deref()))
                });
                self.timelines
                    .iter_mut()
                    .find(|track| track.op == op && track.file_name.as_deref() == file)
                    .expect("just added")
            }
        };
        extend(&mut track.responses, answer);
    }

    /// Parses and validates a cassette file's bytes; `path` is the file they came from.
    pub(crate) fn from_file_bytes(path: &Path, bytes: &[u8]) -> Result<Self, CassetteError> {
        let fail = |problem| CassetteError::new(path, problem);
        // A UTF-8 file that leads with its format (as every written one does) is parsed
        // once, its text checked once rather than string by string; any other, and any
        // that fails, goes the long way, for the same error.
        let fast = std::str::from_utf8(bytes)
            .ok()
            .and_then(|text| match leading_format(bytes) {
                Some(1) => Self::from_format_one(serde_json::from_str(text).ok()?).ok(),
                Some(2) => Self::from_format_two(serde_json::from_str(text).ok()?).ok(),
                _ => None,
            });
        let cassette = match fast {
            Some(cassette) => cassette,
            None => Self::from_any_format(bytes).map_err(fail)?,
        };
        let stem = path.file_stem().and_then(|stem| stem.to_str());
        if !stem.is_some_and(|stem| cassette.id.is_file_stem(stem)) {
            return Err(fail(Problem::Invalid(format!(
                "holds id {:?}, so its file name must be {}.json",
                cassette.id.as_str(),
                cassette.id.file_stem()
            ))));
        }
        cassette.validate().map_err(|reason| fail(reason.into()))?;
        Ok(cassette)
    }

    /// Reads the format version first, then parses the file as that format.
    pub(super) fn from_any_format(bytes: &[u8]) -> Result<Self, Problem> {
        let version: Version = serde_json::from_slice(bytes)?;
        Ok(match version.format {
            1 => Self::from_format_one(serde_json::from_slice(bytes)?)?,
            2 => Self::from_format_two(serde_json::from_slice(bytes)?)?,
            other => Err(format!(
                "format {other} is not known; this dsvcr reads formats {OLDEST_FORMAT} to {FORMAT_VERSION}"
            ))?,
        })
    }

    pub(super) fn from_format_one(mut one: FormatOne) -> Result<Self, String> {
        if one.operation != Op::Get.full_name() {
            return Err(format!(
                "operation {:?} is not {:?}",
                one.operation,
                Op::Get.full_name()
            ));
        }
        // serde grows the timeline from room for 4 entries; most hold one, and a large
        // folder is held in memory whole while it loads.
        one.responses.shrink_to_fit();
        Ok(Cassette {
            id: one.id,
            recorded: one.recorded,
            create: None,
            timelines: vec![Track {
                op: Op::Get,
                file_name: None,
                responses: one.responses,
            }],
            downloads: Vec::new(),
        })
    }

    pub(super) fn from_format_two(two: FormatTwo) -> Result<Self, String> {
        let timelines = two
            .timelines
            .into_iter()
            .enumerate()
            .map(|(index, raw)| {
                let op = Op::from_full_name(&raw.operation).ok_or_else(|| {
                    format!(
                        "timelines[{index}].operation {:?} is not an operation dsvcr knows",
                        raw.operation
                    )
                })?;
                let mut responses = raw.responses;
                responses.shrink_to_fit();
                Ok(Track {
                    op,
                    file_name: raw.file_name,
                    responses,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Cassette {
            id: two.id,
            recorded: two.recorded,
            create: two.create,
            timelines,
            downloads: two.downloads,
        })
    }

    pub(super) fn validate(&self) -> Result<(), String> {
        validate_recorded(&self.recorded)?;
        if self.timelines.is_empty() && self.create.is_none() {
            return Err(
                "timelines is empty and there is no create; a cassette needs one".to_owned(),
            );
        }
        if let Some(create) = &self.create {
            if create.library_item_id.is_empty() {
                return Err("create.library_item_id is empty".to_owned());
            }
        }
        for (index, track) in self.timelines.iter().enumerate() {
            self.validate_track(track)
                .map_err(|reason| format!("timelines[{index}] ({}): {reason}", track.op.label()))?;
        }
        // Sets, not a scan of the earlier entries: a cassette with 20 000 timelines
        // loaded in 50 s that way.
        let mut seen = std::collections::HashSet::with_capacity(self.timelines.len());
        for (index, track) in self.timelines.iter().enumerate() {
            if !seen.insert((track.op, track.file_name.as_deref())) {
                return Err(format!(
                    "timelines[{index}] repeats the timeline of {} for the same file",
                    track.op.label()
                ));
            }
        }
        let mut files = std::collections::HashSet::with_capacity(self.downloads.len());
        for (index, download) in self.downloads.iter().enumerate() {
            validate_download(download)
                .map_err(|reason| format!("downloads[{index}]: {reason}"))?;
            if !files.insert(download.file_name.as_str()) {
                return Err(format!(
                    "downloads[{index}] repeats file {:?}",
                    download.file_name
                ));
            }
        }
        Ok(())
    }

    /// Records `download` as the bytes of its file, replacing an earlier one.
    pub(crate) fn set_download(&mut self, download: Download) {
        self.downloads
            .retain(|earlier| earlier.file_name != download.file_name);
        self.downloads.push(download);
        self.downloads.sort_by(|a, b| a.file_name.cmp(&b.file_name));
    }

    pub(super) fn validate_track(&self, track: &Track) -> Result<(), String> {
        match (track.op.key(), &track.file_name) {
            (Key::Session, None) => {}
            (Key::SessionFile, Some(name)) if !name.is_empty() => {}
            (Key::SessionFile, _) => return Err("needs a non-empty file_name".to_owned()),
            (Key::Session, Some(_)) => return Err("takes no file_name".to_owned()),
            (Key::Create | Key::ItemFilter | Key::Lookup, _) => {
                return Err("is not an operation on one session".to_owned())
            }
        }
        validate_responses(track.op, &track.responses, |answer| {
            self.validate_answer(answer, track.file_name.as_deref())
        })
    }

    pub(super) fn validate_answer(
        &self,
        answer: &Answer,
        file: Option<&str>,
    ) -> Result<(), String> {
        match answer {
            Answer::Session(session) => self.validate_session(session),
            Answer::File(info) => match file {
                Some(file) if info.name != file => Err(format!(
                    "file name {:?} is not the timeline's file_name {file:?}",
                    info.name
                )),
                _ => validate_file(info),
            },
            Answer::Files(files) => files.iter().try_for_each(validate_file),
            _ => Ok(()),
        }
    }

    pub(super) fn validate_session(&self, session: &DownloadSession) -> Result<(), String> {
        if let Some(id) = session.id.as_deref().filter(|id| *id != self.id.as_str()) {
            return Err(format!(
                "id {id:?} is not the cassette's id {:?}",
                self.id.as_str()
            ));
        }
        if let Some(progress) = session.client_progress.filter(|p| !(0..=100).contains(p)) {
            return Err(format!(
                "client_progress {progress} is not between 0 and 100"
            ));
        }
        if let Some(time) = &session.expiration_time {
            crate::timeshift::check(time).map_err(|reason| format!("expiration_time: {reason}"))?;
        }
        Ok(())
    }

    /// The file's bytes: format 2, pretty JSON, stable key order, one trailing newline.
    pub(crate) fn to_file_bytes(&self) -> Vec<u8> {
        let two = FormatTwo {
            format: FORMAT_VERSION,
            id: self.id.clone(),
            recorded: self.recorded.clone(),
            create: self.create.clone(),
            timelines: self
                .timelines
                .iter()
                .map(|track| RawTrack {
                    operation: track.op.full_name().to_owned(),
                    file_name: track.file_name.clone(),
                    responses: track.responses.clone(),
                })
                .collect(),
            downloads: self.downloads.clone(),
        };
        pretty(&two)
    }
}

pub(super) fn validate_file(info: &FileInfo) -> Result<(), String> {
    if info.name.is_empty() {
        return Err("a file info has an empty name".to_owned());
    }
    for (field, value) in [
        ("size", info.size),
        ("bytes_transferred", info.bytes_transferred),
    ] {
        if let Some(value) = value.filter(|value| *value < 0) {
            return Err(format!("file {:?}: {field} {value} is negative", info.name));
        }
    }
    Ok(())
}

pub(super) fn validate_download(download: &Download) -> Result<(), String> {
    if download.file_name.is_empty() {
        return Err("file_name is empty".to_owned());
    }
    if download.status != 200 {
        return Err(format!(
            "status {} is not 200; only whole bodies are recorded",
            download.status
        ));
    }
    if !blobs::is_digest(&download.sha256) {
        return Err(format!(
            "sha256 {:?} is not 64 lowercase hex digits",
            download.sha256
        ));
    }
    if let Some(kind) = &download.content_type {
        http::HeaderValue::from_str(kind)
            .map_err(|_| format!("content_type {kind:?} is not a valid header value"))?;
    }
    Ok(())
}

/// Every entry is an error or the operation's own output, and there is at least one.
pub(super) fn validate_responses(
    op: Op,
    responses: &[Entry],
    mut check: impl FnMut(&Answer) -> Result<(), String>,
) -> Result<(), String> {
    if responses.is_empty() {
        return Err("responses is empty; a timeline needs at least one".to_owned());
    }
    for (index, entry) in responses.iter().enumerate() {
        let fits = match entry.answer.output() {
            None => true,
            Some(output) => output == op.output(),
        };
        if !fits {
            return Err(format!(
                "responses[{index}] is not what {} answers",
                op.label()
            ));
        }
        check(&entry.answer).map_err(|reason| format!("responses[{index}]: {reason}"))?;
    }
    Ok(())
}

pub(super) fn validate_recorded(recorded: &Recorded) -> Result<(), String> {
    if crate::timeshift::parse_utc(&recorded.at).is_none() {
        return Err(format!(
            "recorded.at {:?} is not an RFC 3339 UTC time like 2026-11-29T01:17:35Z",
            recorded.at
        ));
    }
    Ok(())
}
