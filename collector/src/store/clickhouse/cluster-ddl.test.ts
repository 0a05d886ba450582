/** The cluster layout of the schema as text, without a server (the server runs it in clickhouse-cluster.int.test.ts). */
import { describe, expect, it } from 'vitest';
import { SHARDING_KEYS, clusterLayout, ddlWaves } from './cluster-ddl.js';
import { TABLES, flowIndexStatements, schemaStatements } from './schema.js';
import { detectFeatures } from './server-features.js';
import { sqlDatabase } from './sql-escape.js';

const db = sqlDatabase('flows_db');
const layout = clusterLayout('two_shards', 'flows_db');
const statements = [...schemaStatements(db, detectFeatures('18.16.1'), layout), ...flowIndexStatements(db, layout)];

describe('cluster layout', () => {
  it('runs every statement ON CLUSTER', () => {
    for (const statement of statements) expect(statement.split('\n')[0]).toContain('ON CLUSTER `two_shards`');
  });

  it('stores every table as a replicated <t>_local behind a Distributed <t>', () => {
    for (const table of TABLES) {
      const local = statements.find((s) => s.startsWith(`CREATE TABLE IF NOT EXISTS \`flows_db\`.${table}_local `));
      expect(local, table).toMatch(
        new RegExp(`ENGINE = Replicated\\w+MergeTree\\('/clickhouse/tables/\\{shard\\}/flows_db/${table}_local', '\\{replica\\}'`),
      );
      const distributed = statements.find((s) => s.startsWith(`CREATE TABLE IF NOT EXISTS \`flows_db\`.${table} `));
      const key = SHARDING_KEYS[table];
      expect(distributed, table).toContain(`ENGINE = Distributed(\`two_shards\`, \`flows_db\`, ${table}_local${key ? `, ${key}` : ''})`);
    }
    // The version column of the replacing engines stays (the latest record / search hit wins).
    expect(statements.join('\n')).toContain(
      "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/flows_db/flows_local', '{replica}', version)",
    );
  });

  it('shards spans and flow records by conversation, so both land on one shard', () => {
    expect(SHARDING_KEYS.spans).toContain('conversation_id');
    expect(SHARDING_KEYS.flows).toBe('cityHash64(conversation_id)');
    // Tables only views write have none: a direct insert fails instead of scattering rows.
    expect(SHARDING_KEYS.outgoing_index).toBeUndefined();
    expect(SHARDING_KEYS.span_rollup).toBeUndefined();
  });

  it('lets the views read and write only local tables', () => {
    const views = statements.filter((s) => s.startsWith('CREATE MATERIALIZED VIEW'));
    expect(views).toHaveLength(9);
    for (const view of views) {
      expect(view).toMatch(/ TO `flows_db`\.\w+_local\n/);
      expect(view).toMatch(/FROM `flows_db`\.(spans|flows)_local\b/);
    }
  });

  it('sends the database, then the storage tables, then what reads them', () => {
    const waves = ddlWaves(statements);
    expect(waves.map((wave) => wave.length)).toEqual([1, TABLES.length, TABLES.length + 9]);
    expect(waves[0][0]).toMatch(/^CREATE DATABASE/);
    for (const statement of waves[1]) expect(statement).toMatch(/_local ON CLUSTER .*\n[^]*ENGINE = Replicated/);
  });
});
