//! Reading a raw HTTP/1.1 request, for the one stub wiremock cannot express (a connection
//! dropped without an answer, in retry.rs); every other stub is a wiremock server.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// Read a request head (up to the blank line) and, when it announces one, its body.
pub async fn read_request(sock: &mut TcpStream) -> (String, Vec<u8>) {
    let mut buf = vec![0u8; 65536];
    let mut read = 0;
    let mut head_end = None;
    while let Ok(k) = sock.read(&mut buf[read..]).await {
        if k == 0 {
            break;
        }
        read += k;
        if let Some(i) = buf[..read].windows(4).position(|w| w == b"\r\n\r\n") {
            head_end = Some(i + 4);
            break;
        }
    }
    let Some(end) = head_end else {
        return (
            String::from_utf8_lossy(&buf[..read]).into_owned(),
            Vec::new(),
        );
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let len: usize = header(&head, "content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[end..read].to_vec();
    while body.len() < len {
        let mut more = vec![0u8; len - body.len()];
        match sock.read(&mut more).await {
            Ok(0) | Err(_) => break,
            Ok(k) => body.extend_from_slice(&more[..k]),
        }
    }
    (head, body)
}

/// Read a request head only.
pub async fn read_head(sock: &mut TcpStream) -> String {
    read_request(sock).await.0
}

/// The value of a header in a request head (case-insensitive name).
pub fn header(head: &str, name: &str) -> Option<String> {
    let prefix = format!("{}:", name.to_ascii_lowercase());
    head.lines()
        .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
        .map(|l| l[prefix.len()..].trim().to_owned())
}
