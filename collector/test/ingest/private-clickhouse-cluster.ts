/**
 * A two-shard ClickHouse cluster on this machine for the cluster-mode tests: two private
 * clickhouse-server processes (`private-clickhouse.ts`: own ports and data directories), one
 * replica per shard, both registered with the same ZooKeeper (which 18.16 needs for every
 * `ON CLUSTER` statement and for Replicated tables) and both defining the cluster in
 * `remote_servers`. Each node has the `{shard}` / `{replica}` macros the store's Replicated
 * tables use. The shared server (127.0.0.1:8123) is not involved.
 */
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { createPrivateClickHouse, freePort, type PrivateClickHouse } from './private-clickhouse.js';

/** ZooKeeper the nodes register with: `host:port`, ONCEFLOW_TEST_ZOOKEEPER overrides (CI starts Debian's zookeeperd on 2181). */
export const ZOOKEEPER = process.env.ONCEFLOW_TEST_ZOOKEEPER ?? '127.0.0.1:2181';

/** Resolves when ZooKeeper answers the `srvr` four-letter command (the one 3.5+ allows by default). */
export function probeZooKeeper(address = ZOOKEEPER, timeoutMs = 2000): Promise<void> {
  const [host, port] = address.split(':');
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port: Number(port) });
    let answer = '';
    const fail = (error: Error) => {
      socket.destroy();
      reject(error);
    };
    socket.setTimeout(timeoutMs, () => fail(new Error(`ZooKeeper at ${address}: no answer within ${timeoutMs} ms`)));
    socket.once('error', (error) => fail(new Error(`ZooKeeper at ${address}: ${error.message}`)));
    socket.once('connect', () => socket.write('srvr'));
    socket.on('data', (chunk) => (answer += chunk.toString()));
    socket.once('end', () => {
      socket.destroy();
      if (answer.includes('Zookeeper version')) resolve();
      else reject(new Error(`ZooKeeper at ${address} answered ${JSON.stringify(answer.slice(0, 80))}`));
    });
  });
}

export interface PrivateCluster {
  /** The cluster's name in both nodes' `remote_servers`. */
  name: string;
  /** One node per shard, in shard order. */
  nodes: PrivateClickHouse[];
  dispose(): Promise<void>;
}

const nodeConfig = (options: { zookeeper: string; ddlPath: string; shard: number; interserverPort: number; shards: string }) => {
  const [host, port] = options.zookeeper.split(':');
  return `
  <zookeeper><node><host>${host}</host><port>${port}</port></node></zookeeper>
  <distributed_ddl><path>${options.ddlPath}</path></distributed_ddl>
  <macros><shard>${options.shard}</shard><replica>node${options.shard}</replica></macros>
  <interserver_http_port>${options.interserverPort}</interserver_http_port>
  <interserver_http_host>127.0.0.1</interserver_http_host>
  <remote_servers>${options.shards}</remote_servers>
  <!-- A server stops only once idle keep-alive connections (the /ping fetch's) are gone: ~1 s instead of ~8. -->
  <keep_alive_timeout>1</keep_alive_timeout>`;
};

/** Starts a cluster of `shards` nodes (one replica each); resolves once every node answers /ping. */
export async function createPrivateCluster(shards = 2, zookeeper = ZOOKEEPER): Promise<PrivateCluster> {
  // A name and DDL queue of its own: runs of this test (and other users of the ZooKeeper) never see each other's tasks.
  const name = `onceflow_test_${randomBytes(4).toString('hex')}`;
  const ports = [];
  for (let i = 0; i < shards; i++) ports.push({ http: await freePort(), tcp: await freePort(), interserver: await freePort() });
  const shardsXml = ports
    .map(
      ({ tcp }) =>
        `<shard><internal_replication>true</internal_replication><replica><host>127.0.0.1</host><port>${tcp}</port></replica></shard>`,
    )
    .join('');
  const nodes: PrivateClickHouse[] = [];
  const cluster: PrivateCluster = {
    name,
    nodes,
    async dispose() {
      await Promise.all(nodes.map((node) => node.dispose()));
    },
  };
  try {
    for (const [i, port] of ports.entries()) {
      const extraConfig = nodeConfig({
        zookeeper,
        ddlPath: `/onceflow_test/${name}/ddl`,
        shard: i + 1,
        interserverPort: port.interserver,
        shards: `<${name}>${shardsXml}</${name}>`,
      });
      nodes.push(await createPrivateClickHouse({ httpPort: port.http, tcpPort: port.tcp, extraConfig }));
    }
    await Promise.all(nodes.map((node) => node.start()));
    return cluster;
  } catch (error) {
    await cluster.dispose();
    throw error;
  }
}
