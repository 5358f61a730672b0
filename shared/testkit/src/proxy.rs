//! A TCP proxy in front of the test broker that a test can cut, to drop a worker's
//! connection or keep it from reconnecting, without touching the broker other tests
//! share.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// Forwards connections from a loopback port to the broker of `AMQP_URL`.
pub struct BrokerProxy {
    listen: SocketAddr,
    upstream: String,
    state: Arc<Mutex<ProxyState>>,
}

struct ProxyState {
    /// Cancelled to close the listener and every forwarded connection.
    running: CancellationToken,
    /// `false` while the proxy holds every byte instead of forwarding it.
    flowing: tokio::sync::watch::Sender<bool>,
}

impl BrokerProxy {
    /// Starts forwarding from a free loopback port.
    pub async fn start() -> BrokerProxy {
        let upstream = broker_address();
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free loopback port");
        let listen = listener.local_addr().expect("a bound address");
        let running = CancellationToken::new();
        let (flowing, flow) = tokio::sync::watch::channel(true);
        tokio::spawn(forward(listener, upstream.clone(), running.clone(), flow));
        BrokerProxy {
            listen,
            upstream,
            state: Arc::new(Mutex::new(ProxyState { running, flowing })),
        }
    }

    /// Keeps every connection open but forwards nothing, either way, until
    /// [`BrokerProxy::resume`]: a broker that stops answering without closing.
    pub fn stall(&self) {
        self.state().flowing.send_replace(false);
    }

    /// Forwards again what was held and what comes next.
    pub fn resume(&self) {
        self.state().flowing.send_replace(true);
    }

    fn state(&self) -> std::sync::MutexGuard<'_, ProxyState> {
        self.state.lock().expect("the proxy lock is never poisoned")
    }

    /// `AMQP_URL` with its host and port replaced by the proxy's.
    pub fn amqp_url(&self) -> String {
        let url = crate::amqp_url();
        let (scheme, rest) = url.split_once("://").expect("AMQP_URL has a scheme");
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let credentials = authority
            .rsplit_once('@')
            .map_or(String::new(), |(credentials, _)| format!("{credentials}@"));
        format!("{scheme}://{credentials}{}/{path}", self.listen)
    }

    /// Drops every forwarded connection and refuses new ones until [`BrokerProxy::restore`].
    pub fn cut(&self) {
        self.state().running.cancel();
    }

    /// Accepts connections again, on the same port, as soon as the cut listener has
    /// let go of it.
    pub async fn restore(&self) {
        let mut attempts = 0;
        let listener = loop {
            match TcpListener::bind(self.listen).await {
                Ok(listener) => break listener,
                Err(_) if attempts < 100 => {
                    attempts += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
                Err(error) => panic!("the proxy's port stays taken: {error}"),
            }
        };
        let running = CancellationToken::new();
        let mut state = self.state();
        let flow = state.flowing.subscribe();
        tokio::spawn(forward(
            listener,
            self.upstream.clone(),
            running.clone(),
            flow,
        ));
        state.running = running;
    }
}

impl Drop for BrokerProxy {
    fn drop(&mut self) {
        self.cut();
    }
}

/// The `host:port` of `AMQP_URL`.
fn broker_address() -> String {
    let url = crate::amqp_url();
    let rest = url.split_once("://").map_or(url.as_str(), |(_, rest)| rest);
    let authority = rest.split('/').next().unwrap_or(rest);
    let host_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:5672")
    }
}

async fn forward(
    listener: TcpListener,
    upstream: String,
    running: CancellationToken,
    flow: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            () = running.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((client, _)) = accepted else {
            continue;
        };
        let upstream = upstream.clone();
        let running = running.clone();
        let flow = flow.clone();
        tokio::spawn(async move {
            let Ok(broker) = TcpStream::connect(&upstream).await else {
                return;
            };
            let (from_client, to_client) = client.into_split();
            let (from_broker, to_broker) = broker.into_split();
            tokio::select! {
                () = running.cancelled() => {}
                () = pump(from_client, to_broker, flow.clone()) => {}
                () = pump(from_broker, to_client, flow) => {}
            }
        });
    }
}

/// Copies bytes from `from` to `to` while the flow is on; what it reads while the flow
/// is off it holds until the flow is on again.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut flow: tokio::sync::watch::Receiver<bool>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buffer = vec![0; 16 * 1024];
    loop {
        let Ok(read) = from.read(&mut buffer).await else {
            return;
        };
        if read == 0 || flow.wait_for(|flowing| *flowing).await.is_err() {
            return;
        }
        if to.write_all(&buffer[..read]).await.is_err() {
            return;
        }
    }
}
