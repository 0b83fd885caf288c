//! A full disk and a read-only cassette folder, made real with a small tmpfs mount.
//! Needs root and mount(8); outside CI the test is skipped with a message when it cannot
//! mount, in CI (`CI` set) it fails.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::fake_vcenter::{FakeOptions, FakeVcenter};
use crate::support::*;

/// A tmpfs mounted for the test, unmounted when dropped.
struct SmallDisk {
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("disk");
        std::fs::create_dir(&path).unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&path)
            .output()
            .is_ok_and(|output| output.status.success());
        if !mounted {
            let why = "cannot mount a tmpfs (needs root and mount)";
            if std::env::var_os("CI").is_some() {
                panic!("the disk-full test cannot be skipped in CI: {why}");
            }
            eprintln!("skipping the disk-full test: {why}");
            return None;
        }
        Some(SmallDisk { path, _dir: dir })
    }

    fn remount_read_only(&self) {
        let status = Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(&self.path)
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.path).status();
    }
}

/// Fills what is left of the disk holding `dir`.
fn fill(dir: &Path) {
    use std::io::Write;
    let mut filler = std::fs::File::create(dir.join("filler")).unwrap();
    let block = vec![0u8; 1024];
    while filler
        .write_all(&block)
        .and_then(|()| filler.sync_all())
        .is_ok()
    {}
}

#[tokio::test]
async fn a_full_disk_or_read_only_folder_gets_500_and_damages_no_cassette() {
    let Some(disk) = SmallDisk::mount("256k") else {
        return;
    };
    let fake = FakeVcenter::start(FakeOptions {
        sessions: vec![("obj-1".into(), vec![10, 50, 100])],
        ..FakeOptions::default()
    })
    .await;
    let recorder = RecordSetup::to(&fake.url()).start(&disk.path).await;
    let path = format!("{API}/obj-1");
    assert_eq!(recorder.get(&path).await.status, 200);
    let cassette = disk.path.join("download-session/obj-1.json");
    let before = std::fs::read(&cassette).unwrap();

    fill(&disk.path);
    let full = recorder.get(&path).await;
    assert_eq!(full.status, 500, "{}", full.text());
    assert_eq!(
        full.header("x-dsvcr-synthetic"),
        Some("cassette-not-written")
    );
    assert_eq!(
        full.vapi_message(),
        format!(
            "cannot write {}: No space left on device (os error 28)",
            cassette.display()
        )
    );
    assert_eq!(
        std::fs::read(&cassette).unwrap(),
        before,
        "the cassette is intact"
    );

    std::fs::remove_file(disk.path.join("filler")).unwrap();
    disk.remount_read_only();
    let read_only = recorder.get(&path).await;
    assert_eq!(read_only.status, 500);
    assert!(
        read_only
            .vapi_message()
            .ends_with("Read-only file system (os error 30)"),
        "{}",
        read_only.vapi_message()
    );
    assert_eq!(
        std::fs::read(&cassette).unwrap(),
        before,
        "the cassette is intact"
    );
    let hidden: Vec<_> = std::fs::read_dir(disk.path.join("download-session"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(hidden, ["obj-1.json"], "no temp file is left behind");
    drop(recorder);
}
