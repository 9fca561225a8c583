import { BusError } from '@bus/core';
import type { QuoteReply, QuoteRequest } from './route.js';

/** List prices in cents. */
const LIST_PRICES: Readonly<Record<string, number>> = {
  'tea-green': 450,
  'tea-black': 390,
  'coffee-beans': 1290,
  'mug-blue': 899,
  'kettle-steel': 3499,
};

/** The SKUs the catalog prices. */
export const SKUS: readonly string[] = Object.keys(LIST_PRICES);

/** A SKU the catalog does not know; the caller gets it as a `RemoteError` with this code. */
export class UnknownSkuError extends BusError {
  constructor(sku: string) {
    super(`Unknown SKU "${sku}"`, { code: 'UNKNOWN_SKU' });
    this.name = 'UnknownSkuError';
  }
}

/** Volume discount: 5 % from 5 units, 10 % from 10. */
function discountPercent(quantity: number): number {
  if (quantity >= 10) return 10;
  if (quantity >= 5) return 5;
  return 0;
}

/** Prices a request; throws {@link UnknownSkuError} for a SKU not in the catalog. */
export function quote(request: QuoteRequest): QuoteReply {
  const unitPriceCents = LIST_PRICES[request.sku];
  if (unitPriceCents === undefined) throw new UnknownSkuError(request.sku);
  const discount = discountPercent(request.quantity);
  const totalCents = Math.round((unitPriceCents * request.quantity * (100 - discount)) / 100);
  return {
    sku: request.sku,
    quantity: request.quantity,
    unitPriceCents,
    discountPercent: discount,
    totalCents,
    currency: 'EUR',
  };
}
