/**
 * `target` with `overrides` in front. The overrides are own properties of the result, so reading one
 * (`publish`, once per message) is a plain property load, not a Proxy trap. Everything else comes from a
 * Proxy of `target` behind them, methods bound to `target` (they may use private fields); `instanceof`
 * still sees `target`'s class.
 */
export function withOverrides<T extends object>(target: T, overrides: Partial<T>): T {
  const behind = new Proxy(target, {
    get(real, property) {
      const value = Reflect.get(real, property, real);
      return typeof value === 'function' ? value.bind(real) : value;
    },
  });
  return Object.assign(Object.create(behind) as T, overrides);
}
