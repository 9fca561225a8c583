import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '@example/demo';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'demo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the demo on the embedded in-memory broker', () => {
  it('runs the three apps together and prints the summary: events per type, latencies, retries, DLQ and replay, RPC', async () => {
    const auditLog = join(dir, 'audit.jsonl');
    const lines: string[] = [];
    expect(await main(['--orders', '200', '--audit-log', auditLog], (line) => lines.push(line))).toBe(0);
    expect(lines[0]).toBe('bus demo: orders, pricing and audit on the embedded in-memory broker, topics demo.*');
    expect(lines).toContain('  the gift-card payment provider is down: every 10th order will fail its payment');
    // Orders 100 and 200 ask pricing for an unknown SKU and are not placed; 18 of the others pay by gift card.
    expect(lines).toContain('  the provider is back: replayed 18 dead letters');
    const done = lines.findIndex((line) => /^ {2}\[\d+\.\ds\] done: /.test(line));
    expect(lines[done]).toMatch(/ done: placed 198\/200, shipped 198; retries 54, dead-lettered 18, replayed 18$/);
    expect(lines[done + 1]).toMatch(
      /^ {9}events OrderPaid 198, OrderPlaced 216, OrderShipped 198; handling p50 [\d,]+(?:\.\d+)? ms, p99 [\d,]+(?:\.\d+)? ms; rpc p50 [\d,]+(?:\.\d+)? ms, p99 [\d,]+(?:\.\d+)? ms$/,
    );

    const summary = lines.slice(lines.findIndex((line) => line.startsWith('summary (')));
    expect(summary[0]).toMatch(/^summary \(\d+\.\d s\)$/);
    expect(summary.slice(1)).toEqual([
      '  orders         198 placed over HTTP, 198 shipped',
      '  events         shop.OrderPaid 198, shop.OrderPlaced 216, shop.OrderShipped 198 (per type, replays included)',
      expect.stringMatching(
        /^ {2}handling {7}p50 [\d,]+(?:\.\d+)? ms, p99 [\d,]+(?:\.\d+)? ms \(publish to handled, \d+ handlings\)$/,
      ),
      '  retries        54 (payments while the gift-card provider was down)',
      '  dead-lettered  18, replayed 18, then shipped',
      '  ordering       0 events out of order per order; 18 replayed events ignored by the projection',
      expect.stringMatching(
        /^ {2}rpc {12}198 quotes, 2 refused \(UNKNOWN_SKU\), round trip p50 [\d,]+(?:\.\d+)? ms, p99 [\d,]+(?:\.\d+)? ms$/,
      ),
      `  audit log      612 records in ${auditLog}`,
    ]);
    expect(readFileSync(auditLog, 'utf8').trim().split('\n')).toHaveLength(612);
  });
});
