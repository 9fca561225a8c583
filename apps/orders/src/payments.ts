import { BusError } from '@bus/core';
import type { PaymentMethod } from './messages.js';

/** The payment provider of a method is down; retrying may help, so the error is retryable. */
export class PaymentProviderDownError extends BusError {
  constructor(method: PaymentMethod) {
    super(`The ${method} payment provider is not answering`, { code: 'PAYMENT_PROVIDER_DOWN', isRetryable: true });
    this.name = 'PaymentProviderDownError';
  }
}

/**
 * A stand-in for the payment providers (one per method), with a switch to simulate an outage: while a
 * method's provider is down, every charge of it fails, is retried, and ends in the dead-letter topic.
 */
export class PaymentGateway {
  readonly #down = new Set<PaymentMethod>();
  #captured = 0;

  /** Takes a provider down or brings it back. */
  setOutage(method: PaymentMethod, down: boolean): void {
    if (down) this.#down.add(method);
    else this.#down.delete(method);
  }

  /** Charges an order; resolves with the payment reference. */
  async charge(orderId: string, method: PaymentMethod, amountCents: number): Promise<string> {
    if (this.#down.has(method)) throw new PaymentProviderDownError(method);
    if (amountCents < 0) throw new RangeError(`negative amount for ${orderId}`);
    this.#captured++;
    return `pay-${method}-${this.#captured}`;
  }
}
