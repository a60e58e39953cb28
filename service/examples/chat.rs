//! A line chat server: each line a client sends goes to every other client.
//!
//! `cargo run -p ringo-service --example chat [addr]`, then `nc 127.0.0.1 7070`
//! in two terminals. One runtime (one thread) holds every client, so the
//! room is a plain `Rc<RefCell<..>>`; each client's outgoing lines wait in a
//! bounded channel, and a client too slow to drain it misses lines rather
//! than growing memory.

use std::cell::RefCell;
use std::rc::Rc;

use ringo_proto::codec::LinesCodec;
use ringo_proto::Framed;
use ringo_reactor::net::{TcpListener, TcpStream};
use ringo_reactor::sync::mpsc;

/// Lines queued for one client before it misses some.
const BACKLOG: usize = 64;

type Room = Rc<RefCell<Vec<(u64, mpsc::Sender<String>)>>>;

/// Accepts clients on `listener` forever.
pub async fn serve(listener: TcpListener) -> std::io::Result<()> {
    let room = Room::default();
    for id in 0.. {
        let (stream, _) = listener.accept().await?;
        ringo_reactor::spawn(client(id, stream, room.clone()));
    }
    Ok(())
}

async fn client(id: u64, stream: TcpStream, room: Room) {
    let (mut lines, mut out) = Framed::new(Rc::new(stream), LinesCodec::new()).split();
    let (tx, mut rx) = mpsc::channel::<String>(BACKLOG);
    room.borrow_mut().push((id, tx));
    ringo_reactor::spawn(async move {
        while let Some(line) = rx.recv().await {
            if out.send(line).await.is_err() {
                break;
            }
        }
    });
    while let Some(Ok(line)) = lines.next().await {
        for (_, peer) in room.borrow().iter().filter(|(peer, _)| *peer != id) {
            let _ = peer.try_send(format!("{id}: {line}"));
        }
    }
    room.borrow_mut().retain(|(peer, _)| *peer != id); // ends the writer task
}

#[allow(dead_code)] // the tests include this file for `serve`
fn main() -> std::io::Result<()> {
    env_logger::init();
    let addr = std::env::args().nth(1).unwrap_or("127.0.0.1:7070".into());
    ringo_reactor::run(async { serve(TcpListener::bind(addr)?).await })
}
