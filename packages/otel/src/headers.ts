import type { TextMapGetter, TextMapSetter } from '@opentelemetry/api';

type Headers = Readonly<Record<string, string>>;

/** Reads propagation fields (`traceparent`, `tracestate`, `baggage`) from bus message headers. */
export const headersGetter: TextMapGetter<Headers> = {
  get: (carrier, key) => carrier[key],
  keys: (carrier) => Object.keys(carrier),
};

/** Writes propagation fields into a mutable copy of bus message headers. */
export const headersSetter: TextMapSetter<Record<string, string>> = {
  set: (carrier, key, value) => {
    carrier[key] = value;
  },
};
