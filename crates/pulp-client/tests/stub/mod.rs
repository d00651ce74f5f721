//! A tiny HTTP/1.1 stub server for the error paths a real Pulp cannot be made to produce.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

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

/// An answer: status, extra header lines (each ending in `\r\n`), body.
pub struct Answer {
    pub status: u16,
    pub headers: String,
    pub body: String,
}

impl Answer {
    pub fn json(status: u16, body: &str) -> Self {
        Self {
            status,
            headers: String::new(),
            body: body.to_owned(),
        }
    }
}

/// Serve `handler` on a loopback port; returns the base URL and the request heads seen.
pub async fn serve<H>(handler: H) -> (String, Arc<Mutex<Vec<String>>>)
where
    H: Fn(&str) -> Answer + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let heads = Arc::new(Mutex::new(Vec::new()));
    let seen = heads.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let (head, _body) = read_request(&mut sock).await;
            let a = handler(&head);
            seen.lock().unwrap().push(head);
            let resp = format!(
                "HTTP/1.1 {} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{}\r\n{}",
                a.status,
                a.body.len(),
                a.headers,
                a.body
            );
            let _ = sock.write_all(resp.as_bytes()).await;
            let _ = sock.shutdown().await;
        }
    });
    (format!("http://{addr}"), heads)
}
