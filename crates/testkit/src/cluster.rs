//! A JetStream cluster of real nats-servers on loopback, for tests that kill nodes.

use std::time::{Duration, Instant};

use crate::process::free_port;
use crate::{ClusterNode, NatsServer, ServerOptions};

/// How long the cluster may take to elect its JetStream leaders.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// `size` servers routed to each other, each with its own store; stopped on drop.
#[derive(Debug)]
pub struct NatsCluster {
    pub nodes: Vec<NatsServer>,
}

impl NatsCluster {
    /// Starts the nodes and waits until JetStream answers through each of them.
    pub async fn start(size: usize) -> Self {
        let route_ports: Vec<u16> = (0..size).map(|_| free_port()).collect();
        let mut nodes = Vec::with_capacity(size);
        for (index, route_port) in route_ports.iter().enumerate() {
            let routes = route_ports
                .iter()
                .filter(|port| *port != route_port)
                .copied()
                .collect();
            let options = ServerOptions {
                cluster: Some(ClusterNode {
                    cluster: "test".to_owned(),
                    name: format!("n{index}"),
                    route_port: *route_port,
                    routes,
                }),
                ..ServerOptions::default()
            };
            nodes.push(NatsServer::start_with(options).await);
        }
        let cluster = Self { nodes };
        for index in 0..size {
            cluster.wait_for_jetstream(index).await;
        }
        cluster
    }

    /// Waits until JetStream answers through node `index` (a meta leader is elected).
    pub async fn wait_for_jetstream(&self, index: usize) {
        let deadline = Instant::now() + READY_TIMEOUT;
        let node = &self.nodes[index];
        loop {
            if let Ok(client) = async_nats::connect(node.url()).await {
                let js = async_nats::jetstream::new(client);
                if js.query_account().await.is_ok() {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "JetStream of cluster node {index} not ready within {READY_TIMEOUT:?}; log:\n{}",
                node.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Every node's URL, comma-separated: a client's seed list.
    pub fn url(&self) -> String {
        self.nodes
            .iter()
            .map(NatsServer::url)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// A client that may use any node.
    pub async fn client(&self) -> async_nats::Client {
        let servers: Vec<String> = self.nodes.iter().map(NatsServer::url).collect();
        async_nats::ConnectOptions::new()
            .retry_on_initial_connect()
            .connect(servers)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to the cluster: {e}"))
    }
}
