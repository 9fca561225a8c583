import { main, openTransport, quote, runPricingApp, UnknownSkuError } from '@example/pricing';
import { describe, expect, it } from 'vitest';

describe('pricing app on the embedded in-memory broker', () => {
  it('the command quotes every request over RPC and refuses the unknown SKU with its code', async () => {
    const lines: string[] = [];
    const code = await main(['--requests', '6'], (line) => lines.push(line));
    expect(code).toBe(0);
    expect(lines[0]).toBe('pricing: serving shop.pricing.quote on the embedded in-memory broker');
    const quotes = lines.filter((line) => line.startsWith('  quote '));
    expect(quotes).toHaveLength(6);
    // tea-green x1 at 4.50; coffee-beans x7 at 12.90 less 5 %.
    expect(quotes[0]).toMatch(/^ {2}quote tea-green x1 = 4\.50 EUR in [\d,]+(?:\.\d+)? ms$/);
    expect(quotes[2]).toMatch(/^ {2}quote coffee-beans x7 = 85\.79 EUR \(-5 %\) in /);
    expect(quotes[5]).toBe('  quote tea-white x4 refused: UNKNOWN_SKU (Unknown SKU "tea-white")');
    expect(lines.at(-1)).toMatch(
      /^pricing: 5 quoted, 1 refused, round trip p50 [\d,]+(?:\.\d+)? ms, p99 [\d,]+(?:\.\d+)? ms$/,
    );
  });

  it('a bad argument is one line and exit code 2', async () => {
    const lines: string[] = [];
    expect(await main(['--requests', 'many'], (line) => lines.push(line))).toBe(2);
    expect(lines).toEqual(['pricing: --requests must be a positive integer (got "many")']);
  });

  it('the report counts what the output says', async () => {
    await using transport = openTransport({ kind: 'memory' });
    const report = await runPricingApp({ transport, requests: 3, out: () => {} });
    expect(report).toMatchObject({ quoted: 2, refused: 1 });
    expect(report.latency.count).toBe(2);
  });

  it('prices with volume discounts and refuses unknown SKUs', () => {
    expect(quote({ sku: 'mug-blue', quantity: 10, customerId: 'c' })).toEqual({
      sku: 'mug-blue',
      quantity: 10,
      unitPriceCents: 899,
      discountPercent: 10,
      totalCents: 8091,
      currency: 'EUR',
    });
    expect(() => quote({ sku: 'nope', quantity: 1, customerId: 'c' })).toThrow(UnknownSkuError);
  });
});
