//! The static-file cells' site: a directory holding a 4 KiB and a 1 MiB file,
//! served by ringo's `static_http` example and by nginx (`sendfile on`), and
//! the bytes the load generator expects back.

use std::io;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

/// The files served: URL path and size.
pub const FILES: [(&str, usize); 2] = [("/4k.bin", 4096), ("/1m.bin", 1 << 20)];

/// The contents of a served file of `len` bytes (deterministic).
pub fn contents(len: usize) -> Arc<[u8]> {
    static SMALL: OnceLock<Arc<[u8]>> = OnceLock::new();
    static LARGE: OnceLock<Arc<[u8]>> = OnceLock::new();
    let make = || -> Arc<[u8]> { (0..len).map(|i| b'a' + (i * 7 % 26) as u8).collect() };
    if len == FILES[0].1 {
        SMALL.get_or_init(make).clone()
    } else {
        LARGE.get_or_init(make).clone()
    }
}

/// The site's directory under the temp dir, written if missing.
pub fn root() -> io::Result<PathBuf> {
    let dir = std::env::temp_dir().join("ringo-bench-static");
    std::fs::create_dir_all(&dir)?;
    for (path, len) in FILES {
        let file = dir.join(path.trim_start_matches('/'));
        if !std::fs::metadata(&file).is_ok_and(|m| m.len() == len as u64) {
            std::fs::write(&file, &contents(len)[..])?;
        }
    }
    Ok(dir)
}

/// A shell script that writes an nginx config for the site and execs nginx on
/// the port the runner passes as `$2` (after `--port`): nginx cannot print the
/// address it listens on, so the runner picks the port.
pub fn nginx_script(nginx: &str, root: &std::path::Path) -> String {
    let work = std::env::temp_dir().join("ringo-bench-nginx");
    format!(
        r#"mkdir -p {work} && cat > {work}/nginx.conf <<CONF
daemon off;
master_process off;
worker_processes 1;
error_log stderr error;
pid {work}/nginx.pid;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000000;
    client_body_temp_path {work};
    proxy_temp_path {work};
    fastcgi_temp_path {work};
    uwsgi_temp_path {work};
    scgi_temp_path {work};
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:$2;
        root {root};
    }}
}}
CONF
exec {nginx} -p {work} -c {work}/nginx.conf"#,
        work = work.display(),
        root = root.display(),
    )
}
