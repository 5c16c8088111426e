//! A real SMTP server (aiosmtpd from the project venv) storing mail in a maildir.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running SMTP sink; killed on drop.
pub struct SmtpSink {
    child: Child,
    /// Port it listens on (127.0.0.1).
    pub port: u16,
    dir: tempfile::TempDir,
}

fn python() -> PathBuf {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        venv.exists(),
        "{} missing: run `bash .ci/test` once (it creates the venv)",
        venv.display()
    );
    venv
}

fn spawn(dir: &Path, port: u16) -> (Child, u16) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_sink.py");
    let mut child = Command::new(python())
        .arg(script)
        .arg(dir.join("maildir"))
        .arg(port.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start smtp sink");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read port");
    let port = line
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("smtp sink printed {line:?}, not a port"));
    (child, port)
}

impl SmtpSink {
    /// Starts a sink and waits until it accepts connections.
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let (child, port) = spawn(dir.path(), 0);
        Self { child, port, dir }
    }

    /// Brings a stopped sink back on the same port and maildir (the end of an SMTP outage).
    pub fn restart(&mut self) {
        self.stop();
        let (child, port) = spawn(self.dir.path(), self.port);
        assert_eq!(port, self.port);
        self.child = child;
    }

    /// Every message received so far, as raw RFC 5322 text.
    pub fn messages(&self) -> Vec<String> {
        let new = self.dir.path().join("maildir/new");
        let Ok(entries) = std::fs::read_dir(new) else {
            return Vec::new();
        };
        let mut out: Vec<String> = entries
            .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
            .collect();
        out.sort();
        out
    }

    /// Every message received so far, in the order the server received them (the maildir names
    /// its files `<seconds>.M<micros>P<pid>Q<counter>...`; the counter counts deliveries).
    pub fn messages_in_order(&self) -> Vec<String> {
        let new = self.dir.path().join("maildir/new");
        let Ok(entries) = std::fs::read_dir(new) else {
            return Vec::new();
        };
        let counter = |name: &str| -> u64 {
            let after = name.split_once('Q').map(|(_, rest)| rest).unwrap_or_default();
            let digits: String = after.chars().take_while(|c| c.is_ascii_digit()).collect();
            digits.parse().unwrap_or(u64::MAX)
        };
        let mut out: Vec<(u64, String)> = entries
            .filter_map(|e| {
                let path = e.ok()?.path();
                let name = path.file_name()?.to_str()?.to_string();
                Some((counter(&name), std::fs::read_to_string(&path).ok()?))
            })
            .collect();
        out.sort();
        out.into_iter().map(|(_, text)| text).collect()
    }

    /// Waits until at least `n` messages arrived, or panics at the deadline.
    pub fn wait_for(&self, n: usize, deadline: Duration) -> Vec<String> {
        let start = Instant::now();
        loop {
            let messages = self.messages();
            if messages.len() >= n {
                return messages;
            }
            assert!(
                start.elapsed() < deadline,
                "{} messages after {deadline:?}, wanted {n}",
                messages.len()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the server (an SMTP outage); `messages` still reads what arrived.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
    }
}
